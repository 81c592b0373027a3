"""A DAG the scheduler cannot schedule: its custom timetable cannot be re-created in the
coordinator (no plugin there registers the class, or ``deserialize()`` fails), the user's
timetable code raised, or the timetable does not move forward. Shown as an import error of the
DAG's file, as Airflow reports a DAG its scheduler cannot deserialize.

The DAG processor owns the ``import_errors`` hash and rewrites a file's entry at every parse;
the scheduler's errors live in a hash of their own (``schedule_errors``, one entry per DAG), so
neither writer can overwrite the other's. ``Store.import_errors`` merges the two for readers.
An entry goes once the DAG can be scheduled again or is gone.
"""

from __future__ import annotations

from typing import Any

from airlane.queue import typed
from airlane.queue.codec import dumps
from airlane.queue.events_protocol import ImportErrorsEvent
from airlane.queue.messages import EVENTS_MAXLEN
from airlane.queue.store import Store

SOURCE = "scheduler"


def entry(dag: dict[str, Any], problem: Exception) -> dict[str, Any]:
    """The import-error entry of ``problem`` for the DAG's file (pure)."""
    dag_id = str(dag.get("dag_id"))
    return {
        "filename": dag.get("fileloc"),
        "lineno": dag.get("lineno"),
        "message": f"DAG {dag_id} cannot be scheduled: {problem}",
        "traceback": "",
        "by": SOURCE,
        "dag_id": dag_id,
    }


async def report(store: Store, dag: dict[str, Any], problem: Exception) -> None:
    """Show ``problem`` as an import error of the DAG's file (``dag``: at least its dag_id,
    fileloc and lineno)."""
    if not dag.get("fileloc"):
        return
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.hset(store.keys.schedule_errors, str(dag.get("dag_id")), dumps(entry(dag, problem)))
        pipe.xadd(
            store.keys.events,
            ImportErrorsEvent().to_fields(),
            maxlen=EVENTS_MAXLEN,
            approximate=True,
        )
        await pipe.execute()


async def clear_others(store: Store, dag_ids: set[str]) -> None:
    """Remove the errors of every DAG but ``dag_ids`` (those gone while no coordinator ran)."""
    for dag_id in set(await typed.hgetall(store.client, store.keys.schedule_errors)) - dag_ids:
        await clear(store, dag_id)


async def clear(store: Store, dag_id: str) -> None:
    """The DAG can be scheduled, or is gone: remove the scheduler's error about it, if any."""
    if await store.client.hdel(store.keys.schedule_errors, dag_id):
        await store.client.xadd(
            store.keys.events,
            dict(ImportErrorsEvent().to_fields()),
            maxlen=EVENTS_MAXLEN,
            approximate=True,
        )
