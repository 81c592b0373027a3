"""The records the coordinator reads back from Redis, decoded so that a bad one is logged and
skipped (see queue/protocol's decoded_or_none) instead of stopping the coordinator."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from airlane.engine.graph import DagGraph
from airlane.engine.run_state import TIKey, TIRecord
from airlane.queue.codec import TIMeta, decode_ti, loads
from airlane.queue.protocol import decoded_or_none, parse_ti_key

log = logging.getLogger("airlane.coordinator")


def decode_dag(raw: str) -> tuple[dict[str, Any], DagGraph]:
    dag = loads(raw)
    return dag, DagGraph.from_serialized(dag)


@dataclass(frozen=True, slots=True)
class PoolRecord:
    """What the coordinator reads of a pool: its size (-1: unlimited) and whether its deferred
    instances hold their slots while they wait (Airflow's ``Pool.include_deferred``)."""

    slots: int
    include_deferred: bool = False


def decode_pool(raw: str) -> PoolRecord:
    found = loads(raw)
    return PoolRecord(int(found.get("slots", 0)), bool(found.get("include_deferred", False)))


def epoch_s(raw: str | None, default: float) -> float:
    found = decoded_or_none(float, raw, "epoch seconds", log) if raw else None
    return default if found is None else found


def decode_tis(
    raw_tis: dict[str, str], graph: DagGraph, ref: str
) -> tuple[dict[TIKey, TIRecord], dict[TIKey, TIMeta]]:
    """A run's stored instances. One that cannot be read is logged and dropped; a task left
    with no instance at all starts over from state none (the state machine needs one)."""
    records: dict[TIKey, TIRecord] = {}
    metas: dict[TIKey, TIMeta] = {}
    for field_name, raw in raw_tis.items():
        parts = decoded_or_none(parse_ti_key, field_name, f"instance field of {ref}", log)
        decoded = decoded_or_none(decode_ti, raw, f"instance {field_name!r} of {ref}", log)
        if parts is None or decoded is None:
            continue
        if parts[0] not in graph.tasks:
            log.error(
                "skipping instance %r of %s: its DAG version has no such task", field_name, ref
            )
            continue
        key = TIKey(*parts)
        records[key], metas[key] = decoded
    if records:
        held = {key.task_id for key in records}
        for task_id, spec in graph.tasks.items():
            if task_id not in held:
                records[TIKey(task_id)] = TIRecord(max_tries=spec.retries)
    return records, metas
