"""Settings from the environment (``AIRLANE_*``), in one frozen object passed explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from airlane.dag_loader.isolated import ImportLimits
from airlane.service.batch_scheduling import enabled_from_env as batch_scheduling_from_env
from airlane.service.event_loop import LoopKind
from airlane.service.event_loop import kind_from_env as event_loop_from_env
from airlane.service.redis_priority import DEFAULT as DEFAULT_REDIS_PRIORITY
from airlane.service.redis_priority import RedisPriority, priority_from_env


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class Settings:
    dags_folder: str = "dags"
    redis_url: str = "redis://127.0.0.1:6379/0"
    dag_import_timeout_s: float = 30.0
    dag_ignore_file_syntax: str = "glob"
    dag_discovery_safe_mode: bool = True
    xcom_max_bytes: int = 1024 * 1024
    dags_are_paused_at_creation: bool = True
    worker_timeout_s: float = 10.0
    worker_heartbeat_s: float = 1.0
    worker_grace_s: float = 30.0
    coordinator_lease_s: float = 10.0
    #: after a pass that read only ends nothing waits on (fast-path successes, leaves) and
    #: queued nothing, the coordinator waits this long before its next read
    #: (service/coordinator/pacing.py; 0: it reads again at once)
    coordinator_fast_batch_ms: float = 2.0
    log_retention_s: int = 30 * 24 * 3600
    #: a try's log, in bytes (each line counted with its 32-byte stream entry), and one line
    log_max_bytes_per_try: int = 16 * 1024 * 1024
    log_max_line_bytes: int = 64 * 1024
    #: what is kept of a DAG file's output at import (and of each error's traceback), in
    #: characters, and the address space an import child may use (0: no limit)
    dag_import_output_max_chars: int = 64 * 1024
    dag_import_memory_mb: int = 4096
    #: where workers run tries: "process" (a task process the worker can kill) or "inline"
    task_isolation: str = "process"
    task_import_timeout_s: float = 30.0
    task_memory_limit_mb: int = 8192
    task_process_idle_s: float = 300.0
    #: Airflow 2's data-interval semantics for cron/timedelta schedules (Airflow's
    #: [scheduler] create_cron_data_intervals, False by default since Airflow 3)
    create_cron_data_intervals: bool = False
    #: finished runs that started longer ago are removed by the coordinator (0: kept forever)
    run_retention_days: float = 90.0
    #: how often the coordinator looks for runs past the retention
    retention_interval_s: float = 600.0
    #: DAG callbacks (the callbacks role): one call's time limit, tries in all, and the
    #: delay before the first retry (doubled for each one after)
    callback_timeout_s: float = 60.0
    callback_max_tries: int = 4
    callback_retry_delay_s: float = 5.0
    #: the callbacks role's interpreter (arq's virtualenv); empty: .venv-callbacks beside
    #: this interpreter's virtualenv
    callbacks_python: str = ""
    #: the CPU priority of a redis-server Airlane starts itself (service/redis_priority.py)
    redis_priority: RedisPriority = DEFAULT_REDIS_PRIORITY
    #: task processes, the coordinator and the DAG processor under Linux' SCHED_BATCH: they
    #: do not preempt a worker when they wake (service/batch_scheduling.py)
    batch_scheduling: bool = True
    #: the services' event loop: uvloop where installed (service/event_loop.py)
    event_loop: LoopKind = LoopKind.UVLOOP

    @property
    def import_limits(self) -> ImportLimits:
        return ImportLimits(self.dag_import_memory_mb, self.dag_import_output_max_chars)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            dags_folder=env.get("AIRLANE_DAGS_FOLDER", defaults.dags_folder),
            redis_url=env.get("AIRLANE_REDIS_URL", defaults.redis_url),
            dag_import_timeout_s=float(
                env.get("AIRLANE_DAG_IMPORT_TIMEOUT_S", defaults.dag_import_timeout_s)
            ),
            dag_ignore_file_syntax=env.get(
                "AIRLANE_DAG_IGNORE_FILE_SYNTAX", defaults.dag_ignore_file_syntax
            ),
            dag_discovery_safe_mode=_bool(env.get("AIRLANE_DAG_DISCOVERY_SAFE_MODE", "true")),
            xcom_max_bytes=int(env.get("AIRLANE_XCOM_MAX_BYTES", defaults.xcom_max_bytes)),
            worker_timeout_s=float(env.get("AIRLANE_WORKER_TIMEOUT_S", defaults.worker_timeout_s)),
            worker_heartbeat_s=float(
                env.get("AIRLANE_WORKER_HEARTBEAT_S", defaults.worker_heartbeat_s)
            ),
            worker_grace_s=float(env.get("AIRLANE_WORKER_GRACE_S", defaults.worker_grace_s)),
            coordinator_lease_s=float(
                env.get("AIRLANE_COORDINATOR_LEASE_S", defaults.coordinator_lease_s)
            ),
            coordinator_fast_batch_ms=float(
                env.get("AIRLANE_COORDINATOR_FAST_BATCH_MS", defaults.coordinator_fast_batch_ms)
            ),
            log_retention_s=int(env.get("AIRLANE_LOG_RETENTION_S", defaults.log_retention_s)),
            log_max_bytes_per_try=int(
                env.get("AIRLANE_LOG_MAX_BYTES_PER_TRY", defaults.log_max_bytes_per_try)
            ),
            log_max_line_bytes=int(
                env.get("AIRLANE_LOG_MAX_LINE_BYTES", defaults.log_max_line_bytes)
            ),
            dag_import_output_max_chars=int(
                env.get("AIRLANE_DAG_IMPORT_OUTPUT_MAX_CHARS", defaults.dag_import_output_max_chars)
            ),
            dag_import_memory_mb=int(
                env.get("AIRLANE_DAG_IMPORT_MEMORY_MB", defaults.dag_import_memory_mb)
            ),
            task_isolation=env.get("AIRLANE_TASK_ISOLATION", defaults.task_isolation),
            task_import_timeout_s=float(
                env.get("AIRLANE_TASK_IMPORT_TIMEOUT_S", defaults.task_import_timeout_s)
            ),
            task_memory_limit_mb=int(
                env.get("AIRLANE_TASK_MEMORY_LIMIT_MB", defaults.task_memory_limit_mb)
            ),
            task_process_idle_s=float(
                env.get("AIRLANE_TASK_PROCESS_IDLE_S", defaults.task_process_idle_s)
            ),
            dags_are_paused_at_creation=_bool(
                env.get("AIRLANE_DAGS_ARE_PAUSED_AT_CREATION", "true")
            ),
            create_cron_data_intervals=_bool(
                env.get("AIRLANE_CREATE_CRON_DATA_INTERVALS", "false")
            ),
            run_retention_days=float(
                env.get("AIRLANE_RUN_RETENTION_DAYS", defaults.run_retention_days)
            ),
            retention_interval_s=float(
                env.get("AIRLANE_RETENTION_INTERVAL_S", defaults.retention_interval_s)
            ),
            callback_timeout_s=float(
                env.get("AIRLANE_CALLBACK_TIMEOUT_S", defaults.callback_timeout_s)
            ),
            callback_max_tries=max(
                1, int(env.get("AIRLANE_CALLBACK_MAX_TRIES", defaults.callback_max_tries))
            ),
            callback_retry_delay_s=float(
                env.get("AIRLANE_CALLBACK_RETRY_DELAY_S", defaults.callback_retry_delay_s)
            ),
            callbacks_python=env.get("AIRLANE_CALLBACKS_PYTHON", defaults.callbacks_python),
            redis_priority=priority_from_env(env),
            batch_scheduling=batch_scheduling_from_env(env),
            event_loop=event_loop_from_env(env),
        )
