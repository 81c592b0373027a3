"""Loading runs: a run starts (or a restarted coordinator resumes it) from its Redis records."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from airlane.engine.dag_spec import DagSpec
from airlane.engine.graph import DagGraph
from airlane.engine.state_machine import RunMachine, prepare_new_runs
from airlane.queue import typed
from airlane.queue.callback_jobs import RUN_GENERATION
from airlane.queue.events_protocol import RunEvent
from airlane.queue.keys import parse_run_ref
from airlane.queue.protocol import decoded_or_none
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.coordinator.admission import count_deferred, take_slots
from airlane.service.coordinator.settings import HELD_STATES
from airlane.service.coordinator.state import RunningTry
from airlane.service.run_context import RunContext
from airlane.service.run_shape import run_after_s
from airlane.service.stored_records import decode_dag, decode_tis

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

log = logging.getLogger("airlane.coordinator")
S = TaskInstanceState


@dataclass(frozen=True, slots=True)
class _Found:
    """A run's records as activation reads them (RunLoader._read)."""

    fields: dict[str, str]
    #: the DAG's latest version (None: not read, or no such DAG)
    dag_hash: str | None
    #: whether the DAG is paused (None: not read)
    paused: bool | None
    #: the run's instance records (a run just created has none)
    tis: dict[str, str]


