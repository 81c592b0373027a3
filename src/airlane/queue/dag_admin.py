"""A DAG's versions, and deleting a DAG's records (the API's ``dagVersions`` and DELETE dag).

A version is a serialized form the DAG processor stored for the DAG (``dag:<hash>``, which never
changes); ``dag_versions:<dag_id>`` lists them in the order they appeared, so a version's
number is its 1-based position there, as Airflow numbers a DAG's versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from airlane.queue import typed
from airlane.queue.asset_retention import forget_dag_assets
from airlane.queue.codec import loads
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
    versions = []
    for position, entry in enumerate(loads(item) for item in raw):
        versions.append(DagVersion(position + 1, str(entry["h"]), float(entry["at"])))
    if versions:
        return versions
    # A DAG stored before versions were listed: its current form is its first version.
    content_hash = await typed.hget(store.client, store.keys.dags, dag_id)
    if content_hash is None:
        return []
    dag = await store.snapshot(content_hash) or {}
    return [DagVersion(1, content_hash, float(dag.get("parsed_at") or 0.0))]


async def delete_dag(store: Store, dag_id: str) -> None:
    """Remove the DAG's runs (with all of theirs), its versions, pause flag, schedule, file's
    import errors and asset entries (declarations, queued events: queue/asset_retention.py), as
    Airflow's delete_dag removes a DAG's rows (asset events stay, as Airflow's). The DAG
    processor parses its file again, so a DAG whose file still defines it comes back, without
    history (Airflow's next parse does the same). Backfill records stay (the coordinator holds
    them)."""
    k = store.keys
    if not await store.client.hexists(k.dags, dag_id):
        raise DagNotFound(dag_id)
    if any(parse_run_ref(ref)[0] == dag_id for ref in await store.active_run_refs()):
        raise DagActive(dag_id)
    for run_id in await store.all_run_ids(dag_id):
        await store.delete_run(dag_id, run_id)
    filename = await typed.hget(store.client, k.dag_files, dag_id)
    async with store.client.pipeline(transaction=True) as pipe:
        await forget_dag_assets(store.client, pipe, k, dag_id)
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
