"""``/api/v2/dags/{dag_id}/dagRuns``: trigger, list, read, mark, annotate, delete, clear."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from airlane.api import listing, run_filters
from airlane.api.appkeys import STORE
from airlane.api.dag_versions import run_shape, run_shapes
from airlane.api.errors import ApiError, conflict, invalid, json_response, not_found
from airlane.api.inputs import (
    as_int,
    json_body,
    masked_fields,
    opt_choice,
    opt_datetime,
    opt_dict,
    opt_str,
    page,
    query_float,
)
from airlane.queue import assets as asset_store
from airlane.queue.conf_limit import ConfTooLarge
from airlane.queue.keys import ti_field
from airlane.queue.protocol import run_id_problem
from airlane.queue.store import DagNotFound, RunExists, RunRequest, Store
from airlane.scheduling.manual_runs import interval_for
from airlane.sdk.exceptions import ParamValidationError
from airlane.sdk.params import params_from_dump
from airlane.sdk.run_types import refusal
from airlane.sdk.state import DagRunState
from airlane.sdk.timetable_base import DagRunType
from airlane.sdk.timezone import utcnow

TRIGGER_FIELDS = {
    "dag_run_id",
    "logical_date",
    "data_interval_start",
    "data_interval_end",
    "run_after",
    "conf",
    "note",
    "partition_key",
}
_FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


async def load_run(store: Store, dag_id: str, run_id: str) -> dict[str, str]:
    run = await store.run(dag_id, run_id)
    if run is None:
        raise not_found(f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}`")
    return run


async def trigger(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    body = await json_body(request, TRIGGER_FIELDS)
    dag = await store.dag(dag_id)
    if dag is None:
        raise not_found(f"Dag with dag_id: '{dag_id}'")
    denied = refusal(dag_id, dag.get("allowed_run_types"), DagRunType.MANUAL, "manual runs")
    if denied is not None:
        raise ApiError(400, denied)  # Airflow's status and message
    run_id = await create_from_body(store, dag, body, DagRunType.MANUAL)
    run = await load_run(store, dag_id, run_id)
    return json_response(await run_shape(store, dag, run))


async def create_from_body(
    store: Store, dag: dict[str, Any], body: dict[str, Any], kind: DagRunType
) -> str:
    """Create a run of ``kind`` as a TriggerDAGRunPostBody asks (the trigger's, and the
    materialize endpoint's MaterializeAssetBody), with Airflow's refusals; its run id."""
    dag_id = str(dag["dag_id"])
    if body.get("partition_key") is not None:  # (Airlane has no partitioned timetables)
        raise ApiError(
            400, f"Dag '{dag_id}' is not a partitioned Dag and does not accept a partition_key."
        )
    logical_date = opt_datetime(body, "logical_date")
    later = opt_datetime(body, "run_after")  # kept: the run starts no sooner (run_after.py)
    run_after = later or logical_date or utcnow()
    start = opt_datetime(body, "data_interval_start")
    end = opt_datetime(body, "data_interval_end")
    if (start is None) != (end is None):
        missing = "data_interval_end" if end is None else "data_interval_start"
        raise invalid("body", missing, "Both data_interval_start and data_interval_end are needed")
    if start is not None and end is not None and start > end:
        raise invalid("body", "data_interval_end", "data_interval_end is before its start")
    effective = logical_date or run_after
    if start is None:
        start, end = _manual_interval(dag, effective)
    run_id = opt_str(body, "dag_run_id") or kind.generate_run_id(suffix=effective.isoformat())
    problem = run_id_problem(run_id)
    if problem is not None:
        # Airflow answers 400 with the ValueError of create_dagrun; a 422 naming the field is
        # how this API reports every bad body value.
        raise invalid("body", "dag_run_id", f"dag_run_id {problem}", run_id)
    conf = opt_dict(body, "conf") or {}
    problem = params_problem(dag, conf)
    if problem is not None:
        raise ApiError(400, problem)  # as Airflow: create_dagrun's ParamValidationError, 400
    request_ = RunRequest(
        dag_id,
        run_id,
        effective,
        start or effective,
        end or effective,
        conf,
        note=opt_str(body, "note", 1000),
        run_after=later,
        run_type=kind.value,
    )
    try:
        await store.create_run(request_)
    except DagNotFound:
        raise not_found(f"Dag with dag_id: '{dag_id}'") from None
    except RunExists:
        raise conflict(
            f"DAG Run with run_id: `{run_id}` already exists for dag: `{dag_id}`"
        ) from None
    except ConfTooLarge as err:
        raise conf_too_large(err) from None
    return run_id


def _manual_interval(dag: dict[str, Any], run_after: datetime) -> tuple[datetime, datetime]:
    """The DAG's timetable's data interval for a run triggered at ``run_after`` (as Airflow's
    trigger endpoint: scheduling/manual_runs.py)."""
    try:
        return interval_for(dict(dag.get("schedule") or {}), run_after)
    except Exception as err:  # the user's code: its failure is the request's answer
        raise invalid(
            "body", "data_interval_start", f"the DAG's timetable cannot infer one: {err}"
        ) from None


def params_problem(dag: dict[str, Any], conf: dict[str, Any]) -> str | None:
    """Why the DAG's params, with ``conf`` on top, do not validate (None when they do): Airflow
    refuses to create such a run."""
    params = params_from_dump(dag.get("params") or {})
    try:
        params.merged({k: v for k, v in conf.items() if k in params}).validate()
    except ParamValidationError as err:
        return str(err)
    return None


def conf_too_large(err: ConfTooLarge) -> ApiError:
    """413, as for a body over the API's limit (clients see one status for "too large"), with
    the entry in the list form of validation errors so that it names the field."""
    entry = {"type": "too_large", "loc": ["body", "conf"], "msg": str(err), "input": None}
    return ApiError(413, [entry])


#: the run dates Airflow's run listing bounds (``<name>_gte``, ``_gt``, ``_lte``, ``_lt``)
async def list_runs(request: web.Request) -> web.Response:
    """GET .../dagRuns: one DAG's runs, or every DAG's with ``~``, with Airflow 3.3's filters,
    order and offset or cursor paging (api/run_filters.py)."""
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    limit, offset = page(request)
    chosen_by = run_filters.from_query(request)
    if dag_id != "~" and await store.dag(dag_id) is None:
        raise not_found(f"Dag with id {dag_id}")
    run_filters.refuse_partition_dates(request, dag_id)
    cursor = request.query.get("cursor")
    consuming = request.query.get("consuming_asset_pattern") or None
    newest_first = chosen_by.order in (run_filters.DEFAULT_ORDER, (("logical_date", True),))
    if dag_id != "~" and not chosen_by.narrows and newest_first and not consuming and not cursor:
        # Newest first is the order of the runs' sorted set: read just the page.
        runs = await store.runs(dag_id, await store.run_page(dag_id, offset, limit))
        return json_response(
            {
                "dag_runs": await run_shapes(store, await store.dag(dag_id), runs),
                "total_entries": await store.run_count(dag_id),
            }
        )
    dag_ids = sorted(await store.dag_hashes()) if dag_id == "~" else [dag_id]
    triggered = None
    if consuming is not None:
        triggered = await asset_store.runs_consuming(  # (ILIKE, as Airflow's pattern)
            store.client, store.keys, listing.ilike(consuming)
        )
    found: list[dict[str, Any]] = []
    for one in dag_ids:
        runs = await store.runs(one, await store.all_run_ids(one))
        if triggered is not None:
            runs = [run for run in runs if (one, run["run_id"]) in triggered]
        shapes = await run_shapes(store, await store.dag(one), runs)
        found.extend(shape for shape in shapes if chosen_by.keeps(shape))
    if cursor is not None:
        at = listing.cursor_page(
            found, chosen_by.order, run_filters.TAIL, cursor, limit, run_filters.value_of
        )
        return json_response(listing.cursor_result("dag_runs", len(found), at))
    listing.sort_by(found, chosen_by.order, run_filters.value_of)
    return json_response({"dag_runs": found[offset : offset + limit], "total_entries": len(found)})


async def list_runs_batch(request: web.Request) -> web.Response:
    """POST /dags/~/dagRuns/list: runs across DAGs, as Airflow's DAGRunsBatchBody asks."""
    store = request.app[STORE]
    if request.match_info["dag_id"] != "~":  # (Airflow's path takes only ~)
        raise invalid("path", "dag_id", "Input should be '~'", request.match_info["dag_id"])
    body = await json_body(request, run_filters.BATCH_FIELDS)
    chosen_by = run_filters.from_body(body)
    offset, limit = _body_count(body, "page_offset", 0), _body_count(body, "page_limit", 100)
    wanted = body.get("dag_ids")
    if wanted is not None and (
        not isinstance(wanted, list) or not all(isinstance(d, str) for d in wanted)
    ):
        raise invalid("body", "dag_ids", "Input should be a valid list of strings", wanted)
    dag_ids = sorted(await store.dag_hashes()) if wanted is None else wanted
    found: list[dict[str, Any]] = []
    for one in dag_ids:
        runs = await store.runs(one, await store.all_run_ids(one))
        shapes = await run_shapes(store, await store.dag(one), runs)
        found.extend(shape for shape in shapes if chosen_by.keeps(shape))
    listing.sort_by(found, chosen_by.order, run_filters.value_of)
    return json_response({"dag_runs": found[offset : offset + limit], "total_entries": len(found)})


def _body_count(body: dict[str, Any], name: str, default: int) -> int:
    value = as_int(body.get(name, default))
    if value is None or value < 0:
        raise invalid("body", name, "Input should be greater than or equal to 0", body.get(name))
    return value


async def get_run(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id, run_id = request.match_info["dag_id"], request.match_info["dag_run_id"]
    run = await load_run(store, dag_id, run_id)
    return json_response(await run_shape(store, await store.dag(dag_id), run))


async def patch_run(request: web.Request) -> web.Response:
    """Mark a run success or failed (its unfinished instances with it), or queue it again."""
    store = request.app[STORE]
    dag_id, run_id = request.match_info["dag_id"], request.match_info["dag_run_id"]
    body = await json_body(request, {"state", "note"})
    await load_run(store, dag_id, run_id)
    message = "Input should be 'queued', 'success' or 'failed'"
    state = opt_choice(body, "state", {"success", "failed", "queued"}, message)
    fields = masked_fields(request, body)
    if "state" not in fields:
        state = None
    if "note" in fields:
        await store.set_run_note(dag_id, run_id, opt_str(body, "note", 1000) or "")
    if state is not None:
        await set_run_state(store, dag_id, run_id, state)
    run = await load_run(store, dag_id, run_id)
    return json_response(await run_shape(store, await store.dag(dag_id), run))


async def set_run_state(store: Store, dag_id: str, run_id: str, state: str) -> None:
    """Mark a run success or failed (its unfinished instances with it), or queue it again."""
    if state in {"success", "failed"}:
        marks: dict[str, str] = {}
        dag = await store.dag(dag_id) or {}
        teardowns = {t["task_id"] for t in dag.get("tasks", []) if t.get("is_teardown")}
        for (task_id, map_index), (record, _) in (
            await store.task_instances(dag_id, run_id)
        ).items():
            current = record.state.value
            # Airflow 3.3 (_set_dag_run_terminal_state): the running instances (deferred
            # and up_for_reschedule count as running) take the run's state, the ones not
            # finished are skipped, finished ones keep theirs. Teardowns not finished are
            # left to finish their work (they run as their trigger rule says).
            if task_id in teardowns and current not in _FINISHED:
                continue
            new = state if current in _RUNNING_WHEN_MARKED else None
            new = new or ("skipped" if current not in _FINISHED else None)
            if new is not None:
                marks[ti_field(task_id, map_index)] = new
        # Airflow's PATCH of a run calls listeners but no DAG callback; the run takes the
        # state whatever its instances say (a run whose tasks all succeeded can be failed)
        run = await store.run(dag_id, run_id) or {}
        ends_in = DagRunState(state) if marks or run.get("state") != state else None
        await store.mark(dag_id, run_id, marks, whole_run=True, run_state=ends_in)
    elif state == "queued":
        dag = await store.dag(dag_id) or {}
        await store.clear(dag_id, run_id, [t["task_id"] for t in dag.get("tasks", [])])


#: what marking a run failed fails (set_dag_run_state_to_failed's running_states)
_RUNNING_WHEN_MARKED = frozenset({"running", "deferred", "up_for_reschedule"})


async def delete_run(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id, run_id = request.match_info["dag_id"], request.match_info["dag_run_id"]
    run = await load_run(store, dag_id, run_id)
    if run.get("state") == "running":
        raise conflict(f"DagRun {run_id} is running: mark it success or failed first")
    await store.delete_run(dag_id, run_id)
    return web.Response(status=204)


async def wait_run(request: web.Request) -> web.StreamResponse:
    """Airflow 3.1's experimental wait: ``{"state": ...}`` now and every ``interval`` seconds
    until the run ends, then with its ``results`` (the ``result`` tasks' return values, else
    its DAG's ``@result`` tasks' (Airflow 3.3); a mapped task's as a list), as NDJSON."""
    store = request.app[STORE]
    dag_id, run_id = request.match_info["dag_id"], request.match_info["dag_run_id"]
    interval_s = query_float(request, "interval")
    if interval_s is None:
        raise invalid("query", "interval", "Field required")
    if interval_s <= 0:
        raise invalid("query", "interval", "Input should be greater than 0", interval_s)
    asked = request.query.getall("result", None)
    await load_run(store, dag_id, run_id)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    while True:
        run = await store.run(dag_id, run_id) or {}
        line: dict[str, Any] = {"state": run.get("state")}
        ended = line["state"] in ("success", "failed")
        if ended:
            results = await _run_results(store, dag_id, run_id, run, asked)
            if results:
                line["results"] = results
        await response.write(orjson.dumps(line) + b"\n")
        if ended or not run:
            break
        await asyncio.sleep(interval_s)
    await response.write_eof()
    return response


async def _run_results(
    store: Store, dag_id: str, run_id: str, run: dict[str, str], asked: list[str] | None
) -> dict[str, Any]:
    """task id -> its return value (a mapped task's values in map index order)."""
    if asked is None:
        dag = await store.snapshot(run["dag_hash"]) if run.get("dag_hash") else None
        tasks = (dag or await store.dag(dag_id) or {}).get("tasks") or []
        asked = [t["task_id"] for t in tasks if t.get("returns_dag_result")]
    results: dict[str, Any] = {}
    for task_id in sorted(set(asked)):
        values = await store.return_values(dag_id, run_id, task_id)
        if not values:
            continue
        if len(values) == 1 and -1 in values:
            results[task_id] = values[-1]
        else:
            results[task_id] = [values[i] for i in sorted(values)]
    return results


def add_routes(app: web.Application) -> None:
    base = "/api/v2/dags/{dag_id}/dagRuns"
    app.router.add_post(base, trigger)
    app.router.add_get(base, list_runs)
    app.router.add_post(base + "/list", list_runs_batch)
    app.router.add_get(base + "/{dag_run_id}", get_run)
    app.router.add_patch(base + "/{dag_run_id}", patch_run)
    app.router.add_delete(base + "/{dag_run_id}", delete_run)
    app.router.add_get(base + "/{dag_run_id}/wait", wait_run)
