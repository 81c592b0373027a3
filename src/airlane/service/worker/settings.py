"""The worker's settings."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from airlane.service.fast_path_switch import fast_path_enabled
from airlane.service.worker.log_limits import LogLimits


class TaskIsolation(enum.StrEnum):
    PROCESS = "process"
    INLINE = "inline"


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    redis_url: str
    queues: tuple[str, ...] = ("default",)
    concurrency: int = 16
    heartbeat_s: float = 1.0
    grace_s: float = 30.0
    dags_folder: str | None = None
    xcom_max_bytes: int = 1024 * 1024
    log_retention_s: int = 30 * 24 * 3600
    log_limits: LogLimits = field(default_factory=LogLimits)
    read_block_ms: int = 1000
    #: "process": each try runs in a warm task process the worker can kill; "inline": in the
    #: worker's own process (trusted code only: a crash or hang there takes the worker down)
    task_isolation: TaskIsolation = TaskIsolation.PROCESS
    #: a DAG file imported to run a task must load within this (Airflow's dagbag_import_timeout)
    task_import_timeout_s: float = 30.0
    #: RLIMIT_AS of each task process (0: no limit)
    task_memory_limit_mb: int = 8192
    #: task processes idle this long are stopped
    task_process_idle_s: float = 300.0
    #: task processes run under SCHED_BATCH (service/batch_scheduling.py)
    batch_scheduling: bool = True
    #: AIRLANE_FAST_PATH: a success queues a ready successor in its finish script
    #: (engine/fast_path.py)
    fast_path: bool = field(default_factory=fast_path_enabled)

    @property
    def redis_connections(self) -> int:
        """The bound of the worker's connection pool: each slot may have its read of the run,
        a log write and its finish out at once, the lean calls keep a connection per call out,
        and the queues' read, heartbeat and recovery have theirs (past the bound a call waits
        for a free connection: ``queue.connection.WaitingConnectionPool``)."""
        return 4 * self.concurrency + 32
