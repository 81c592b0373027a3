"""``/api/v2/dagTags``, ``/api/v2/dagWarnings`` and ``/api/v2/dagStats``: facts across DAGs.

Warnings: Airflow's DAG processor warns of a DAG whose tasks name pools that do not exist
(``non-existent pool``); Airlane finds the same when asked, from the DAGs' tasks and the pools
hash. Airflow's other warning types (asset conflicts, runtime-varying values) Airlane does not
detect, so it never lists them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.appkeys import STORE
from airlane.api.errors import invalid, json_response
from airlane.api.inputs import page, query_list
from airlane.api.shapes import iso
from airlane.queue.store import Store

#: Airflow's DagRunState, in its order (the order of a DAG's stats)
RUN_STATES = ("queued", "running", "success", "failed")
WARNING_TYPES = ("asset conflict", "non-existent pool", "runtime varying value")
DEFAULT_POOL = "default_pool"


async def current_dags(store: Store) -> dict[str, dict[str, Any]]:
    """dag_id -> its current serialized form, for every DAG Airlane holds."""
    found = {}
    for dag_id, content_hash in sorted((await store.dag_hashes()).items()):
        dag = await store.snapshot(content_hash)
        if dag is not None:
            found[dag_id] = dag
    return found


def sort_rows(rows: list[dict[str, Any]], order_by: list[str], fields: tuple[str, ...]) -> None:
    """Airflow's ``order_by``: several fields, each ``-`` for descending (nulls last)."""
    listing.order_pairs(order_by, fields)  # (Airflow's 400 for a field it cannot sort by)
    for name in reversed(order_by or [fields[0]]):  # stable sorts: last key first
        field = name.lstrip("-")
        present = [r for r in rows if r[field] is not None]
        absent = [r for r in rows if r[field] is None]
        present.sort(key=lambda r: r[field], reverse=name.startswith("-"))
        rows[:] = present + absent


async def list_tags(request: web.Request) -> web.Response:
    limit, offset = page(request)
    found = listing.searches(request, {"tag_name": "name"})
    dags = await current_dags(request.app[STORE])
    names = {tag for dag in dags.values() for tag in dag.get("tags") or []}
    rows = [{"name": n} for n in sorted(names) if listing.keeps({"name": n}, found)]
    sort_rows(rows, query_list(request, "order_by"), ("name",))
    tags = [r["name"] for r in rows[offset : offset + limit]]
    return json_response({"tags": tags, "total_entries": len(rows)})


def pool_warning(dag: dict[str, Any], pools: set[str]) -> dict[str, Any] | None:
    """The DAG's ``non-existent pool`` warning in Airflow's words, if its tasks name one."""
    missing = {t.get("pool") or DEFAULT_POOL for t in dag.get("tasks", [])} - pools
    if not missing:
        return None
    dag_id = dag["dag_id"]
    return {
        "dag_id": dag_id,
        "warning_type": "non-existent pool",
        "message": f"Dag '{dag_id}' references non-existent pools: {sorted(missing)!r}",
        "timestamp": iso(dag.get("parsed_at")) or "1970-01-01T00:00:00Z",
        "dag_display_name": dag.get("dag_display_name") or dag_id,
    }


async def list_warnings(request: web.Request) -> web.Response:
    limit, offset = page(request)
    wanted_dag = request.query.get("dag_id")
    wanted_type = request.query.get("warning_type")
    if wanted_type is not None and wanted_type not in WARNING_TYPES:
        allowed = ", ".join(f"'{t}'" for t in WARNING_TYPES)
        raise invalid("query", "warning_type", f"Input should be {allowed}", wanted_type)
    store = request.app[STORE]
    pools = set(await store.pools()) | {DEFAULT_POOL}
    stale = await store.inactive_dags()
    rows = []
    for dag_id, dag in (await current_dags(store)).items():
        warning = None if dag_id in stale else pool_warning(dag, pools)
        if warning and wanted_dag in (None, dag_id) and wanted_type in (None, "non-existent pool"):
            rows.append(warning)
    fields = ("dag_id", "warning_type", "message", "timestamp")
    sort_rows(rows, query_list(request, "order_by"), fields)
    chosen = rows[offset : offset + limit]
    return json_response({"dag_warnings": chosen, "total_entries": len(rows)})


async def dag_stats(request: web.Request) -> web.Response:
    """Run counts by state of each DAG with runs (Airflow lists only those), by dag_id."""
    store = request.app[STORE]
    wanted = set(query_list(request, "dag_ids"))
    dags = await current_dags(store)
    items = []
    for dag_id, dag in dags.items():
        if wanted and dag_id not in wanted:
            continue
        runs = await store.runs(dag_id, await store.all_run_ids(dag_id))
        if not runs:
            continue
        counts = Counter(run.get("state", "queued") for run in runs)
        stats = [{"state": state, "count": counts.get(state, 0)} for state in RUN_STATES]
        display = dag.get("dag_display_name") or dag_id
        items.append({"dag_id": dag_id, "dag_display_name": display, "stats": stats})
    return json_response({"dags": items, "total_entries": len(items)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/dagTags", list_tags)
    app.router.add_get("/api/v2/dagWarnings", list_warnings)
    app.router.add_get("/api/v2/dagStats", dag_stats)
