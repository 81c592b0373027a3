"""JSON forms of what travels through Redis: task-instance records, outcomes, messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from airlane.engine.run_state import TaskOutcome, TIRecord
from airlane.sdk.state import TaskInstanceState


def _tuple(value: Any) -> tuple[str, ...] | None:
    # Lua's cjson turns an empty JSON array into {}: read both as empty.
    if value is None:
        return None
    return tuple(value) if isinstance(value, list) else ()


def _lengths(value: Any) -> tuple[tuple[str, int], ...]:
    if not value:
        return ()
    return tuple(sorted((str(k), int(v)) for k, v in value.items()))


@dataclass(frozen=True, slots=True)
class TIMeta:
    """What the coordinator records beside the state machine's record, for people and the API."""

    queued_at: float | None = None
    start_date: float | None = None
    end_date: float | None = None
    worker: str | None = None


def encode_ti(record: TIRecord, meta: TIMeta) -> str:
    # (orjson writes a str enum as its value and a tuple as an array: nothing converted here)
    data = {
        "state": record.state,
        "try_number": record.try_number,
        "max_tries": record.max_tries,
        "next_at_s": record.next_at_s,
        "reschedule_started_at_s": record.reschedule_started_at_s,
        "follow": record.follow,
        "short_circuit": record.short_circuit,
        "cascade_skip": record.cascade_skip,
        "xcom_lengths": dict(record.xcom_lengths) if record.xcom_lengths else {},
        "note": record.note,
        "rendered_map_index": record.rendered_map_index,
        "queued_at": meta.queued_at,
        "start_date": meta.start_date,
        "end_date": meta.end_date,
        "worker": meta.worker,
    }
    if record.resumed:  # absent unless set: a resumed try not started yet
        data["resumed"] = True
    return orjson.dumps(data).decode()


def decode_ti(raw: str | bytes) -> tuple[TIRecord, TIMeta]:
    data = orjson.loads(raw)
    record = TIRecord(
        state=TaskInstanceState(data["state"]),
        try_number=int(data["try_number"]),
        max_tries=int(data["max_tries"]),
        next_at_s=data.get("next_at_s"),
        reschedule_started_at_s=data.get("reschedule_started_at_s"),
        follow=_tuple(data.get("follow")),
        short_circuit=data.get("short_circuit"),
        cascade_skip=bool(data.get("cascade_skip")),
        xcom_lengths=_lengths(data.get("xcom_lengths")),
        note=data.get("note"),
        rendered_map_index=data.get("rendered_map_index"),
        resumed=bool(data.get("resumed")),
    )
    meta = TIMeta(
        data.get("queued_at"), data.get("start_date"), data.get("end_date"), data.get("worker")
    )
    return record, meta


def encode_outcome(
    outcome: TaskOutcome, ended_at_s: float | None = None, with_deferral: bool = True
) -> str:
    """``ended_at_s``: in place of the outcome's (a worker stamps a try's end so, without a
    copy of the outcome); ``with_deferral`` False: without its deferral."""
    data = {
        "state": outcome.state.value,
        "try_number": outcome.try_number,
        "retryable": outcome.retryable,
        "error": outcome.error,
        "follow": list(outcome.follow) if outcome.follow is not None else None,
        "short_circuit": outcome.short_circuit,
        "reschedule_at_s": outcome.reschedule_at_s,
        "started_at_s": outcome.started_at_s,
        "xcom_lengths": dict(outcome.xcom_lengths),
        "ended_at_s": outcome.ended_at_s if ended_at_s is None else ended_at_s,
        "rendered_map_index": outcome.rendered_map_index,
    }
    # a deferred try's trigger (absent from other outcomes)
    if with_deferral and outcome.deferral is not None:
        data["deferral"] = outcome.deferral
    if outcome.asset_events is not None:  # a success's asset events (absent from the others)
        data["asset_events"] = outcome.asset_events
    if outcome.retry_delay_s is not None:  # a retry policy's delay (absent otherwise)
        data["retry_delay_s"] = outcome.retry_delay_s
    return orjson.dumps(data).decode()


#: each state by its text (looked up in C; TaskInstanceState(text) is a Python-level call)
_STATES = {state.value: state for state in TaskInstanceState}


def decode_outcome(raw: str | bytes) -> TaskOutcome:
    # (the coordinator decodes one per try: positional arguments, no call for absent values)
    data = orjson.loads(raw)
    get = data.get
    text = data["state"]
    state = _STATES.get(text) if isinstance(text, str) else None
    follow = get("follow")
    lengths = get("xcom_lengths")
    return TaskOutcome(
        TaskInstanceState(text) if state is None else state,
        int(data["try_number"]),
        bool(get("retryable", True)),
        get("error"),
        None if follow is None else _tuple(follow),
        get("short_circuit"),
        get("reschedule_at_s"),
        get("started_at_s"),
        _lengths(lengths) if lengths else (),
        get("ended_at_s"),
        get("rendered_map_index"),
        get("deferral"),
        get("asset_events"),
        get("retry_delay_s"),
    )


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()


def loads(raw: str | bytes) -> Any:
    return orjson.loads(raw)
