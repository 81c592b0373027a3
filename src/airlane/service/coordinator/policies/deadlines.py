"""Deadline alerts (Airflow 3.1's ``DAG(deadline=...)``): each run's deadlines are worked out
when the coordinator first sees the run (``engine.deadlines``), kept in ``deadlines`` (a
sorted set by time) and in the run's hash (``deadline:<alert index>``), dropped when the run
succeeds by then, and reported when they pass: the alert's callback job goes to
``callbacks:pending`` in the same batch that takes the deadline out of the set, so a crash
between the two loses nothing and a replay queues one job (its id is the run's and the
alert's). A failed run keeps its deadlines, as in Airflow (only a success prunes them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, cast

from airlane.engine.dag_spec import DagSpec
from airlane.engine.deadlines import (
    FIELD_PREFIX,
    RunTimes,
    deadline_s,
    entry,
    history_needed,
    met_by_success,
    parse_entry,
    run_deadlines,
)
from airlane.queue.callback_jobs import RUN_GENERATION, run_generation
from airlane.queue.deadline_jobs import DeadlineCallbackJob
from airlane.queue.events_protocol import DeadlineMissedEvent
from airlane.sdk.state import DagRunState
from airlane.service.coordinator.hooks import Policy
from airlane.service.run_context import RunContext
from airlane.service.stored_records import epoch_s

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

log = logging.getLogger("airlane.coordinator")

#: deadlines reported per pass (the rest in the next one, a second later)
REPORT_BATCH = 500
#: an average's runs are read this many at a time, and no more than _HISTORY_SCAN of them
_HISTORY_PAGE = 50
_HISTORY_SCAN = 1000


def run_times(fields: Mapping[str, str], now_s: float) -> RunTimes:
    """A run's logical date (stored as ISO 8601; None for a run without one) and queue time."""
    return RunTimes(_iso_s(fields.get("logical_date")), epoch_s(fields.get("queued_at"), now_s))


def _iso_s(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        log.warning("a run's logical date %r is no ISO 8601 date: no deadline counts from it", text)
        return None


def _duration_s(started: str | None, ended: str | None) -> float | None:
    """A finished run's duration from its stored start and end (None: not finished, or a
    record that cannot be read, which only leaves that run out of the average)."""
    if not started or not ended:
        return None
    try:
        return float(ended) - float(started)
    except ValueError:
        return None


class Deadlines(Policy):
    def __init__(self, session: Session) -> None:
        self.session = session

    async def run_seen(
        self, dag_id: str, run_id: str, fields: Mapping[str, str], spec: DagSpec, now_s: float
    ) -> None:
        """A run's deadlines, once: a run created and not yet given them (a cleared or
        reopened run keeps the ones it had; a run of a DAG without alerts has none). An
        average's runs are read here, so every deadline is in the batch that follows."""
        if not spec.deadlines or fields.get("state", "queued") != "queued":
            return
        if run_generation(fields.get(RUN_GENERATION)) or run_deadlines(fields):
            return
        times = run_times(fields, now_s)
        for index, alert in enumerate(spec.deadlines):
            wanted = history_needed(alert)
            durations = await self._durations(dag_id, run_id, wanted) if wanted else []
            due_s = deadline_s(alert, times, durations)
            if due_s is None:
                log.info(
                    "run %s of %s gets no deadline for alert %s: its reference has no value",
                    run_id,
                    dag_id,
                    index,
                )
                continue
            s = self.session
            s.outbox.batch.zadd(s.keys.deadlines, due_s, entry(dag_id, run_id, index))
            # (a queued run may be deleted meanwhile: its hash must not come back)
            run_key = s.keys.run(dag_id, run_id)
            s.outbox.batch.hset_if_exists(run_key, f"{FIELD_PREFIX}{index}", repr(due_s))
            if isinstance(fields, dict):  # (the run's context is built from these fields)
                fields[f"{FIELD_PREFIX}{index}"] = repr(due_s)

    def run_ended(self, ctx: RunContext, state: DagRunState, now_s: float) -> None:
        """A success drops the deadlines it met (in the batch of its end: the end date is
        ``now_s``), as Airflow deletes their rows."""
        if state is not DagRunState.SUCCESS:
            return
        deadlines = run_deadlines(ctx.fields)
        dues = {entry(ctx.dag_id, ctx.run_id, i): due for i, due in deadlines.items()}
        met = set(met_by_success(dues, now_s))
        s = self.session
        for index in deadlines:
            name = entry(ctx.dag_id, ctx.run_id, index)
            if name in met:
                s.outbox.batch.zrem(s.keys.deadlines, name)
                s.outbox.batch.hdel(s.keys.run(ctx.dag_id, ctx.run_id), f"{FIELD_PREFIX}{index}")

    async def periodic(self, now_s: float) -> None:
        await self._report_missed(now_s)

    async def _durations(self, dag_id: str, run_id: str, wanted: int) -> list[float]:
        """The durations of the DAG's latest ``wanted`` finished runs (by logical date, newest
        first), read a page at a time past the runs not finished (at most _HISTORY_SCAN)."""
        s = self.session
        durations: list[float] = []
        for start in range(0, _HISTORY_SCAN, _HISTORY_PAGE):
            page = await s.client.zrevrange(
                s.keys.runs_of(dag_id), start, start + _HISTORY_PAGE - 1
            )
            ids = [i for i in cast(list[str], page) if i != run_id]
            if ids:
                async with s.client.pipeline(transaction=False) as pipe:
                    for other in ids:
                        pipe.hmget(s.keys.run(dag_id, other), ["start_date", "end_date"])
                    rows = await pipe.execute()
                for started, ended in rows:
                    took_s = _duration_s(started, ended)
                    if took_s is not None:
                        durations.append(took_s)
                        if len(durations) == wanted:
                            return durations
            if len(page) < _HISTORY_PAGE:
                break
        return durations

    async def _report_missed(self, now_s: float) -> None:
        s = self.session
        due = await s.client.zrangebyscore(
            s.keys.deadlines, "-inf", now_s, start=0, num=REPORT_BATCH, withscores=True
        )
        for name, due_s in cast(list[tuple[str, float]], due):
            s.outbox.batch.zrem(s.keys.deadlines, name)
            parsed = parse_entry(name)
            if parsed is None:
                log.warning("dropping an unreadable deadline entry %r", name)
                continue
            dag_id, run_id, index = parsed
            job = DeadlineCallbackJob(dag_id, run_id, index, float(due_s), now_s)
            s.outbox.batch.hset(s.keys.callbacks_pending, job.job_id, job.encode())
            s.outbox.persister.event(
                s.outbox.batch, DeadlineMissedEvent(dag_id, run_id, index, float(due_s))
            )
            log.info("run %s of %s missed deadline %s (alert %s)", run_id, dag_id, due_s, index)
