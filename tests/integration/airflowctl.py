"""Airflow's remote CLI, ``airflowctl`` (``apache-airflow-ctl``), driven against Airlane's API.

``scripts/setup.sh`` installs it in ``.venv-airflowctl`` (``make install-test``), apart from
Airlane's own packages. Each :class:`Airflowctl` runs it in a home of its own: ``HOME``,
``AIRFLOW_HOME`` (where it writes the API URL) and a plain-file keyring (``keyrings.alt``,
where it keeps the token) all inside a temporary folder, so no test reads or writes the
user's real credentials and two instances never share a login.

Typical use, on one module-scoped cluster::

    @pytest.fixture(scope="module")
    def ctl(redis_server, tmp_path_factory):
        work = tmp_path_factory.mktemp("ctl")
        shutil.copytree(TEST_DAGS / "api", work / "dags")
        with ctl_cluster(redis_server, work, work / "dags") as (api, ctl):
            yield ctl

    result = ctl.run("jobs", "list", "-o", "json")
    assert result.rc == 0, result.describe()
    result.json  # the parsed output: airflowctl prints every value as text ("id": "3")
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration.cluster import USERS, Api, RedisServer, api_cluster

REPO = Path(__file__).resolve().parents[2]
CTL_VENV = REPO / ".venv-airflowctl"
CTL = CTL_VENV / "bin" / "airflowctl"
#: the admin user of the test API's users (cluster.USERS)
ADMIN = tuple(USERS.split(",")[0].split(":")[:2])
#: a file keyring: the default chooser would pick keyrings.alt's encrypted one, which prompts
KEYRING_BACKEND = "keyrings.alt.file.PlaintextKeyring"
TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class CtlResult:
    rc: int
    stdout: str
    stderr: str
    #: the parsed stdout when the command was asked for JSON (``-o json``), else None
    json: Any = None

    def describe(self) -> str:
        return f"rc={self.rc}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def installed() -> bool:
    return CTL.exists()


def _wants_json(args: tuple[str, ...]) -> bool:
    pairs = itertools.pairwise(args)
    return any(flag in {"-o", "--output"} and value == "json" for flag, value in pairs)


def _parsed(stdout: str) -> Any:
    text = stdout.strip()
    return json.loads(text) if text else None


class Airflowctl:
    """One ``airflowctl`` user, with its own home under ``home``, talking to ``api_url``."""

    def __init__(self, api_url: str, home: Path) -> None:
        if not installed():
            raise RuntimeError(f"{CTL} is missing: run `make install-test` (scripts/setup.sh)")
        self.api_url = api_url
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            "PATH": f"{CTL_VENV / 'bin'}:/usr/bin:/bin",
            "HOME": str(home),
            "AIRFLOW_HOME": str(home / "airflow"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "PYTHON_KEYRING_BACKEND": KEYRING_BACKEND,
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            # a wide terminal: rich wraps tables and dicts at the width it detects
            "COLUMNS": "400",
        }

    @classmethod
    def logged_in(
        cls, api_url: str, home: Path, username: str = ADMIN[0], password: str = ADMIN[1]
    ) -> Airflowctl:
        ctl = cls(api_url, home)
        result = ctl.login(username, password)
        assert result.rc == 0, result.describe()
        return ctl

    def login(self, username: str, password: str) -> CtlResult:
        """``airflowctl auth login`` with a username and password (``/auth/token/cli``)."""
        return self.run(
            "auth",
            "login",
            "--api-url",
            self.api_url,
            "--username",
            username,
            "--password",
            password,
        )

    def token(self, environment: str = "production") -> str | None:
        """The token the last login stored in the keyring (read by airflowctl's own keyring)."""
        read = (
            "import keyring, sys; "
            "print(keyring.get_password('airflowctl', 'api_token_' + sys.argv[1]) or '')"
        )
        done = subprocess.run(
            [str(CTL_VENV / "bin" / "python"), "-c", read, environment],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=True,
        )
        return done.stdout.strip() or None

    def run(self, *args: str, timeout_s: float = TIMEOUT_S) -> CtlResult:
        """``airflowctl *args``; its output parsed when ``-o json`` is among ``args``."""
        done = subprocess.run(
            [str(CTL), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        parsed = None
        if done.returncode == 0 and _wants_json(args):
            parsed = _parsed(done.stdout)
        return CtlResult(done.returncode, done.stdout, done.stderr, parsed)


@contextmanager
def ctl_cluster(
    redis_server: RedisServer, work: Path, folder: Path, workers: int = 1, **env: str
) -> Iterator[tuple[Api, Airflowctl]]:
    """:func:`tests.integration.cluster.api_cluster` on ``folder`` and an ``airflowctl``
    signed in to it as the admin user (its home in ``work/airflowctl-home``)."""
    with api_cluster(redis_server, work, folder, workers=workers, **env) as api:
        yield api, Airflowctl.logged_in(api.url, work / "airflowctl-home")
