"""The fast path, coordinator side: the plan a run's finish scripts follow, and the successors
they queued, taken into the coordinator's state (see engine/fast_path.py for what the script
may decide).

A run's plan (``fast_plan:{run}``) is written when the run starts or a coordinator resumes it,
and goes when the run ends. A finish script that queued a successor says so in its completion
(``TryFinished.fast``: ``<ti field>|<try>``); the coordinator, taking that completion, finds the
successor made ready by the same step and marks it queued without sending it (its message is
on its queue already), its slots taken over from the finished try's. Should the coordinator
have decided otherwise meanwhile (a clear or a mark it has not written yet), its own record is
written over the script's, and a worker's claim of the message then finds no queued instance; a
worker that claimed it before is told to stop it when its ``started`` event comes (events.py).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import orjson

from airlane.engine import fast_path
from airlane.engine.graph import DagGraph
from airlane.engine.run_state import TIKey
from airlane.queue.codec import TIMeta
from airlane.queue.keys import ti_field
from airlane.queue.protocol import TryFinished
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.coordinator.admission import take_slots
from airlane.service.coordinator.hooks import Policy
from airlane.service.run_context import RunContext

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

log = logging.getLogger("airlane.coordinator")
S = TaskInstanceState
#: plans kept in memory (one per DAG version in use)
PLANS_KEPT = 256


def plan_fields(graph: DagGraph) -> dict[str, str]:
    """The plan hash of a run of ``graph``: finished task's ti field -> candidates JSON."""
    return {
        ti_field(task_id, -1): orjson.dumps(
            [[ti_field(t, -1), [ti_field(u, -1) for u in others]] for t, others in candidates]
        ).decode()
        for task_id, candidates in fast_path.plan(graph).items()
    }


def parse_fast(fast: str) -> tuple[TIKey, int] | None:
    """A completion's ``fast`` field: the successor queued and its try, or None."""
    ti, _, try_text = fast.rpartition("|")
    task_id, _, index = ti.rpartition("|")
    if not task_id or not try_text.isdigit():
        return None
    return TIKey(task_id, int(index)), int(try_text)


class FastPath(Policy):
    def __init__(self, session: Session) -> None:
        self.session = session
        #: plans by graph (one per DAG version, shared by its runs), the graph kept beside
        #: its plan so that a reused id() is told apart
        self._plans: dict[int, tuple[DagGraph, list[str]]] = {}

    def run_activated(self, ctx: RunContext, resumed: bool, now_s: float) -> None:
        if not self.session.settings.fast_path:
            return
        pairs = self._plan_of(ctx.graph)
        if pairs:  # (one HSET of all its fields)
            key = self.session.keys.fast_plan(ctx.dag_id, ctx.run_id)
            self.session.outbox.batch.hset_many(key, pairs)

    def _plan_of(self, graph: DagGraph) -> list[str]:
        """The plan's fields and values, flat: ``[field1, value1, field2, value2, ...]``."""
        found = self._plans.get(id(graph))
        if found is not None and found[0] is graph:
            return found[1]
        if len(self._plans) >= PLANS_KEPT:
            self._plans.pop(next(iter(self._plans)))
        pairs = [item for pair in plan_fields(graph).items() for item in pair]
        self._plans[id(graph)] = (graph, pairs)
        return pairs

    def run_ended(self, ctx: RunContext, state: DagRunState, now_s: float) -> None:
        self.session.outbox.batch.delete(self.session.keys.fast_plan(ctx.dag_id, ctx.run_id))

    def taken(self, ctx: RunContext, event: TryFinished) -> None:
        """After the step of ``event``: the successor its script queued, if any, is queued."""
        parsed = parse_fast(event.fast) if event.fast else None
        if parsed is None:
            return
        key, try_number = parsed
        record = ctx.machine.tis.get(key)
        s = self.session
        if record is None:
            return
        if record.try_number == try_number and record.state is S.SCHEDULED:
            ctx.machine.task_queued(key)
            ctx.meta[key] = TIMeta(queued_at=time.time())
            s.outbox.persister.write_ti(ctx, key)
            s.outbox.persister.ti_event(
                s.outbox.batch, ctx, ti_field(key.task_id, key.map_index), S.QUEUED, try_number
            )
            take_slots(s.state.admission, ctx.ref, ctx.dag_id, ctx.graph.tasks[key.task_id])
        elif not (record.try_number == try_number and record.state in (S.QUEUED, S.RUNNING)):
            # decided otherwise here: this record overwrites the one the script wrote; a
            # worker may have claimed the script's try already, so the next one is numbered
            # after it (a claim refuses a number it has seen: that instance stayed queued)
            log.info("fast path: %s of %s stays %s", key.label(), ctx.ref, record.state.value)
            ctx.machine.reserve_try(key, try_number)
            s.outbox.persister.write_ti(ctx, key)
