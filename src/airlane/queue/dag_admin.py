"""A DAG's versions, and deleting a DAG's records (the API's ``dagVersions`` and DELETE dag).

A version is a serialized form the DAG processor stored for the DAG (``dag:<hash>``, which never
changes); ``dag_versions:<dag_id>`` lists them in the order they appeared, so a version's
number is its 1-based position there, as Airflow numbers a DAG's versions, unless ``db clean``
removed the oldest: the first one left then carries its number (``n``), and the next ones count
on from it.

``db clean`` removes versions created before its cutoff, as Airflow's cleans ``dag_version`` by
``created_at``, but never the DAG's current version (Airflow's would take its serialized DAG with
it) nor one a remaining run uses (Airflow's task_instance references it with ON DELETE
RESTRICT), nor any version after such a one (the list is trimmed from its oldest end).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from redis.exceptions import WatchError

from airlane.queue import typed
from airlane.queue.asset_retention import forget_dag_assets
from airlane.queue.codec import dumps, loads
from airlane.queue.keys import parse_run_ref
from airlane.queue.store import DagNotFound, Store


class DagActive(RuntimeError):
    """The DAG has a run the coordinator still works on: its records cannot go."""


@dataclass(frozen=True, slots=True)
class DagVersion:
    number: int
    content_hash: str
    created_at_s: float


async def dag_versions(store: Store, dag_id: str) -> list[DagVersion]:
    """The DAG's versions, oldest first (empty if it has none: no such DAG)."""
    raw = cast(list[str], await store.client.lrange(store.keys.dag_versions(dag_id), 0, -1))
    entries = [loads(item) for item in raw]
    versions = [
        DagVersion(number, str(entry["h"]), float(entry["at"]))
        for number, entry in zip(version_numbers(entries), entries, strict=True)
    ]
    if versions:
        return versions
    # A DAG stored before versions were listed: its current form is its first version.
    content_hash = await typed.hget(store.client, store.keys.dags, dag_id)
    if content_hash is None:
        return []
    dag = await store.snapshot(content_hash) or {}
    return [DagVersion(1, content_hash, float(dag.get("parsed_at") or 0.0))]


def version_numbers(entries: Sequence[Mapping[str, Any]]) -> list[int]:
    """Each listed version's number: its ``n`` when it has one, else one past the previous."""
    numbers: list[int] = []
    for entry in entries:
        given = entry.get("n")
        numbers.append(int(given) if given is not None else (numbers[-1] if numbers else 0) + 1)
    return numbers


async def clean_versions(store: Store, dag_id: str, before_s: float, dry_run: bool) -> int:
    """``db clean`` of a DAG's versions (see the module's description); how many went (or would
    go). Gives up (0) when the DAG processor adds a version meanwhile."""
    key = store.keys.dag_versions(dag_id)
    async with store.client.pipeline(transaction=True) as pipe:
        try:
            await pipe.watch(key)
            entries = [loads(item) for item in cast(list[str], await pipe.lrange(key, 0, -1))]
            old = 0
            while old < len(entries) - 1 and float(entries[old]["at"]) < before_s:
                old += 1
            if old:
                used = await _hashes_in_use(store, dag_id)
                old = next((i for i in range(old) if entries[i]["h"] in used), old)
            if not old or dry_run:
                return old
            head = {**entries[old], "n": version_numbers(entries)[old]}
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.ltrim(key, old, -1)
            pipe.lset(key, 0, dumps(head))
            await pipe.execute()
        except WatchError:
            return 0
    return old


async def _hashes_in_use(store: Store, dag_id: str) -> set[str]:
    """The DAG's current version and those of its runs."""
    run_ids = await store.all_run_ids(dag_id)
    async with store.client.pipeline(transaction=False) as pipe:
        pipe.hget(store.keys.dags, dag_id)
        for run_id in run_ids:
            pipe.hget(store.keys.run(dag_id, run_id), "dag_hash")
        found = await pipe.execute()
    return {str(h) for h in found if h}


async def delete_dag(store: Store, dag_id: str) -> None:
    """Remove the DAG's runs (with all of theirs), its versions, pause flag, schedule, file's
    import errors, users' favourite marks and asset entries (declarations, queued events:
    queue/asset_retention.py), as Airflow's delete_dag removes a DAG's rows (asset events
    stay, as Airflow's). The DAG processor parses its file again, so a DAG whose file still
    defines it comes back, without history (Airflow's next parse does the same). Backfill
    records stay (the coordinator holds them)."""
    k = store.keys
    if not await store.client.hexists(k.dags, dag_id):
        raise DagNotFound(dag_id)
    if any(parse_run_ref(ref)[0] == dag_id for ref in await store.active_run_refs()):
        raise DagActive(dag_id)
    for run_id in await store.all_run_ids(dag_id):
        await store.delete_run(dag_id, run_id)
    filename = await typed.hget(store.client, k.dag_files, dag_id)
    users = await typed.smembers(store.client, k.favorite_users)
    favorites = [k.favorites(user) for user in sorted(users)]
    async with store.client.pipeline(transaction=True) as pipe:
        await forget_dag_assets(store.client, pipe, k, dag_id)
        for key in favorites:  # (Airflow's favourites go with their DAG)
            pipe.srem(key, dag_id)
        pipe.hdel(k.dags, dag_id)
        pipe.hdel(k.dag_files, dag_id)
        pipe.hdel(k.schedules, dag_id)
        pipe.hdel(k.schedule_errors, dag_id)
        pipe.srem(k.paused, dag_id)
        pipe.srem(k.inactive, dag_id)
        pipe.delete(k.runs_of(dag_id), k.dag_versions(dag_id))
        if filename:
            pipe.hdel(k.import_errors, filename)
        await pipe.execute()
