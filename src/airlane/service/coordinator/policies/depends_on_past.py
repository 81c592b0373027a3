"""depends_on_past and wait_for_downstream: an instance runs once the same instance of the
previous run (by logical date; runs without one, asset-triggered runs, are neither waited on nor
wait, as in Airflow) succeeded or was skipped; with wait_for_downstream, also the
instances right downstream of it there. The first run has nothing to wait for. A previous run
that lacks the task (added since) holds the instance back, unless the task has
ignore_first_depends_on_past and no earlier run had it (Airflow's PrevDagrunDep).

Ready instances of such tasks are held back and checked against the previous run a few
times a second while any wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING

from airlane.engine.graph import TaskSpec
from airlane.engine.run_state import TIKey
from airlane.queue import typed
from airlane.queue.codec import decode_ti
from airlane.queue.keys import run_ref, ti_field
from airlane.queue.protocol import decoded_or_none
from airlane.service.coordinator.hooks import Policy
from airlane.service.coordinator.state import RunTI
from airlane.service.run_context import RunContext

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

log = logging.getLogger("airlane.coordinator")
#: how often waiting instances are checked again when none joined them
RECHECK_S = 0.25
#: states of the previous run's instances that let an instance go (None: it had none)
_LETS_GO = frozenset({"success", "skipped"})
#: earlier runs read at once when looking for the previous one with a logical date
_PAGE = 16


def instances_waited_on(spec: TaskSpec, key: TIKey) -> list[TIKey]:
    """The previous run's instances that ``key`` waits for."""
    needed = [key.task_id, *(spec.downstream if spec.wait_for_downstream else ())]
    return [TIKey(t, key.map_index if t == key.task_id else -1) for t in needed]


def lets_go(state: str | None) -> bool:
    return state is None or state in _LETS_GO


class DependsOnPast(Policy):
    def __init__(self, session: Session) -> None:
        self.session = session
        self.state = session.state.past

    def holds_back(self, item: RunTI, spec: TaskSpec) -> bool:
        if not spec.depends_on_past:
            return False
        if item in self.state.allowed:
            self.state.allowed.discard(item)
            return False
        self.state.waiting[item] = None  # checked against the previous run
        self.state.new = True
        return True

    async def after_read(self) -> None:
        past = self.state
        if past.waiting and (past.new or time.time() - past.checked_s > RECHECK_S):
            await self.check()

    async def check(self) -> None:
        past = self.state
        past.new = False
        past.checked_s = time.time()
        runs = self.session.state.runs.runs
        for item in list(past.waiting):
            ref, key = item
            ctx = runs.get(ref)
            if ctx is None:
                del past.waiting[item]
                continue
            if await self._past_allows(ctx, key):
                del past.waiting[item]
                past.allowed.add(item)
                self.session.state.admission.ready.append(item)
        self.session.progress.drain_ready()

    async def _past_allows(self, ctx: RunContext, key: TIKey) -> bool:
        s = self.session
        logical = ctx.fields.get("logical_date")
        if not logical:
            return True
        when = decoded_or_none(datetime.fromisoformat, logical, "logical date", log)
        if when is None:
            return True
        prev_id = await self._previous_run(ctx.dag_id, when.timestamp())
        if prev_id is None:
            return True
        prev_ctx = s.state.runs.runs.get(run_ref(ctx.dag_id, prev_id))
        spec = ctx.graph.tasks[key.task_id]
        if not await self._had_task(ctx.dag_id, prev_id, prev_ctx, key.task_id):
            # the previous run lacks the task (added since): Airflow's PrevDagrunDep lets the
            # instance go only with ignore_first_depends_on_past, when no earlier run had it
            if not spec.ignore_first_depends_on_past:
                return False
            return not await self._any_earlier_run_had(ctx.dag_id, when.timestamp(), key.task_id)
        for prev_key in instances_waited_on(spec, key):
            if prev_ctx is not None:
                record = prev_ctx.machine.tis.get(prev_key)
                state = record.state.value if record is not None else None
            else:
                state = await self._stored_state(ctx.dag_id, prev_id, prev_key)
            if not lets_go(state):
                return False
        return True

    async def _had_task(
        self, dag_id: str, run_id: str, ctx: RunContext | None, task_id: str
    ) -> bool:
        """Whether that run has an instance of the task (any map index: Airflow's _has_tis)."""
        if ctx is not None:
            return bool(ctx.machine.keys_by_task.get(task_id))
        s = self.session
        async for _ in s.client.hscan_iter(
            s.keys.tis(dag_id, run_id), match=f"{task_id}|*", count=1000
        ):
            return True
        return False

    async def _any_earlier_run_had(self, dag_id: str, score: float, task_id: str) -> bool:
        """Whether a run before ``score`` has an instance of the task (Airflow's
        _has_any_prior_tis); once one had, every later run's answer is yes (kept)."""
        past = self.state
        if (dag_id, task_id) in past.had_task:
            return True
        s = self.session
        async for ids in self._earlier_runs(dag_id, score):
            for run_id in ids:
                ctx = s.state.runs.runs.get(run_ref(dag_id, run_id))
                if await self._had_task(dag_id, run_id, ctx, task_id):
                    past.had_task.add((dag_id, task_id))
                    return True
        return False

    async def _earlier_runs(self, dag_id: str, score: float) -> AsyncIterator[list[str]]:
        """The DAG's runs before ``score``, newest first, a page at a time."""
        s = self.session
        offset = 0
        while True:
            earlier = await s.client.zrevrangebyscore(
                s.keys.runs_of(dag_id), f"({score}", "-inf", start=offset, num=_PAGE
            )
            if not earlier:
                return
            yield [str(run_id) for run_id in earlier]
            offset += len(earlier)

    async def _previous_run(self, dag_id: str, score: float) -> str | None:
        """The latest run before ``score`` that has a logical date: runs without one (asset
        runs) are not in Airflow's ``get_previous_dagrun``, which orders by logical date."""
        s = self.session
        async for ids in self._earlier_runs(dag_id, score):
            async with s.client.pipeline(transaction=False) as pipe:
                for run_id in ids:
                    pipe.hget(s.keys.run(dag_id, run_id), "logical_date")
                dates = await pipe.execute()
            for run_id, logical in zip(ids, dates, strict=True):
                if logical:
                    return run_id
        return None

    async def _stored_state(self, dag_id: str, run_id: str, key: TIKey) -> str | None:
        s = self.session
        field_name = ti_field(key.task_id, key.map_index)
        raw = await typed.hget(s.client, s.keys.tis(dag_id, run_id), field_name)
        what = f"instance {key} of {dag_id} {run_id}"
        found = decoded_or_none(decode_ti, raw, what, log) if raw else None
        return found[0].state.value if found else None
