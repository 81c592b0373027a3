"""A deferred task instance's ``trigger`` and ``triggerer_job`` (Airflow's TriggerResponse and
JobResponse), filled in the task instance responses the API returns.

Airflow's ids are database integers; Airlane's trigger keys and triggerer ids are strings, so
the ids here are stable numbers derived from them (the first 60 bits of their SHA-256).
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from typing import Any

from airlane.api.shapes import iso
from airlane.queue import trigger_monitoring
from airlane.queue.store import Store
from airlane.queue.trigger_monitoring import DeferredTrigger, TriggererInfo
from airlane.service.execution.trigger_kwargs import TriggerKwargsUnreadable, unseal


def numeric_id(text: str) -> int:
    """A stable positive integer for a string id (fits a signed 64-bit column)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:15], 16)


def trigger_response(found: DeferredTrigger, created_date: str | None) -> dict[str, Any]:
    holder = found.triggerer
    return {
        "id": numeric_id(found.key),
        "classpath": found.classpath,
        "kwargs": _readable(found.kwargs_json),
        "created_date": created_date or iso(time.time()),
        "triggerer_id": numeric_id(holder.triggerer_id) if holder else None,
    }


def _readable(stored: str) -> str:
    """The kwargs as Airflow's API shows them (decrypted); still encrypted when this process
    has no key to read them."""
    try:
        return unseal(stored)
    except TriggerKwargsUnreadable:
        return stored


def triggerer_job_response(info: TriggererInfo) -> dict[str, Any]:
    return {
        "id": numeric_id(info.triggerer_id),
        "dag_id": None,
        "state": "running" if info.alive else "failed",
        "job_type": "TriggererJob",
        "start_date": None,
        "end_date": None,
        "latest_heartbeat": iso(info.heartbeat_at_s),
        "executor_class": None,
        "hostname": info.triggerer_id,
        "unixname": None,
        "dag_display_name": None,
    }


async def add_triggers(store: Store, items: list[dict[str, Any]]) -> None:
    """Fill ``trigger`` and ``triggerer_job`` of the deferred instances among ``items``."""
    by_run: defaultdict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        if item.get("state") == "deferred":
            by_run[(item["dag_id"], item["dag_run_id"])].append(item)
    now_s = time.time()
    for (dag_id, run_id), deferred in by_run.items():
        keys = [(item["task_id"], int(item["map_index"])) for item in deferred]
        found = await trigger_monitoring.deferred_triggers(store, dag_id, run_id, keys, now_s)
        for item, key in zip(deferred, keys, strict=True):
            one = found.get(key)
            if one is None:
                continue
            created = item.get("end_date") or item.get("start_date")
            item["trigger"] = trigger_response(one, created)
            if one.triggerer is not None:
                item["triggerer_job"] = triggerer_job_response(one.triggerer)
