"""The coordinator's settings and the constants its parts share."""

from __future__ import annotations

from dataclasses import dataclass, field

from airlane.sdk.state import TaskInstanceState
from airlane.service.fast_path_switch import fast_path_enabled

#: the coordinator group's one consumer: a single coordinator reads at a time (the lease)
CONSUMER = "active"
#: size of ``default_pool`` until a pool record says otherwise
DEFAULT_POOL_SLOTS = 128
#: operations a pass collects before it writes them (long passes write as they go)
MAX_BATCH_OPS = 20_000
#: operations per apply call: a longer batch is written in several calls, in order, each sent
#: while Redis runs the one before (Outbox.flush; the calls of a 10,000-task run's expansion)
CALL_OPS = 2_000
#: states in which an instance holds a slot of its DAG and of its pool (a deferred one holds
#: its pool's slots too when the pool includes deferred instances: admission.pool_occupied)
HELD_STATES = frozenset({TaskInstanceState.QUEUED, TaskInstanceState.RUNNING})


@dataclass(frozen=True, slots=True)
class CoordinatorSettings:
    redis_url: str
    lease_ttl_s: float = 10.0
    worker_timeout_s: float = 10.0
    check_interval_s: float = 1.0
    read_count: int = 1000
    #: Airflow 2's data-interval semantics for cron and timedelta schedules (Airflow's
    #: [scheduler] create_cron_data_intervals); a DAG's explicit timetable overrides it
    data_intervals_default: bool = False
    #: housekeeping: finished runs started longer ago go (0: never), looked for this often
    run_retention_s: float = 0.0
    retention_interval_s: float = 600.0
    #: how often acknowledged entries are trimmed from the work streams
    trim_interval_s: float = 2.0
    #: AIRLANE_FAST_PATH: write each run's fast-path plan (service/coordinator/fast_path.py)
    fast_path: bool = field(default_factory=fast_path_enabled)
    #: AIRLANE_COORDINATOR_FAST_BATCH_MS: the wait after a pass that read only ends nothing
    #: waits on (fast-path successes, leaves: service/coordinator/pacing.py)
    fast_batch_s: float = 0.002

    @property
    def lease_ttl_ms(self) -> int:
        return int(self.lease_ttl_s * 1000)


class LeaseLost(Exception):
    """Another coordinator holds the lease: stop acting at once."""
