"""Backfills: runs of a DAG for past logical dates, created as capacity frees up.

A backfill is stored in Redis (``backfills``) with the logical dates it still has to handle;
the coordinator (:class:`BackfillRunner`) takes them in order, at most ``max_active_runs``
runs of the backfill going at once. For a date that already has a run, Airflow 3's
``reprocess_behavior`` decides: ``none`` leaves it, ``failed`` reruns it when it failed (its
failed tasks are cleared), ``completed`` reruns it when it ended at all; a run still going is
never touched. Pausing stops it taking dates; cancelling ends it.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from airlane.engine.dag_spec import DagSpec
from airlane.queue import typed
from airlane.queue.codec import dumps, loads
from airlane.queue.conf_limit import ConfTooLarge, check_conf_size
from airlane.queue.keys import run_ref
from airlane.queue.protocol import BackfillChanged, decoded_or_none
from airlane.queue.store import RunExists, RunRequest, Store
from airlane.scheduling.custom_timetable import TimetableError
from airlane.scheduling.timetables import Kind, Timetable, next_run, plain_utc, spec_timetable
from airlane.sdk.run_types import refusal
from airlane.sdk.timetable_base import DagRunType

log = logging.getLogger("airlane.backfill")

#: more logical dates than this in one backfill is refused (split it)
MAX_DATES = 100_000


class Reprocess(enum.StrEnum):
    NONE = "none"
    FAILED = "failed"
    COMPLETED = "completed"


class BackfillError(ValueError):
    """A backfill that cannot be made, with the field to blame."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


class BackfillNotAllowed(BackfillError):
    """The DAG's ``allowed_run_types`` leaves backfills out (Airflow's DagRunTypeNotAllowed,
    which its API answers with 400)."""


@dataclass
class Backfill:
    id: int
    dag_id: str
    from_date: str
    to_date: str
    reprocess_behavior: str
    max_active_runs: int
    run_backwards: bool
    dag_run_conf: dict[str, Any]
    created_at: str
    updated_at: str
    is_paused: bool = False
    completed_at: str | None = None
    pending: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> Backfill:
        return cls(**loads(raw))


def logical_dates(
    tt: Timetable, from_date: datetime, to_date: datetime, *, run_backwards: bool = False
) -> list[datetime]:
    """The logical dates of the schedule's runs from ``from_date`` to ``to_date`` inclusive."""
    if not tt.periodic:
        raise BackfillError("dag_id", "only DAGs with a cron or timedelta schedule can backfill")
    found: list[datetime] = []
    last = None
    while True:
        run = next_run(
            tt, last=last, start_date=from_date, end_date=to_date, catchup=True, now=to_date
        )
        if run is None or run.logical_date > plain_utc(to_date):
            break
        found.append(run.logical_date)
        if len(found) > MAX_DATES:
            raise BackfillError("to_date", f"more than {MAX_DATES} runs; split the backfill")
        last = run
    return list(reversed(found)) if run_backwards else found


def dag_timetable(dag: dict[str, Any], data_intervals_default: bool = False) -> Timetable:
    try:
        return spec_timetable(DagSpec.from_serialized(dag), data_intervals_default)
    except TimetableError as err:  # a custom timetable this process cannot re-create
        raise BackfillError("dag_id", str(err)) from None


async def create_backfill(
    store: Store,
    dag: dict[str, Any],
    from_date: datetime,
    to_date: datetime,
    *,
    reprocess: Reprocess = Reprocess.NONE,
    max_active_runs: int = 10,
    run_backwards: bool = False,
    conf: dict[str, Any] | None = None,
    dry_run: bool = False,
    run_on_latest_version: bool = False,
) -> tuple[Backfill | None, list[datetime]]:
    """Plan (and unless ``dry_run`` store and announce) a backfill of ``dag``.

    ``run_on_latest_version`` (Airflow 3.3's): a reprocessed run reruns on the DAG version it
    started with, as a cleared run does in Airlane, so ``True`` is refused when a run the
    backfill would reprocess is on an older version than the DAG's latest (False: each keeps
    its own; Airflow's default, true, is not Airlane's)."""
    if from_date > to_date:
        raise BackfillError("from_date", "from_date is after to_date")
    if max_active_runs < 1:
        raise BackfillError("max_active_runs", "must be at least 1")
    try:
        check_conf_size(dumps(conf or {}), store.max_conf_bytes)
    except ConfTooLarge as err:
        raise BackfillError("dag_run_conf", str(err)) from None
    tt = dag_timetable(dag)
    if tt.kind is Kind.NONE:
        raise BackfillError("dag_id", "the DAG has no schedule to backfill")
    denied = refusal(
        dag["dag_id"], dag.get("allowed_run_types"), DagRunType.BACKFILL_JOB, "backfill runs"
    )
    if denied is not None:
        raise BackfillNotAllowed("dag_id", denied)
    try:
        dates = logical_dates(tt, from_date, to_date, run_backwards=run_backwards)
    except TimetableError as err:  # the user's timetable failed
        raise BackfillError("dag_id", str(err)) from None
    if run_on_latest_version and reprocess is not Reprocess.NONE:
        await _refuse_older_versions(store, dag, dates)
    if dry_run:
        return None, dates
    now = datetime.now(UTC).isoformat()
    backfill = Backfill(
        id=int(await store.client.incr(store.keys.backfill_seq)),
        dag_id=dag["dag_id"],
        from_date=plain_utc(from_date).isoformat(),
        to_date=plain_utc(to_date).isoformat(),
        reprocess_behavior=reprocess.value,
        max_active_runs=max_active_runs,
        run_backwards=run_backwards,
        dag_run_conf=conf or {},
        created_at=now,
        updated_at=now,
        pending=[d.isoformat() for d in dates],
    )
    await save(store, backfill)
    await store.command(BackfillChanged(backfill.id))
    return backfill, dates


