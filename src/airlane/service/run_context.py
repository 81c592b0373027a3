"""One active DAG run inside the coordinator: its state machine, metadata and persistence."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from airlane.queue.codec import TIMeta, encode_ti
from airlane.queue.keys import Keys, run_ref, ti_field
from airlane.queue.messages import EVENTS_MAXLEN, STREAM_MAXLEN, TaskMessage
from airlane.queue.scripts import Batch
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.graph import DagGraph
from airlane.service.run_state import Step, TIKey
from airlane.service.state_machine import RunMachine

S = TaskInstanceState
_HELD = frozenset({S.QUEUED, S.RUNNING})


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
    #: when tries ended on their workers, waiting to be written with their transition
    ended_at: dict[TIKey, float] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return run_ref(self.dag_id, self.run_id)

    def message(self, key: TIKey, now_s: float) -> TaskMessage:
        record = self.machine.tis[key]
        return TaskMessage(
            dag_id=self.dag_id,
            run_id=self.run_id,
            task_id=key.task_id,
            map_index=key.map_index,
            try_number=record.try_number,
            max_tries=record.max_tries,
            fileloc=self.dag["fileloc"],
            logical_date=self.fields["logical_date"],
            data_interval_start=self.fields["data_interval_start"],
            data_interval_end=self.fields["data_interval_end"],
            run_type=self.fields.get("run_type", "manual"),
            conf=self.fields.get("conf", "{}"),
            queued_at=now_s,
            reschedule_started_at_s=record.reschedule_started_at_s,
        )


class Persister:
    """Turns state machine steps into writes on a batch, plus run events."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys

    def event(self, batch: Batch, kind: str, **fields: str) -> None:
        batch.xadd(self.keys.events, EVENTS_MAXLEN, {"kind": kind, **fields})

    def write_ti(self, batch: Batch, ctx: RunContext, key: TIKey) -> None:
        record = ctx.machine.tis[key]
        meta = ctx.meta.get(key, TIMeta())
        batch.hset(
            self.keys.tis(ctx.dag_id, ctx.run_id),
            ti_field(key.task_id, key.map_index),
            encode_ti(record, meta),
        )

    def write_step(self, batch: Batch, ctx: RunContext, step: Step, now_s: float) -> None:
        tis_key = self.keys.tis(ctx.dag_id, ctx.run_id)
        for transition in step.transitions:
            key = transition.key
            field_name = ti_field(key.task_id, key.map_index)
            if transition.record is None:
                batch.hdel(tis_key, field_name)
                ctx.meta.pop(key, None)
                continue
            state = transition.record.state
            meta = ctx.meta.get(key, TIMeta())
            if state in (
                S.SUCCESS,
                S.FAILED,
                S.SKIPPED,
                S.UPSTREAM_FAILED,
                S.UP_FOR_RETRY,
                S.UP_FOR_RESCHEDULE,
            ):
                meta = replace(meta, end_date=ctx.ended_at.pop(key, now_s))
            elif state is S.NONE:
                meta = TIMeta()
            ctx.meta[key] = meta
            batch.hset(tis_key, field_name, encode_ti(transition.record, meta))
            self.event(
                batch,
                "ti",
                run=ctx.ref,
                ti=field_name,
                state=state.value,
                try_number=str(transition.record.try_number),
            )

    def enqueue(self, batch: Batch, ctx: RunContext, key: TIKey, queue: str, now_s: float) -> None:
        ctx.meta[key] = TIMeta(queued_at=now_s)
        self.write_ti(batch, ctx, key)
        batch.xadd(self.keys.queue(queue), STREAM_MAXLEN, ctx.message(key, now_s).to_fields())
        self.event(
            batch,
            "ti",
            run=ctx.ref,
            ti=ti_field(key.task_id, key.map_index),
            state="queued",
            try_number=str(ctx.machine.tis[key].try_number),
        )

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
            batch.hset(run_key, "end_date", repr(now_s))
            batch.srem(self.keys.active_runs, ctx.ref)
        self.event(batch, "run", run=ctx.ref, state=state.value)
