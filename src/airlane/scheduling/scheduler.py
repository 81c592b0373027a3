"""The scheduler the coordinator runs: creates each DAG's due runs, one at a time.

Per unpaused DAG with a schedule it keeps the next run to create. A run is created when it is
due and the DAG has fewer than ``max_active_runs`` runs going, so catchup over years of
10-second intervals creates runs as earlier ones finish, never millions at once. The latest
run made is kept in Redis (``schedules``), so a restarted coordinator carries on from it.
Run ids are ``scheduled__<logical date>``: creating one twice is refused by Redis.

A DAG whose timetable fails (the user's code raises, or plans a run not later than the one it
just made) gets a schedule error, shown as its file's import error, and is not scheduled until
its next update; the other DAGs go on. One pass creates at most ``RUNS_PER_PASS`` runs of a DAG,
so that a catching-up DAG does not keep the coordinator from its other work (Airflow's scheduler
creates one run per DAG per loop).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airlane.engine.dag_spec import DagSpec
from airlane.queue import typed
from airlane.queue.codec import dumps, loads
from airlane.queue.keys import run_ref
from airlane.queue.store import RunExists, RunRequest, Store
from airlane.scheduling import schedule_errors
from airlane.scheduling.custom_timetable import TimetableError
from airlane.scheduling.timetables import (
    Kind,
    ScheduledRun,
    Timetable,
    next_run,
    spec_timetable,
)
from airlane.sdk.timezone import coerce_datetime

log = logging.getLogger("airlane.scheduler")

#: the most runs of one DAG a pass creates (the coordinator comes back at once for the rest)
RUNS_PER_PASS = 10


class TimetableStuck(TimetableError):
    """The timetable planned a run not later than the one made before it."""


@dataclass
class DagSchedule:
    dag_id: str
    timetable: Timetable
    start_date: datetime | None
    end_date: datetime | None
    catchup: bool
    max_active_runs: int
    last: ScheduledRun | None
    upcoming: ScheduledRun | None = None
    #: due but at max_active_runs: not looked at again until one of its runs ends
    blocked: bool = False
    #: where its schedule errors are shown: dag_id, fileloc, lineno
    origin: dict[str, Any] = field(default_factory=dict)


def _when(value: Any) -> datetime | None:
    parsed = coerce_datetime(value) if value else None
    return parsed.astimezone(UTC) if parsed is not None else None


def encode_run(run: ScheduledRun) -> str:
    return dumps(
        {
            "logical_date": run.logical_date.isoformat(),
            "data_interval_start": run.data_interval_start.isoformat(),
            "data_interval_end": run.data_interval_end.isoformat(),
            "run_after": run.run_after.isoformat(),
        }
    )


def decode_run(raw: str) -> ScheduledRun:
    data = loads(raw)
    return ScheduledRun(
        *(
            datetime.fromisoformat(data[k])
            for k in ("logical_date", "data_interval_start", "data_interval_end", "run_after")
        )
    )


def plan(entry: DagSchedule, now: datetime) -> None:
    """Work out the next run to create of ``entry`` after its latest one (pure)."""
    entry.upcoming = next_run(
        entry.timetable,
        last=entry.last,
        start_date=entry.start_date,
        end_date=entry.end_date,
        catchup=entry.catchup,
        now=now,
    )


def dag_schedule(
    dag: dict[str, Any], last_raw: str | None, now: datetime, *, data_intervals_default: bool
) -> DagSchedule | None:
    """The schedule of a serialized DAG with its next run planned, None without a schedule
    (pure: ``last_raw`` is its entry of the ``schedules`` hash). The API shows the same next
    run as the scheduler will create."""
    spec = DagSpec.from_serialized(dag)
    if spec.parent_dag_id is not None:
        return None  # Airflow 2: "Never schedule a subdag. It will be scheduled by its parent dag."
    timetable = spec_timetable(spec, data_intervals_default)
    if timetable.kind is Kind.NONE:
        return None
    entry = DagSchedule(
        spec.dag_id,
        timetable,
        _when(spec.start_date),
        _when(spec.end_date),
        spec.catchup,
        # 0 as in Airflow's scheduler: ``active >= 0``, so it creates no scheduled run
        spec.max_active_runs,
        decode_run(last_raw) if last_raw else None,
        origin={k: dag.get(k) for k in ("dag_id", "fileloc", "lineno")},
    )
    plan(entry, now)
    return entry


class Scheduler:
    def __init__(self, store: Store, *, data_intervals_default: bool = False) -> None:
        self.store = store
        self.data_intervals_default = data_intervals_default
        self.dags: dict[str, DagSchedule] = {}

    async def load(self, dags: dict[str, dict[str, Any]], now: datetime) -> None:
        """Every DAG's schedule (``dags``: dag_id -> serialized DAG)."""
        self.dags.clear()
        await schedule_errors.clear_others(self.store, set(dags))
        for dag_id, dag in dags.items():
            await self.update(dag_id, dag, now)

    async def update(self, dag_id: str, dag: dict[str, Any] | None, now: datetime) -> None:
        """A DAG was parsed again, paused or unpaused: work out its next run afresh."""
        self.dags.pop(dag_id, None)
        if dag is None:
            await schedule_errors.clear(self.store, dag_id)
            return
        if await self.store.is_paused(dag_id):
            return
        raw = await typed.hget(self.store.client, self.store.keys.schedules, dag_id)
        try:
            entry = dag_schedule(dag, raw, now, data_intervals_default=self.data_intervals_default)
        except TimetableError as err:  # the DAG's import error, not the coordinator's
            log.error("cannot schedule DAG %s: %s", dag_id, err)
            await schedule_errors.report(self.store, dag, err)
            return
        except (ValueError, KeyError, TypeError, OverflowError):  # KeyError: a bad schedules entry
            log.exception("cannot schedule DAG %s; its schedule is off", dag_id)
            return
        await schedule_errors.clear(self.store, dag_id)
        if entry is not None:
            self.dags[dag_id] = entry

    def next_due_s(self) -> float | None:
        times = [
            e.upcoming.run_after.timestamp()
            for e in self.dags.values()
            if e.upcoming and not e.blocked
        ]
        return min(times) if times else None

    def unblock(self, dag_id: str | None = None) -> None:
        """A run of ``dag_id`` (None: of any DAG) ended: its next run may have room now."""
        for entry in self.dags.values():
            if dag_id is None or entry.dag_id == dag_id:
                entry.blocked = False

    async def create_due(self, now: datetime, active_runs: dict[str, int]) -> list[str]:
        """Create the runs that are due and have room (at most RUNS_PER_PASS a DAG); returns
        the refs created."""
        created: list[str] = []
        for entry in list(self.dags.values()):
            if entry.blocked:
                continue
            try:
                await self._create_for(entry, now, active_runs, created)
            except TimetableError as err:
                # One DAG's timetable must not stop the coordinator: stop scheduling it.
                log.error("cannot schedule DAG %s: %s", entry.dag_id, err)
                self.dags.pop(entry.dag_id, None)
                await schedule_errors.report(self.store, entry.origin, err)
            except (ValueError, TypeError, OverflowError):
                log.exception("cannot schedule DAG %s; its schedule is off", entry.dag_id)
                self.dags.pop(entry.dag_id, None)
        return created

    async def _create_for(
        self, entry: DagSchedule, now: datetime, active_runs: dict[str, int], created: list[str]
    ) -> None:
        made: ScheduledRun | None = None
        for _ in range(RUNS_PER_PASS):
            if entry.upcoming is None or entry.upcoming.run_after > now:
                return
            going = active_runs.get(entry.dag_id, 0)
            room = 1 if entry.timetable.kind is Kind.CONTINUOUS else entry.max_active_runs
            if going >= room:
                entry.blocked = True  # looked at again when one of its runs ends
                return
            run = entry.upcoming
            check_moves_on(made, run)
            run_id = entry.timetable.run_id("scheduled", run)
            if await self._create(entry, run_id, run):
                created.append(run_ref(entry.dag_id, run_id))
                active_runs[entry.dag_id] = going + 1
            await self.store.client.hset(self.store.keys.schedules, entry.dag_id, encode_run(run))
            entry.last = made = run
            plan(entry, now)

    async def _create(self, entry: DagSchedule, run_id: str, run: ScheduledRun) -> bool:
        """Create ``run`` of the DAG; False when it exists (made before a restart)."""
        try:
            await self.store.create_run(
                RunRequest(
                    entry.dag_id,
                    run_id,
                    run.logical_date,
                    run.data_interval_start,
                    run.data_interval_end,
                    {},
                    run_type="scheduled",
                )
            )
        except RunExists:
            return False  # made before a restart: carry on after it
        return True


def check_moves_on(made: ScheduledRun | None, planned: ScheduledRun) -> None:
    """Refuse a planned run not later than the run just made (pure): a timetable that ignores
    the last run would plan the same one for ever, and the coordinator would loop on it."""
    if made is not None and planned.logical_date <= made.logical_date:
        raise TimetableStuck(
            f"the timetable planned a run at {planned.logical_date.isoformat()} after the run "
            f"at {made.logical_date.isoformat()}: it does not move forward"
        )
