"""A DAG the scheduler cannot schedule because its custom timetable cannot be re-created in
the coordinator (no plugin there registers the class, or ``deserialize()`` fails): shown as an
import error of the DAG's file, as Airflow reports a DAG its scheduler cannot deserialize.

The DAG processor owns a file's import errors; the scheduler's entries are marked
``"by": "scheduler"`` with the DAG id, merged with the processor's, and removed once the DAG
can be scheduled again (the processor's next parse of the file replaces them too).
"""

from __future__ import annotations

from typing import Any

from airlane.queue import typed
from airlane.queue.codec import dumps, loads
from airlane.queue.events_protocol import ImportErrorsEvent
from airlane.queue.messages import EVENTS_MAXLEN
from airlane.queue.store import Store

SOURCE = "scheduler"


def _others(raw: str | None, dag_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = loads(raw) if raw else []
    return [e for e in entries if not (e.get("by") == SOURCE and e.get("dag_id") == dag_id)]


async def _write(store: Store, fileloc: str, entries: list[dict[str, Any]]) -> None:
    async with store.client.pipeline(transaction=True) as pipe:
        if entries:
            pipe.hset(store.keys.import_errors, fileloc, dumps(entries))
        else:
            pipe.hdel(store.keys.import_errors, fileloc)
        pipe.xadd(
            store.keys.events,
            ImportErrorsEvent().to_fields(),
            maxlen=EVENTS_MAXLEN,
            approximate=True,
        )
        await pipe.execute()


async def report(store: Store, dag: dict[str, Any], problem: Exception) -> None:
    """Show ``problem`` as an import error of the DAG's file."""
    fileloc, dag_id = dag.get("fileloc"), str(dag.get("dag_id"))
    if not fileloc:
        return
    raw = await typed.hget(store.client, store.keys.import_errors, fileloc)
    entry = {
        "filename": fileloc,
        "lineno": dag.get("lineno"),
        "message": f"DAG {dag_id} cannot be scheduled: {problem}",
        "traceback": "",
        "by": SOURCE,
        "dag_id": dag_id,
    }
    await _write(store, fileloc, [*_others(raw, dag_id), entry])


async def clear(store: Store, dag: dict[str, Any]) -> None:
    """The DAG can be scheduled: remove the scheduler's error about it, if any."""
    fileloc, dag_id = dag.get("fileloc"), str(dag.get("dag_id"))
    if not fileloc:
        return
    raw = await typed.hget(store.client, store.keys.import_errors, fileloc)
    if raw is None:
        return
    others = _others(raw, dag_id)
    if len(others) != len(loads(raw)):
        await _write(store, fileloc, others)