class RunLoader:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.registry = session.state.runs

    async def graph(self, content_hash: str) -> tuple[dict[str, Any], DagGraph] | None:
        """A DAG version by its content hash (None: missing or malformed, logged)."""
        if content_hash not in self.registry.graphs:
            raw = await typed.get(self.session.client, self.session.keys.dag_snapshot(content_hash))
            loaded = None if raw is None else decoded_or_none(decode_dag, raw, "DAG", log)
            if loaded is None:
                return None
            self.registry.graphs[content_hash] = loaded
            self.registry.specs[content_hash] = DagSpec.from_serialized(loaded[0])
            prepare_new_runs(loaded[1])  # a run's expansion starts from it (issue 19)
        return self.registry.graphs[content_hash]

    async def current_graph(self, dag_id: str) -> tuple[dict[str, Any], DagGraph] | None:
        """The DAG's latest version (None: none, or unreadable)."""
        content_hash = await typed.hget(self.session.client, self.session.keys.dags, dag_id)
        return await self.graph(content_hash) if content_hash else None

    async def load_active(self) -> None:
        refs = sorted(await typed.smembers(self.session.client, self.session.keys.active_runs))
        for ref in refs:
            await self.activate(ref)
            await self.session.flush_if_full()

    async def activate(
        self,
        ref: str,
        reopening: bool = False,
        created: Mapping[str, str] | None = None,
        admitted: bool = False,
    ) -> RunContext | None:
        """Drive run ``ref``: start it if it is queued and may start, or rebuild it.

        A finished run that a clear or mark reopens (``reopening``) is not ended again by this
        first step: the command that reopens it decides its state. ``created``: the hash of a
        run this coordinator has just created (nothing to read back: no instances yet);
        ``admitted``: its creator found that it may start (unpaused, under max_active_runs).
        """
        if ref in self.registry.runs:
            return self.registry.runs[ref]
        s = self.session
        dag_id, run_id = parse_run_ref(ref)
        if created is not None:
            found = _Found(dict(created), None, None, {})
        else:
            found = await self._read(dag_id, run_id)
        fields = found.fields
        if not fields:
            s.outbox.batch.srem(s.keys.active_runs, ref)
            return None
        if not reopening and fields.get("state") in ("success", "failed"):
            # ended meanwhile (only a clear or mark reopens an ended run): e.g. a run held for
            # later that a reset ran and ended before its time came
            self.registry.held_until.pop(ref, None)
            return None
        content_hash = (
            fields.get("dag_hash")
            or found.dag_hash
            or await typed.hget(s.client, s.keys.dags, dag_id)
        )
        loaded = await self.graph(content_hash) if content_hash else None
        if loaded is None:
            return None
        spec = self.registry.specs[str(content_hash)]
        state = fields.get("state", "queued")
        await s.hooks.run_seen(dag_id, run_id, fields, spec, time.time())
        if state == "queued" and not reopening and self._held(ref, fields):
            self.registry.queued_refs.setdefault(dag_id, set()).add(ref)
            return None
        if (
            state == "queued"
            and not admitted
            and not await s.admission.may_start(dag_id, spec, fields.get("run_type"), found.paused)
        ):
            self.registry.queued_refs.setdefault(dag_id, set()).add(ref)
            return None
        self.registry.queued_refs.get(dag_id, set()).discard(ref)
        return await self._resume(ref, fields, loaded, str(content_hash), reopening, found.tis)

    def _held(self, ref: str, fields: Mapping[str, str]) -> bool:
        """Whether the run was triggered for later and its time has not come (Airflow 3 starts
        no run before its ``run_after``); it is then kept until it has (policies/run_after)."""
        after_s = run_after_s(fields)
        if after_s is None or after_s <= time.time():
            self.registry.held_until.pop(ref, None)
            return False
        self.registry.held_until[ref] = after_s
        return True

    async def _read(self, dag_id: str, run_id: str) -> _Found:
        """What activating a run may read, in one round trip: its hash, its DAG's latest
        version, whether the DAG is paused and the run's instance records (pipelined: a run
        that turns out not to need one of them has read it for nothing)."""
        s = self.session
        async with s.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(s.keys.run(dag_id, run_id))
            pipe.hget(s.keys.dags, dag_id)
            pipe.sismember(s.keys.paused, dag_id)
            pipe.hgetall(s.keys.tis(dag_id, run_id))
            fields, content_hash, paused, raw_tis = await pipe.execute()
        return _Found(
            cast(dict[str, str], fields),
            cast("str | None", content_hash),
            bool(paused),
            cast(dict[str, str], raw_tis),
        )

    async def _resume(
        self,
        ref: str,
        fields: dict[str, str],
        loaded: tuple[dict[str, Any], DagGraph],
        content_hash: str,
        reopening: bool,
        raw_tis: dict[str, str],
    ) -> RunContext:
        s = self.session
        dag, graph = loaded
        dag_id, run_id = parse_run_ref(ref)
        state = fields.get("state", "queued")
        records, metas = decode_tis(raw_tis, graph, ref)
        when = fields.get("logical_date") or fields.get("run_after")  # asset runs: no logical
        machine = RunMachine(graph, records or None, ti_identity=f"{dag_id}#{when}")
        fields.pop("conf", None)  # workers read it from the run: not held for every run here
        spec = self.registry.specs[content_hash]
        ctx = RunContext(dag_id, run_id, dag, graph, machine, fields, metas, shared_spec=spec)
        self.registry.runs[ref] = ctx
        now = time.time()
        if state != "running":
            s.outbox.batch.hset(s.keys.run(dag_id, run_id), "dag_hash", content_hash)
            s.outbox.persister.write_run_state(s.outbox.batch, ctx, DagRunState.RUNNING, now)
        s.hooks.run_activated(ctx, state == "running", now)
        self._count_held(ctx)
        if not records:
            s.outbox.persister.write_tis(ctx, machine.tis)
        s.state.admission.ready.extend((ref, key) for key in machine.scheduled_keys())
        s.progress.after_step(ctx, machine.start(now), now, may_end=not reopening)
        return ctx

    def _count_held(self, ctx: RunContext) -> None:
        """The slots the run's queued, running and deferred instances hold, and where they
        run (a deferred one counts against its pool as admission.pool_occupied says)."""
        s = self.session
        for key, record in ctx.machine.tis.items():
            worker = ctx.meta[key].worker if key in ctx.meta else None
            if record.state is S.RUNNING and worker:
                s.state.recovery.running_on[(ctx.ref, key)] = RunningTry(
                    str(worker), record.try_number
                )
            if record.state in HELD_STATES:
                take_slots(s.state.admission, ctx.ref, ctx.dag_id, ctx.graph.tasks[key.task_id])
            elif record.state is S.DEFERRED:
                count_deferred(s.state.admission, ctx.graph.tasks[key.task_id], 1)

    async def start_queued(self, dag_id: str) -> None:
        """Start the DAG's queued runs in order while they may start."""
        refs = await typed.smembers(self.session.client, self.session.keys.active_runs)
        queued = {r for r in refs if parse_run_ref(r)[0] == dag_id and r not in self.registry.runs}
        self.registry.queued_refs[dag_id] = queued
        for ref in sorted(queued):
            if await self.activate(ref) is None and ref not in self.registry.held_until:
                break  # no room (a run held for later leaves its place to the next)

    async def stored_state(self, ref: str) -> str | None:
        """The run's state as stored (what this pass wrote included)."""
        s = self.session
        await s.flush()
        dag_id, run_id = parse_run_ref(ref)
        return await typed.hget(s.client, s.keys.run(dag_id, run_id), "state")

    async def end_queued(self, ref: str, state: DagRunState) -> None:
        """A run not started yet, set to ``state`` by hand (the API's PATCH of a run): it ends
        without starting (no instances, no start date), and the DAG's next queued run may
        take its place."""
        s = self.session
        dag_id, run_id = parse_run_ref(ref)
        batch = s.outbox.batch
        batch.hset(s.keys.run(dag_id, run_id), "state", state.value)
        batch.hset(s.keys.run(dag_id, run_id), "end_date", repr(time.time()))
        batch.srem(s.keys.active_runs, ref)
        s.outbox.persister.metrics.run_finished(state.value)
        s.outbox.persister.event(batch, RunEvent(dag_id, run_id, state))
        self.registry.queued_refs.get(dag_id, set()).discard(ref)
        self.registry.held_until.pop(ref, None)
        # written now: a start of the DAG's queued runs later in this pass reads them from
        # Redis and must not find this one still queued
        await s.flush()
        s.state.runs.pending_starts.add(dag_id)

    async def reopen(self, ref: str) -> RunContext | None:
        """A finished run that a clear or mark brings back."""
        # It is read back from Redis: what this pass wrote about it (its end, a mark of the
        # same read) must be there first, or the stale records would be written over it.
        s = self.session
        await s.flush()
        dag_id, run_id = parse_run_ref(ref)
        fields = await typed.hgetall(s.client, s.keys.run(dag_id, run_id))
        if not fields:
            return None
        if fields.get("state") == "queued" and self._held(ref, fields):
            # triggered for later and not started: it stays queued until its time, as in
            # Airflow (a queued run has no instances for a clear or mark to change)
            return None
        self.registry.held_until.pop(ref, None)
        # a new generation: its end gets a DAG callback job of its own (callback_jobs.py)
        async with s.client.pipeline(transaction=True) as pipe:
            pipe.hset(s.keys.run(dag_id, run_id), "state", "running")
            pipe.hincrby(s.keys.run(dag_id, run_id), RUN_GENERATION, 1)
            await pipe.execute()
        return await self.activate(ref, reopening=True)
