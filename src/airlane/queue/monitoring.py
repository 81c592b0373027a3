"""What the workers and task queues look like now: read from Redis for the API and metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from airlane.queue import typed
from airlane.queue.codec import loads
from airlane.queue.keys import WORKER_GROUP
from airlane.queue.protocol import ClaimRef, MalformedRecord, decoded_or_none
from airlane.queue.store import Store

log = logging.getLogger("airlane.monitoring")

#: a worker whose heartbeat is older than this is not counted as alive
WORKER_STALE_S = 30.0


@dataclass(frozen=True, slots=True)
class RunningTry:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    worker_id: str
    hostname: str
    pid: int | None
    queues: tuple[str, ...]
    concurrency: int
    running: tuple[RunningTry, ...]
    heartbeat_at_s: float
    alive: bool


@dataclass(frozen=True, slots=True)
class QueueStats:
    name: str
    #: delivered to a worker and not acknowledged yet
    pending: int
    #: not delivered to any worker yet
    waiting: int
    oldest_age_s: float

    @property
    def depth(self) -> int:
        return self.pending + self.waiting


def parse_running(ref: str) -> RunningTry | None:
    """A worker's claim reference (see :class:`ClaimRef`), or None when malformed."""
    try:
        claim = ClaimRef.decode(ref)
    except MalformedRecord:
        return None
    return RunningTry(claim.dag_id, claim.run_id, claim.task_id, claim.map_index, claim.try_number)


def worker_info(raw: str, now_s: float, stale_s: float = WORKER_STALE_S) -> WorkerInfo:
    data = loads(raw)
    beat = float(data.get("heartbeat_at") or 0)
    running = (parse_running(ref) for ref in data.get("running", []))
    return WorkerInfo(
        worker_id=str(data.get("worker_id", "")),
        hostname=str(data.get("hostname", "")),
        pid=data.get("pid"),
        queues=tuple(data.get("queues", [])),
        concurrency=int(data.get("concurrency") or 0),
        running=tuple(r for r in running if r is not None),
        heartbeat_at_s=beat,
        alive=now_s - beat <= stale_s,
    )


async def workers(store: Store, now_s: float) -> list[WorkerInfo]:
    """Every registered worker, alive or not, by id."""
    raw = await typed.hgetall(store.client, store.keys.workers)
    found = (
        decoded_or_none(lambda r: worker_info(r, now_s), raw[worker_id], "worker record", log)
        for worker_id in sorted(raw)
    )
    return [info for info in found if info is not None]


def queue_names(found: list[WorkerInfo]) -> set[str]:
    return {"default"} | {name for worker in found for name in worker.queues}


async def queue_stats(store: Store, name: str, now_s: float) -> QueueStats:
    key = store.keys.queue(name)
    groups = [g for g in await _groups(store, key) if g.get("name") == WORKER_GROUP]
    if not groups:
        return QueueStats(name, 0, 0, 0.0)
    group = groups[0]
    pending, waiting = int(group.get("pending") or 0), int(group.get("lag") or 0)
    oldest: list[str] = []
    if pending:
        summary = await store.client.xpending(key, WORKER_GROUP)
        if summary and summary.get("min"):
            oldest.append(str(summary["min"]))
    if waiting:
        after = await store.client.xrange(key, f"({group.get('last-delivered-id')}", "+", count=1)
        if after:
            oldest.append(str(after[0][0]))
    millis = min((int(i.split("-")[0]) for i in oldest), default=None)
    age_s = 0.0 if millis is None else max(0.0, now_s - millis / 1000)
    return QueueStats(name, pending, waiting, age_s)


async def _groups(store: Store, key: str) -> list[dict[str, Any]]:
    try:
        found = await store.client.xinfo_groups(key)
    except Exception:  # no such stream yet
        return []
    return list(found)
