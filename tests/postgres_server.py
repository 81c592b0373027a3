"""A throwaway PostgreSQL server for tests (Debian's ``postgresql`` package; scripts/setup.sh
installs it for ``make install-test``): a cluster made by ``initdb`` in a temporary folder, the
server on a free port of 127.0.0.1 and a Unix socket in that folder, trust authentication for
the test's user, removed at teardown. As the redis fixture's redis-server, the server is the
test process's child and dies with it.

PostgreSQL refuses to run as root: under root (CI) the cluster belongs to, and the server runs
as, the ``postgres`` user the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.artifacts import REGISTRY
from tests.integration.cluster import die_with_test, free_port, wait_until

#: the database user the tests connect as (created by initdb, trusted)
PG_USER = "airlane"
PG_DATABASE = "postgres"


def postgres_bin(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, else in Debian's versioned folder (newest)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    return candidates[-1] if candidates else None


class PostgresServer:
    """``start()`` makes the cluster and starts the server; ``stop()`` stops it and removes
    the cluster."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="airlane-pg-"))
        self.data = self.root / "data"
        self.proc: subprocess.Popen[bytes] | None = None
        self.run_as = "postgres" if os.geteuid() == 0 else None
        REGISTRY.register("postgres", self)

    @property
    def uri(self) -> str:
        """The server as an Airflow connection URI (``AIRFLOW_CONN_<ID>``)."""
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{PG_DATABASE}"

    def new_database(self, name: str) -> str:
        """A new, empty database on the server; its connection URI."""
        import psycopg2

        conn = psycopg2.connect(self.uri)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.uri.rsplit("/", 1)[0] + f"/{name}"

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=self.run_as)

    def start(self) -> None:
        initdb, postgres = postgres_bin("initdb"), postgres_bin("postgres")
        missing = "PostgreSQL is not installed (scripts/setup.sh installs it)"
        assert initdb, missing
        assert postgres, missing
        if self.run_as is not None:
            account = pwd.getpwnam(self.run_as)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self._run(
            initdb, "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8", "--no-sync"
        )
        # -F: no fsync (a throwaway cluster); -k: the Unix socket in the cluster's folder
        command = [postgres, "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1"]
        with open(self.root / "postgres.log", "wb") as log:
            self.proc = subprocess.Popen(
                [*command, "-k", str(self.root), "-F"],
                stdout=log,
                stderr=subprocess.STDOUT,
                user=self.run_as,
                preexec_fn=die_with_test,
            )
        wait_until(self._accepts, 30, "PostgreSQL to accept connections", interval_s=0.1)

    def _accepts(self) -> bool:
        import psycopg2

        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"postgres exited: {self.log_tail()}")
        try:
            psycopg2.connect(self.uri).close()
        except psycopg2.OperationalError:
            return False
        return True

    def log_tail(self) -> str:
        log = self.root / "postgres.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # smart shutdown: the test's sessions are closed by now
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)

    def save_artifacts(self, target: Path) -> None:
        log = self.root / "postgres.log"
        if log.exists():
            shutil.copy2(log, target / "postgres.log")

    def artifacts_open(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()
