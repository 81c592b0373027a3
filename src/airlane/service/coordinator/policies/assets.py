"""Asset-triggered runs: a successful try's asset events are recorded and the consumers they
make ready get their run, in the pass that reads the try's end (no polling).

- ``finished``: a try ended in success; its events (the completion's, or else the task's
  declared outlets) wait for the pass's ``after_read``.
- ``after_read``: the events, the consumers they queue and the runs they make ready go in one
  Lua step planned from what this policy holds (queue/asset_step.py: once per try); the runs
  start at once, their first tasks go out with this pass's writes. What that step cannot take
  (aliases, conditions that need other assets, Redis not as planned) gets the full path: the
  events recorded (queue/assets.py) and every queue looked at (queue/asset_runs.py: each run
  and the removal of its queue in one Lua step). A restarted coordinator looks at every queue
  once: what a crash left between the two steps of the full path makes its run then, and only
  once.
- A DAG version that arrives registers what it declares (queue/asset_registry.py).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, cast

import orjson

from airlane.engine.run_state import TIKey
from airlane.queue import asset_step, assets, typed
from airlane.queue.asset_records import (
    AssetRecord,
    AssetRef,
    DagAssets,
    EmittedEvent,
    EventSource,
)
from airlane.queue.asset_registry import alias_targets, has_assets
from airlane.queue.asset_runs import create_ready_runs
from airlane.queue.asset_step import Taken
from airlane.queue.protocol import TryFinished
from airlane.queue.scripts import Scripts
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.coordinator.admission import runs_going
from airlane.service.coordinator.hooks import Policy
from airlane.service.run_context import RunContext

if TYPE_CHECKING:
    from airlane.service.coordinator.session import Session

log = logging.getLogger("airlane.coordinator")
_Pending = tuple[EventSource, list[EmittedEvent]]


class AssetTriggers(Policy):
    def __init__(self, session: Session) -> None:
        self.session = session
        self.scripts = Scripts.register(session.client, session.keys)
        self.deps: dict[str, DagAssets] = {}
        self.loaded = False
        self.pending: list[_Pending] = []
        #: queues to look at in the next after_read (the full look)
        self.dirty = True
        #: asset name -> its record and stored JSON (None: to read)
        self.records: dict[str, tuple[AssetRecord, str]] | None = None
        #: consumer dag_id -> run_after of its latest asset-triggered run (None: to read)
        self.previous: dict[str, str] | None = None
        #: the consumers of each asset, from ``deps`` (None: to index)
        self.consumers: asset_step.Consumers | None = None

    # ---- from the completion path (sync) ---------------------------------------------------

    def finished(self, ctx: RunContext, key: TIKey, event: TryFinished) -> None:
        """A try ended: keep its events when it succeeded (this try, not a stale one)."""
        if event.outcome.state is not TaskInstanceState.SUCCESS:
            return
        record = ctx.machine.tis.get(key)
        if record is None or record.state is not TaskInstanceState.SUCCESS:
            return
        if record.try_number != event.try_number:
            return
        emitted = self._emitted(ctx.dag_id, key.task_id, event.outcome.asset_events)
        if emitted:
            source = EventSource(
                ctx.dag_id, ctx.run_id, key.task_id, key.map_index, event.try_number
            )
            self.pending.append((source, emitted))

    def _emitted(self, dag_id: str, task_id: str, raw: str | None) -> list[EmittedEvent]:
        if raw is not None:
            try:
                return [EmittedEvent.from_json(e) for e in orjson.loads(raw)]
            except (ValueError, KeyError, TypeError, AttributeError):
                log.error("unreadable asset events of %s.%s: %.200s", dag_id, task_id, raw)
                return []
        dag = self.deps.get(dag_id)
        names = dag.outlets.get(task_id, ()) if dag is not None else ()
        return [EmittedEvent(AssetRef(name, name)) for name in names]

    def run_ended(self, ctx: RunContext, state: DagRunState, now_s: float) -> None:
        dag = self.deps.get(ctx.dag_id)
        if dag is not None and dag.condition is not None:
            self.dirty = True  # a consumer held back by max_active_runs may start now

    # ---- async work, once per pass ------------------------------------------------------------

    async def load(self) -> None:
        """Register every current DAG's declarations (restart: queues are looked at next).
        DAGs that declare nothing about assets cost no write."""
        s = self.session
        stored = await assets.dag_assets(s.client, s.keys)
        inactive = await typed.smembers(s.client, s.keys.inactive)
        for dag_id, content_hash in (await typed.hgetall(s.client, s.keys.dags)).items():
            loaded = None if dag_id in inactive else await s.runs.graph(content_hash)
            if loaded is not None and (has_assets(loaded[0]) or dag_id in stored):
                await self._sync(dag_id, loaded[0])
            elif dag_id in stored:
                await assets.drop_dag(s.client, s.keys, dag_id)
        self.deps = await assets.dag_assets(s.client, s.keys)
        self.consumers = None
        self.loaded = True
        self.dirty = True

    async def dag_updated(self, dag_id: str) -> None:
        loaded = await self.session.runs.current_graph(dag_id)
        if loaded is not None and (has_assets(loaded[0]) or dag_id in self.deps):
            await self._sync(dag_id, loaded[0])

    async def _sync(self, dag_id: str, dag: dict[str, Any]) -> None:
        s = self.session
        deps = await assets.sync_dag(s.client, s.keys, dag_id, dag)
        if deps.outlets or deps.inlets or deps.outlet_aliases or deps.condition:
            self.deps[dag_id] = deps
        else:
            self.deps.pop(dag_id, None)
        self.records = None  # it may have registered assets
        self.consumers = None
        self.dirty = True

    async def after_read(self) -> None:
        await self.record_pending()

    async def periodic(self, now_s: float) -> None:
        # Queue rows another process left ready (the API or a watcher killed between its
        # events and their runs, or a create it lost to ours): Airflow's scheduler looks at
        # its queue every loop; a look every check interval finds them (none without a DAG
        # scheduled on assets: no Redis read a second for nothing).
        if any(deps.condition is not None for deps in self.deps.values()):
            self.dirty = True

    async def record_pending(self) -> None:
        """Record the events of the tries read so far and make the runs they make ready (the
        loop calls this before it acknowledges those tries' completions: one acknowledged is
        never read again, and a crash after it would lose its events and their runs)."""
        if not self.loaded:
            await self.load()
        if not self.pending and not self.dirty:
            return
        pending, self.pending = self.pending, []
        look = made = False
        for source, emitted in pending:
            taken = await self._step(source, emitted)
            look |= taken.look
            made |= bool(taken.made)
        # A full look owed from before waits for the next pass when this one made runs: their
        # first tasks go out first (wake_s brings that pass at once).
        if look or (self.dirty and not made):
            self.dirty = False
            await self._create_ready_runs()

    def wake_s(self) -> float | None:
        return time.time() if self.dirty and self.loaded else None

    async def _step(self, source: EventSource, emitted: list[EmittedEvent]) -> Taken:
        """A try's events and the runs they make ready in one round trip (queue/asset_step.py),
        or the full path when that one cannot take them."""
        s = self.session
        known = await self._known()
        planned = asset_step.plan(known, emitted, source)
        if planned is not None:
            taken = await asset_step.take(self.scripts, planned)
            if taken.done == 1:
                await self._start(taken)
                return taken
            if taken.done == 0:  # recorded before a restart: the full look makes its runs
                return Taken(0, look=True)
        if planned is not None or any(e.asset.name not in known.records for e in emitted):
            self.records = None  # an asset's record changed, or is new: read them again
        await assets.record_events(s.client, s.keys, emitted, source, self.scripts, False)
        return Taken(-1, look=True)

    async def _start(self, taken: Taken) -> None:
        """Start the runs the step made (the script found their DAGs unpaused; the plan, under
        max_active_runs)."""
        if taken.made:
            self.session.outbox.persister.metrics.asset_runs_created(len(taken.made))
        for run, content_hash in taken.made:
            run_after = run.run_hash.get("run_after")
            if self.previous is not None and run_after is not None:
                self.previous[run.run_hash["dag_id"]] = run_after
            known = {**run.run_hash, "dag_hash": content_hash}
            await self.session.runs.activate(run.ref, created=known, admitted=True)
        if taken.missed:
            self.previous = None  # Redis was not as planned: read it again

    async def _known(self) -> asset_step.Known:
        s = self.session
        if self.records is None:
            raw = await typed.hgetall(s.client, s.keys.assets)
            self.records = {n: (AssetRecord.from_json(orjson.loads(t)), t) for n, t in raw.items()}
        if self.previous is None:
            self.previous = await typed.hgetall(s.client, s.keys.asset_triggered)
        if self.consumers is None:
            self.consumers = asset_step.Consumers.of(self.deps)
        registry = s.state.runs
        return asset_step.Known(
            self.deps,
            self.consumers,
            self.records,
            self.previous,
            runs_going(registry.runs.values(), registry.queued_refs),
            await alias_targets(s.client, s.keys, self.consumers.by_alias),
        )

    async def _create_ready_runs(self) -> None:
        """The runs are made without a run_created command and started here at once (a
        crash before that leaves them in the active set, where a restart finds them)."""
        s = self.session
        registry = s.state.runs
        going = runs_going(registry.runs.values(), registry.queued_refs)
        made = await create_ready_runs(s.client, s.keys, self.scripts, self.deps, going, False)
        if not made:
            return
        s.outbox.persister.metrics.asset_runs_created(len(made))
        self.previous = None  # read again before the next step
        # each run's DAG version in one read (activation would read them one by one)
        dag_ids = [run.run_hash["dag_id"] for run in made]
        hashes = cast(list[str | None], await s.client.hmget(s.keys.dags, dag_ids))
        for run, content_hash in zip(made, hashes, strict=True):
            known = {**run.run_hash, "dag_hash": content_hash} if content_hash else run.run_hash
            await s.runs.activate(run.ref, created=known)