async def _refuse_older_versions(store: Store, dag: dict[str, Any], dates: list[datetime]) -> None:
    """Refuse ``run_on_latest_version`` when a run on one of ``dates`` (one a reprocess could
    rerun) started on another version of the DAG than its latest."""
    dag_id, latest = dag["dag_id"], dag.get("hash")
    wanted = {d.timestamp() for d in dates}
    scored = cast(
        list[tuple[str, float]],
        await store.client.zrange(store.keys.runs_of(dag_id), 0, -1, withscores=True),
    )
    run_ids = [run_id for run_id, score in scored if score in wanted]
    for run in await store.runs(dag_id, run_ids):
        pinned = run.get("dag_hash")
        if pinned and latest and pinned != latest:
            raise BackfillError(
                "run_on_latest_version",
                f"run {run['run_id']} runs an older version of its DAG: Airlane reruns a "
                "reprocessed run on the version it started with",
            )


async def save(store: Store, backfill: Backfill) -> None:
    await store.client.hset(store.keys.backfills, str(backfill.id), backfill.to_json())


async def load(store: Store, backfill_id: int) -> Backfill | None:
    raw = await typed.hget(store.client, store.keys.backfills, str(backfill_id))
    return Backfill.from_json(raw) if raw else None


async def load_all(store: Store) -> list[Backfill]:
    raw = await typed.hgetall(store.client, store.keys.backfills)
    found = (decoded_or_none(Backfill.from_json, v, "backfill", log) for v in raw.values())
    return sorted((b for b in found if b is not None), key=lambda b: b.id)


@dataclass(frozen=True, slots=True)
class RunToClear:
    """An existing run a backfill reprocesses: the coordinator clears these tasks of it."""

    dag_id: str
    run_id: str
    task_ids: tuple[str, ...]


class BackfillRunner:
    """Advances the active backfills (called by the coordinator about once a second)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def advance(self, unfinished: set[str]) -> list[RunToClear]:
        """Start what each backfill has room for; ``unfinished``: refs of runs still going.
        Returns the runs whose tasks the coordinator is to clear."""
        to_clear: list[RunToClear] = []
        for backfill in await load_all(self.store):
            if backfill.completed_at is not None or backfill.is_paused:
                continue
            going = sum(1 for ref in backfill.runs if ref in unfinished)
            changed = False
            while backfill.pending and going < backfill.max_active_runs:
                when = datetime.fromisoformat(backfill.pending.pop(0))
                changed = True
                started = await self._handle(backfill, when, to_clear)
                if started is not None:
                    backfill.runs.append(started)
                    unfinished.add(started)
                    going += 1
            if not backfill.pending and going == 0:
                backfill.completed_at = datetime.now(UTC).isoformat()
                changed = True
            if changed:
                backfill.updated_at = datetime.now(UTC).isoformat()
                await save(self.store, backfill)
        return to_clear

    async def _handle(
        self, backfill: Backfill, when: datetime, to_clear: list[RunToClear]
    ) -> str | None:
        store, dag_id = self.store, backfill.dag_id
        score = when.timestamp()
        existing = cast(
            list[str], await store.client.zrangebyscore(store.keys.runs_of(dag_id), score, score)
        )
        if existing:
            for run_id in existing:
                run = await store.run(dag_id, str(run_id)) or {}
                state = run.get("state")
                if state in ("queued", "running"):
                    return None  # still going: never touched
                rerun = backfill.reprocess_behavior == Reprocess.COMPLETED or (
                    backfill.reprocess_behavior == Reprocess.FAILED and state == "failed"
                )
                if not rerun:
                    continue
                tis = await store.task_instances(dag_id, str(run_id))
                only_failed = backfill.reprocess_behavior == Reprocess.FAILED
                tasks = sorted(
                    {
                        t
                        for (t, _), (record, _) in tis.items()
                        if not only_failed or record.state.value in ("failed", "upstream_failed")
                    }
                )
                to_clear.append(RunToClear(dag_id, str(run_id), tuple(tasks)))
                return run_ref(dag_id, str(run_id))
            return None
        dag = await store.dag(dag_id) or {}
        try:
            tt = dag_timetable(dag)
        except BackfillError as err:
            log.warning("backfill %s: no run for %s: %s", backfill.id, when.isoformat(), err)
            return None
        try:
            planned = next_run(
                tt, last=None, start_date=when, end_date=None, catchup=True, now=when
            )
        except TimetableError as err:  # the user's timetable failed: the run gets no interval
            log.warning("backfill %s: timetable failed for %s: %s", backfill.id, when, err)
            planned = None
        run_id = f"backfill__{when.isoformat()}"  # Airflow's too: not the timetable's
        start = planned.data_interval_start if planned else when
        end = planned.data_interval_end if planned else when
        try:
            await store.create_run(
                RunRequest(
                    dag_id, run_id, when, start, end, backfill.dag_run_conf, run_type="backfill"
                )
            )
        except RunExists:
            return None
        except ConfTooLarge as err:  # the limit was lowered since the backfill was made
            log.warning("backfill %s: no run for %s: %s", backfill.id, when.isoformat(), err)
            return None
        return run_ref(dag_id, run_id)
