"""One active DAG run inside the coordinator: its state machine, metadata and persistence."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import InitVar, dataclass, field
from itertools import repeat
from typing import Any

import orjson

from airlane.engine.dag_spec import DagSpec
from airlane.engine.graph import DagGraph
from airlane.engine.run_state import Step, TIKey, TIRecord
from airlane.engine.state_machine import RunMachine
from airlane.queue.codec import TIMeta, encode_ti
from airlane.queue.events_protocol import (
    RunEvent,
    RunEventMessage,
    ti_event_entry,
    ti_event_parts,
)
from airlane.queue.keys import Keys, run_ref, ti_field, try_field
from airlane.queue.messages import EVENTS_MAXLEN, STREAM_MAXLEN, TaskMessage
from airlane.queue.scripts import Batch
from airlane.queue.scripts.apply import shared_entry, shared_fields
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.metrics import MetricDeltas

S = TaskInstanceState
#: states that end a try: the record gets the try's end date
_ENDS_TRY = frozenset(
    {S.SUCCESS, S.FAILED, S.SKIPPED, S.UPSTREAM_FAILED, S.UP_FOR_RETRY, S.UP_FOR_RESCHEDULE}
)


def _execution_start(ctx: RunContext, key: TIKey, try_number: int, meta: TIMeta) -> float | None:
    """The start date of the try a transition ends or defers: when it began to execute, as
    its outcome said (``RunContext.started_at``), else what ``meta`` holds (its claim, or the
    first run's start of a try resumed from deferral)."""
    started = ctx.started_at.pop(key, None)
    if started is not None and started[0] == try_number:
        return started[1]
    return meta.start_date


_NO_META = TIMeta()
_EVENTS_MAXLEN = str(EVENTS_MAXLEN)
#: each state's text (an enum's ``value`` is a Python-level property: read once per transition)
_TEXT = {state: state.value for state in S}


@dataclass
class RunContext:
    """What the coordinator holds for a run it drives."""

    dag_id: str
    run_id: str
    dag: dict[str, Any]
    graph: DagGraph
    machine: RunMachine
    fields: dict[str, str]
    meta: dict[TIKey, TIMeta] = field(default_factory=dict)
    state: DagRunState = DagRunState.RUNNING
    deadline_s: float | None = None
    #: the run ends because it passed its dagrun_timeout (its DAG callback's reason)
    timed_out: bool = False
    #: the run's own state was set by hand (the API's PATCH of a run): as in Airflow, its end
    #: fires no DAG callback (held in memory: a coordinator restarted before the end forgets it)
    marked_whole: bool = False
    #: the state a run marked by hand ends in during that mark's step (Airflow sets the run's
    #: state whatever its instances' states say)
    forced_end: DagRunState | None = None
    #: when tries ended on their workers, waiting to be written with their transition
    ended_at: dict[TIKey, float] = field(default_factory=dict)
    #: (try number, when it began to execute in its task process) of tries that ended or
    #: deferred, waiting to become their start date with their transition
    started_at: dict[TIKey, tuple[int, float]] = field(default_factory=dict)
    #: the typed DAG-level settings of ``dag``
    spec: DagSpec = field(init=False, repr=False)
    #: the run's ref (``keys.run_ref``), which keys the coordinator's maps: read on every
    #: transition, so computed once
    ref: str = field(init=False, repr=False, compare=False)
    #: the last task message's values after the instance's, and their JSON (message_entry)
    _message_rest: tuple[object, ...] = field(default=(), init=False, repr=False, compare=False)
    _message_tail: str = field(default="", init=False, repr=False, compare=False)
    _message_head: str = field(default="", init=False, repr=False, compare=False)
    #: ``dag``'s spec when the caller holds it already (shared by the runs of a DAG version)
    shared_spec: InitVar[DagSpec | None] = None

    def __post_init__(self, shared_spec: DagSpec | None) -> None:
        self.spec = shared_spec if shared_spec is not None else DagSpec.from_serialized(self.dag)
        self.ref = run_ref(self.dag_id, self.run_id)

    def message(self, key: TIKey, now_s: float) -> TaskMessage:
        record = self.machine.tis[key]
        return TaskMessage(
            dag_id=self.dag_id,
            run_id=self.run_id,
            task_id=key.task_id,
            map_index=key.map_index,
            try_number=record.try_number,
            max_tries=record.max_tries,
            fileloc=self.spec.fileloc,
            logical_date=self.fields["logical_date"],
            data_interval_start=self.fields["data_interval_start"],
            data_interval_end=self.fields["data_interval_end"],
            run_type=self.fields.get("run_type", "manual"),
            run_queued_at=self.fields.get("queued_at", ""),
            queued_at=now_s,
            reschedule_started_at_s=record.reschedule_started_at_s,
            resumed=record.resumed,
        )

    def message_fields(self, key: TIKey, now_s: float) -> dict[str, str]:
        """``self.message(key, now_s).to_fields()``, the same entry, without building the
        message first (the coordinator enqueues one per try)."""
        return dict(zip(*[iter(self.message_entry(key, now_s))] * 2, strict=True))

    def message_entry(self, key: TIKey, now_s: float) -> list[str]:
        """:meth:`message_fields` as the flat stream entry ``[name, value]``: a SharedEntry,
        whose JSON array is cut where the run's values end and the instance's begin (and the
        other way round), so that the messages of one pass share their head and tail."""
        record = self.machine.tis[key]
        fields = self.fields
        rest = (
            self.spec.fileloc,
            fields["logical_date"],
            fields["data_interval_start"],
            fields["data_interval_end"],
            fields.get("run_type", "manual"),
            fields.get("queued_at", ""),
            now_s,
            record.reschedule_started_at_s,
            record.resumed,
        )
        if rest != self._message_rest:
            self._message_rest = rest
            self._message_tail = "," + orjson.dumps(rest).decode()[1:]
        if not self._message_head:
            self._message_head = orjson.dumps((self.dag_id, self.run_id)).decode()[:-1] + ","
        own = (key.task_id, key.map_index, record.try_number, record.max_tries)
        return shared_entry(
            "m", self._message_head, orjson.dumps(own).decode()[1:-1], self._message_tail
        )


class Persister:
    """Turns state machine steps into writes on a batch, plus run events.

    A task instance's record is written once per batch, in its latest state: an instance that
    is queued, started and finished between two flushes costs one write, not three. Those
    writes go ahead of everything else in the batch (see ``write_records``), so a task
    message never reaches Redis before the record that makes it claimable. A batch written in
    several calls (``write_chunks``) keeps each queued instance's record, task message and
    event in one call: a coordinator stopped between two calls leaves no queued record
    without its message (the instances of the calls not made are rebuilt as they were).
    """

    def __init__(self, keys: Keys) -> None:
        #: task messages written so far (the coordinator tells a pass that queued nothing)
        self.enqueued = 0
        self.keys = keys
        self.dirty: dict[tuple[str, TIKey], RunContext] = {}
        #: where in the current batch each instance's state event is: an instance that changes
        #: again before the batch is written gets its one event updated, in the same place
        self._ti_events: dict[tuple[str, str], int] = {}
        #: where in the current batch each instance queued in it has its task message (its
        #: event follows it: see _queued_event)
        self._messages: dict[tuple[str, TIKey], int] = {}
        self.metrics = MetricDeltas()
        #: the meta of the instances queued at the same time (immutable: one shared by them)
        self._queued_meta = TIMeta(queued_at=0.0)

    def reset(self) -> None:
        self.dirty.clear()
        self._ti_events.clear()
        self._messages.clear()
        self.metrics.take()

    def event(self, batch: Batch, event: RunEventMessage) -> None:
        batch.xadd(self.keys.events, EVENTS_MAXLEN, event.to_fields())

    def ti_event(
        self,
        batch: Batch,
        ctx: RunContext,
        field_name: str,
        state: TaskInstanceState,
        try_number: int,
        worker: str | None = None,
    ) -> None:
        """The instance's state event (a TIEvent's fields), one per instance and batch."""
        ref = ctx.ref
        entry = ti_event_entry(ref, field_name, state, try_number, worker or "")
        at = self._ti_events.get((ref, field_name))
        ops = batch.ops  # (batch.xadd_entry and replace_xadd_entry, inline: one per transition)
        if at is None:
            self._ti_events[(ref, field_name)] = len(ops)
            ops.append(["X", self.keys.events, _EVENTS_MAXLEN, entry])
        else:
            ops[at][3] = entry

    def write_ti(self, ctx: RunContext, key: TIKey) -> None:
        self.dirty[(ctx.ref, key)] = ctx

    def write_tis(self, ctx: RunContext, keys: Iterable[TIKey]) -> None:
        """:meth:`write_ti` for each of ``keys``."""
        ref = ctx.ref
        self.dirty.update(zip(zip(repeat(ref), keys), repeat(ctx)))  # (in C, per instance)

    def write_records(self, batch: Batch) -> Batch:
        """A batch of the pending record writes followed by ``batch``'s operations (and the
        metrics that changed, at the end)."""
        whole = Batch()
        for chunk in self.write_chunks(batch, len(batch) + 1):
            whole.extend(chunk)
        return whole

    def write_chunks(self, batch: Batch, size: int) -> Iterator[Batch]:
        """``write_records``, in one call when ``batch`` has at most ``size`` operations, else
        in calls of about ``size`` (Batch.calls): each queued instance's record goes in the
        call of its task message and event, the other records in the first call. A
        coordinator stopped between two calls leaves the acknowledgements (in the last) not
        made and the instances of the calls not made as they were, to be queued again. Each
        call's records are encoded as it is taken."""
        values, gauges = self.metrics.take()
        for name, increment in values.items():
            batch.hincrbyfloat(self.keys.metrics, name, increment)
        for name, value in gauges.items():
            batch.hset(self.keys.metrics, name, repr(value))
        messages, dirty = self._messages, self.dirty
        self._ti_events, self._messages, self.dirty = {}, {}, {}
        if len(batch) <= size:
            written = self._records(list(dirty.items()))
            written.extend(batch)
            yield written
            return
        positions = sorted(messages.values())
        per_call = max(1, size // 2)  # (a message and an event each)
        calls = batch.calls(positions, per_call)
        rank = {at: number for number, at in enumerate(positions)}
        records: list[list[tuple[tuple[str, TIKey], RunContext]]] = [[] for _ in calls]
        for item, ctx in dirty.items():
            at = messages.get(item)
            records[0 if at is None else rank[at] // per_call].append((item, ctx))
        for call, items in zip(calls, records, strict=True):
            written = self._records(items)
            written.extend(call)
            yield written

    def _records(self, items: list[tuple[tuple[str, TIKey], RunContext]]) -> Batch:
        records = Batch()
        # the records of a run go in one HSET of many fields (Batch.hset_many), not one each
        by_run: dict[str, list[str]] = {}
        # the last record encoded: a run's new instances have equal records, encoded once
        last: tuple[TIRecord | None, TIMeta | None, str] = (None, None, "")
        for (ref, key), ctx in items:
            field_name = ti_field(key.task_id, key.map_index)
            record = ctx.machine.tis.get(key)
            if record is None:
                records.hdel(self.keys.tis(ctx.dag_id, ctx.run_id), field_name)
                continue
            pairs = by_run.get(ref)
            if pairs is None:
                pairs = by_run[ref] = [self.keys.tis(ctx.dag_id, ctx.run_id)]
            meta = ctx.meta.get(key, _NO_META)
            if meta is not last[1] or record != last[0]:
                last = (record, meta, encode_ti(record, meta))
            pairs += (field_name, last[2])
        for tis_key, *pairs in by_run.values():
            records.hset_many(tis_key, pairs)
        return records

    def write_step(self, batch: Batch, ctx: RunContext, step: Step, now_s: float) -> None:
        ref, dirty, metas = ctx.ref, self.dirty, ctx.meta
        for transition in step.transitions:
            key = transition.key
            dirty[(ref, key)] = ctx
            if transition.record is None:
                metas.pop(key, None)
                continue
            state = transition.record.state
            if state is S.SCHEDULED:  # (the most frequent: a new run's instances; no set lookup)
                field_name = ti_field(key.task_id, key.map_index)
                self.ti_event(batch, ctx, field_name, state, transition.record.try_number)
                continue
            if state in _ENDS_TRY:
                self.metrics.ti_finished(_TEXT[state])
                meta = metas.get(key, _NO_META)
                end_date = ctx.ended_at.pop(key, now_s)
                start = _execution_start(ctx, key, transition.record.try_number, meta)
                if start is not None:
                    start = min(start, end_date)  # (clocks of two machines)
                metas[key] = TIMeta(meta.queued_at, start, end_date, meta.worker)
                if state is S.UP_FOR_RETRY:  # this try is over and another will follow
                    self._remember_try(batch, ctx, key, state.value, transition.record)
            elif state is S.DEFERRED:
                meta = metas.get(key, _NO_META)
                start = _execution_start(ctx, key, transition.record.try_number, meta)
                metas[key] = TIMeta(meta.queued_at, start, meta.end_date, meta.worker)
            elif state is S.NONE:
                ctx.started_at.pop(key, None)
                if transition.old is not None and transition.old is not S.NONE and key in ctx.meta:
                    # Cleared: keep how the try it replaces ended.
                    self._remember_try(batch, ctx, key, transition.old.value, transition.record)
                ctx.meta[key] = TIMeta()
            field_name = ti_field(key.task_id, key.map_index)
            self.ti_event(batch, ctx, field_name, state, transition.record.try_number)

    def _remember_try(
        self, batch: Batch, ctx: RunContext, key: TIKey, state: str, record: TIRecord
    ) -> None:
        """One ended try in the run's try history (what the API's ``tries`` lists)."""
        if record.try_number < 1:
            return
        meta = ctx.meta.get(key, TIMeta())
        batch.hset(
            self.keys.tries(ctx.dag_id, ctx.run_id),
            try_field(key.task_id, key.map_index, record.try_number),
            orjson.dumps(
                {
                    "state": state,
                    "try_number": record.try_number,
                    "max_tries": record.max_tries,
                    "queued_at": meta.queued_at,
                    "start_date": meta.start_date,
                    "end_date": meta.end_date,
                    "worker": meta.worker,
                    "note": record.note,
                }
            ).decode(),
        )

    def enqueue(self, batch: Batch, ctx: RunContext, key: TIKey, queue: str, now_s: float) -> None:
        self.enqueue_many(batch, ctx, [key], queue, now_s)

    def enqueue_many(
        self, batch: Batch, ctx: RunContext, keys: list[TIKey], queue: str, now_s: float
    ) -> None:
        """:meth:`enqueue` of each of ``keys`` (instances of one run going to one queue), in
        order: the same operations, without a chain of calls per instance."""
        if self._queued_meta.queued_at != now_s:
            self._queued_meta = TIMeta(queued_at=now_s)
        meta, ref, tis = self._queued_meta, ctx.ref, ctx.machine.tis
        self.enqueued += len(keys)
        # a try resumed from deferral keeps its first run's start (Airflow's ti_run)
        kept = [(k, m.start_date) for k in keys if tis[k].resumed and (m := ctx.meta.get(k))]
        ctx.meta.update(zip(keys, repeat(meta)))  # (in C, per instance)
        for key, start in kept:
            ctx.meta[key] = TIMeta(now_s, start)
        self.dirty.update(zip(zip(repeat(ref), keys), repeat(ctx)))
        queue_op = ["X", self.keys.queue(queue), str(STREAM_MAXLEN)]
        event_op = ["X", self.keys.events, str(EVENTS_MAXLEN)]
        ops, ti_events, messages = batch.ops, self._ti_events, self._messages
        message_entry = ctx.message_entry
        parts: dict[int, tuple[list[str], list[str]]] = {}  # by try number
        for key in keys:
            messages[(ref, key)] = len(ops)
            ops.append([*queue_op, message_entry(key, now_s)])
            # the instance's event follows its message (its earlier one in the batch, if
            # any, is dropped): the two, and its record, go in the same call (write_chunks)
            field_name = ti_field(key.task_id, key.map_index)
            at = ti_events.get((ref, field_name))
            if at is not None:
                batch.drop(at)
            ti_events[(ref, field_name)] = len(ops)
            try_number = tis[key].try_number
            shared = parts.get(try_number)
            if shared is None:
                shared = parts[try_number] = ti_event_parts(ref, S.QUEUED, try_number)
            ops.append([*event_op, shared_fields(shared[0], field_name, shared[1])])

    def write_run_state(
        self, batch: Batch, ctx: RunContext, state: DagRunState, now_s: float
    ) -> None:
        run_key = self.keys.run(ctx.dag_id, ctx.run_id)
        ctx.state = state
        ctx.fields["state"] = state.value
        batch.hset(run_key, "state", state.value)
        if state is DagRunState.RUNNING:
            batch.hset(run_key, "start_date", repr(now_s))
            batch.hset(run_key, "end_date", "")
            batch.sadd(self.keys.active_runs, ctx.ref)
        elif state in (DagRunState.SUCCESS, DagRunState.FAILED):
            self.metrics.run_finished(state.value)
            batch.hset(run_key, "end_date", repr(now_s))
            batch.srem(self.keys.active_runs, ctx.ref)
        self.event(batch, RunEvent(ctx.dag_id, ctx.run_id, state))
