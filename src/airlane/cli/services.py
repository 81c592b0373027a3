"""CLI commands that run Airlane's services."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

import redis.asyncio as aioredis

from airlane.cli.common import CliError
from airlane.config import Settings
from airlane.queue.connection import connect
from airlane.queue.keys import Keys
from airlane.service.process import run_service, setup_logging


def register(groups: Any, only: str | None = None) -> None:
    """Add the service commands (or only the one named ``only``)."""
    for name, add in COMMANDS.items():
        if only is None or only == name:
            add(groups)


def _register_coordinator(groups: Any) -> None:
    p = groups.add_parser("coordinator", help="run the coordinator (one active, others stand by)")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(handler=cmd_coordinator)


def _register_worker(groups: Any) -> None:
    p = groups.add_parser("worker", help="run a worker")
    p.add_argument("--queues", "-q", default="default", help="comma-separated queue names")
    p.add_argument("--concurrency", "-c", type=int, default=16, help="task slots")
    p.add_argument("--dags-folder", default=None)
    p.add_argument("--grace", type=float, default=None, help="seconds running tasks get on SIGTERM")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(handler=cmd_worker)


def _register_dag_processor(groups: Any) -> None:
    p = groups.add_parser("dag-processor", help="keep serialized DAGs in step with a folder")
    p.add_argument("--dags-folder", default=None)
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(handler=cmd_dag_processor)


def _register_callbacks(groups: Any) -> None:
    p = groups.add_parser("callbacks", help="deliver DAG callbacks (an arq worker)")
    p.add_argument("--dags-folder", default=None)
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(handler=cmd_callbacks)


def _register_triggerer(groups: Any) -> None:
    p = groups.add_parser("triggerer", help="run deferred tasks' triggers (any number of them)")
    p.add_argument("--dags-folder", default=None)
    p.add_argument("--capacity", type=int, default=None, help="most triggers run at once")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(handler=cmd_triggerer)


def _register_health(groups: Any) -> None:
    p = groups.add_parser("health", help="exit 0 when Redis answers (and a component is alive)")
    p.add_argument(
        "--component",
        choices=["coordinator", "dag-processor"],
        default=None,
        help="also require this component's heartbeat to be fresh",
    )
    p.add_argument("--max-age", type=float, default=30.0, help="seconds a heartbeat stays fresh")
    p.set_defaults(handler=cmd_health)


def _register_api(groups: Any) -> None:
    p = groups.add_parser("api", help="run the HTTP API (Airflow's /api/v2)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(handler=cmd_api)


def _register_standalone(groups: Any) -> None:
    p = groups.add_parser("standalone", help="embedded Redis plus every service, in one command")
    p.add_argument("--dags-folder", default=None)
    p.add_argument("--port", type=int, default=8080, help="API and UI port")
    p.add_argument("--data-dir", default="airlane-data")
    p.add_argument("--redis-port", type=int, default=0, help="0: pick a free port")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(handler=cmd_standalone)


#: the service commands, in the order ``airlane --help`` lists them
COMMANDS: dict[str, Callable[[Any], None]] = {
    "coordinator": _register_coordinator,
    "worker": _register_worker,
    "dag-processor": _register_dag_processor,
    "callbacks": _register_callbacks,
    "triggerer": _register_triggerer,
    "health": _register_health,
    "api": _register_api,
    "standalone": _register_standalone,
}


def _folder(args: argparse.Namespace, settings: Settings) -> str:
    return os.path.abspath(args.dags_folder or settings.dags_folder)


class _Service(Protocol):
    async def run(self, stop: asyncio.Event) -> None: ...


#: the Airflow job each service process is listed as (``/api/v2/jobs``)
_JOB_TYPES = {
    "coordinator": "SchedulerJob",
    "triggerer": "TriggererJob",
    "dag-processor": "DagProcessorJob",
    "worker": "WorkerJob",
}


#: the services that do not preempt when they wake: a successor starting in its task process
#: keeps its core (service/batch_scheduling.py)
_BATCH_SERVICES = frozenset({"coordinator", "dag-processor", "worker"})


def _serve(
    settings: Settings,
    name: str,
    build: Callable[[aioredis.Redis, Keys], _Service],
    max_connections: int = 100,
) -> int:
    """Run one service until SIGTERM/SIGINT, on its own Redis client (up to
    ``max_connections`` at once), with its job record."""
    from airlane.queue.jobs import JobType
    from airlane.service.batch_scheduling import enter_batch
    from airlane.service.job_beat import job_beat

    async def main(stop: asyncio.Event) -> None:
        client = connect(
            settings.redis_url, client_name=f"airlane-{name}", max_connections=max_connections
        )
        keys = Keys.from_env()
        service = build(client, keys)
        # a triggerer's job is named by its triggerer id, as task instances' triggerer_job
        identity = getattr(service, "triggerer_id", None)
        async with job_beat(client, keys, JobType(_JOB_TYPES[name]), identity):
            await service.run(stop)

    if settings.batch_scheduling and name in _BATCH_SERVICES:
        enter_batch()
    run_service(main, settings.event_loop)
    return 0


def cmd_coordinator(args: argparse.Namespace) -> int:
    from airlane.service.coordinator import Coordinator, CoordinatorSettings

    setup_logging(args.log_level)
    settings = Settings.from_env()
    coordinator_settings = CoordinatorSettings(
        settings.redis_url,
        worker_timeout_s=settings.worker_timeout_s,
        lease_ttl_s=settings.coordinator_lease_s,
        data_intervals_default=settings.create_cron_data_intervals,
        run_retention_s=settings.run_retention_days * 86400,
        retention_interval_s=settings.retention_interval_s,
        fast_batch_s=settings.coordinator_fast_batch_ms / 1000,
    )
    return _serve(settings, "coordinator", lambda c, k: Coordinator(coordinator_settings, c, k))


def cmd_health(args: argparse.Namespace) -> int:
    """For container health checks and probes: 0 healthy, 1 not."""
    url = os.environ.get("AIRLANE_REDIS_URL") or _standalone_url() or Settings.from_env().redis_url

    async def check() -> int:
        client = connect(url, client_name="airlane-health")
        try:
            await client.ping()
            if args.component is None:
                return 0
            keys = Keys.from_env()
            key = (
                keys.coordinator_beat
                if args.component == "coordinator"
                else keys.dag_processor_beat
            )
            beat = await client.get(key)
            return 0 if beat and time.time() - float(beat) <= args.max_age else 1
        except Exception as err:  # any failure is "unhealthy", said on stderr
            print(f"airlane: unhealthy: {err}", file=sys.stderr)
            return 1
        finally:
            await client.aclose()

    return asyncio.run(check())


def _standalone_url() -> str | None:
    """Inside a standalone container: the embedded Redis that ./airlane.env names."""
    try:
        with open("airlane.env") as handle:
            for line in handle:
                if line.startswith("AIRLANE_REDIS_URL="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        return None
    return None


def cmd_api(args: argparse.Namespace) -> int:
    from airlane.api.app import ApiRefused, ApiSettings, check_exposure, serve
    from airlane.api.auth import AuthConfig
    from airlane.api.event_hub import EventStreamSettings
    from airlane.cli.config_view import config_view

    setup_logging(args.log_level)
    config = Settings.from_env()
    settings = ApiSettings(
        config.redis_url,
        host=args.host,
        port=args.port,
        max_body_bytes=int(os.environ.get("AIRLANE_API_MAX_BODY_BYTES", 1024 * 1024)),
        data_intervals_default=config.create_cron_data_intervals,
        idle_timeout_s=float(os.environ.get("AIRLANE_API_IDLE_TIMEOUT_S", 30)),
        events=EventStreamSettings.from_env(os.environ),
    )
    auth = AuthConfig.from_env()
    try:
        check_exposure(settings, auth)
        view = config_view(config, settings, auth, os.environ)
    except (ApiRefused, ValueError) as err:
        raise CliError(str(err)) from None
    settings = dataclasses.replace(settings, config_view=view)
    run_service(lambda stop: serve(settings, auth, stop), config.event_loop)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from airlane.service.worker import TaskIsolation, Worker, WorkerSettings
    from airlane.service.worker.log_limits import LogLimits

    setup_logging(args.log_level)
    settings = Settings.from_env()
    worker_settings = WorkerSettings(
        redis_url=settings.redis_url,
        queues=tuple(q.strip() for q in args.queues.split(",") if q.strip()),
        concurrency=args.concurrency,
        grace_s=args.grace if args.grace is not None else settings.worker_grace_s,
        heartbeat_s=settings.worker_heartbeat_s,
        dags_folder=_folder(args, settings),
        xcom_max_bytes=settings.xcom_max_bytes,
        log_retention_s=settings.log_retention_s,
        log_limits=LogLimits(settings.log_max_bytes_per_try, settings.log_max_line_bytes),
        task_isolation=TaskIsolation(settings.task_isolation),
        task_import_timeout_s=settings.task_import_timeout_s,
        task_memory_limit_mb=settings.task_memory_limit_mb,
        task_process_idle_s=settings.task_process_idle_s,
        batch_scheduling=settings.batch_scheduling,
    )
    return _serve(
        settings,
        "worker",
        lambda c, k: Worker(worker_settings, c, k),
        worker_settings.redis_connections,
    )


def cmd_triggerer(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from airlane.service.triggerer import Triggerer, TriggererSettings

    setup_logging(args.log_level)
    settings = Settings.from_env()
    try:
        triggerer_settings = TriggererSettings.from_env(
            settings.redis_url, _folder(args, settings), dict(os.environ)
        )
        if args.capacity is not None:
            if args.capacity <= 0:
                raise ValueError(f"Capacity number {args.capacity!r} is invalid")
            triggerer_settings = replace(triggerer_settings, capacity=args.capacity)
    except ValueError as err:
        raise CliError(str(err)) from None
    return _serve(settings, "triggerer", lambda c, k: Triggerer(triggerer_settings, c, k))


def _callbacks_python(settings: Settings) -> str | None:
    from airlane.service.callbacks.interpreter import NoCallbacksPython, callbacks_python

    try:
        return callbacks_python(settings.callbacks_python)
    except NoCallbacksPython as err:
        raise CliError(str(err)) from None


def cmd_callbacks(args: argparse.Namespace) -> int:
    from airlane.service.callbacks.interpreter import CHILD_PYTHON_ENV

    settings = Settings.from_env()
    python = _callbacks_python(settings)
    if python is not None:  # arq is not here: run in its virtualenv, callbacks' children here
        argv = [python, "-m", "airlane", "callbacks", "--dags-folder", _folder(args, settings)]
        env = {**os.environ, CHILD_PYTHON_ENV: sys.executable}
        os.execve(python, [*argv, "--log-level", args.log_level], env)
    from airlane.service.callbacks.delivery import DeliverySettings
    from airlane.service.callbacks.service import CallbacksService

    setup_logging(args.log_level)
    delivery = DeliverySettings(
        redis_url=settings.redis_url,
        dags_folder=_folder(args, settings),
        child_python=os.environ.get(CHILD_PYTHON_ENV) or sys.executable,
        timeout_s=settings.callback_timeout_s,
        max_tries=settings.callback_max_tries,
        retry_delay_s=settings.callback_retry_delay_s,
    )
    service = CallbacksService(delivery, Keys.from_env())

    async def main(stop: asyncio.Event) -> None:
        await service.run(stop)

    run_service(main, settings.event_loop)
    return 0


def cmd_dag_processor(args: argparse.Namespace) -> int:
    from airlane.service.dag_processor import DagProcessor, DagProcessorSettings

    setup_logging(args.log_level)
    settings = Settings.from_env()
    processor_settings = DagProcessorSettings(
        dags_folder=_folder(args, settings),
        import_timeout_s=settings.dag_import_timeout_s,
        ignore_syntax=settings.dag_ignore_file_syntax,
        safe_mode=settings.dag_discovery_safe_mode,
        paused_at_creation=settings.dags_are_paused_at_creation,
        import_limits=settings.import_limits,
    )
    return _serve(settings, "dag-processor", lambda c, k: DagProcessor(processor_settings, c, k))


def cmd_standalone(args: argparse.Namespace) -> int:
    from airlane.service.standalone import StandaloneSettings, run_standalone

    setup_logging(args.log_level)
    settings = Settings.from_env()
    return run_standalone(
        StandaloneSettings(
            dags_folder=_folder(args, settings),
            data_dir=os.path.abspath(args.data_dir),
            api_port=args.port,
            redis_port=args.redis_port,
            log_level=args.log_level,
            worker_grace_s=settings.worker_grace_s,
            callbacks_python=settings.callbacks_python,
            redis_priority=settings.redis_priority,
        )
    )
