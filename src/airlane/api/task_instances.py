"""Task instances: list, read, mark, clear and tries (their logs: :mod:`.task_logs`, their
XCom entries: :mod:`.xcoms`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web

from airlane.api import clear_options, listing, ti_filters
from airlane.api.appkeys import STORE
from airlane.api.clear_across import RunClear, with_marked
from airlane.api.dag_runs import load_run
from airlane.api.dag_versions import versions_by_hash
from airlane.api.errors import ApiError, conflict, invalid, json_response, not_found
from airlane.api.inputs import (
    MAX_LIMIT,
    as_int,
    json_body,
    masked_fields,
    opt_bool,
    opt_choice,
    opt_datetime,
    opt_str,
    page,
    path_int,
)
from airlane.api.instance_lookup import (
    TIs,
    find_instance,
    map_index_of,
    map_index_or_all,
    path_ids,
    task_instances_of,
)
from airlane.api.shapes import (
    iso,
    run_versions,
    task_instance_response,
    task_spec,
    ti_collection,
)
from airlane.api.trigger_shapes import add_triggers
from airlane.engine.graph import clear_subset, relatives
from airlane.engine.run_state import TIRecord
from airlane.queue.keys import ti_field
from airlane.queue.store import Store
from airlane.sdk.state import TaskInstanceState

_MARKABLE = {"success", "failed", "skipped"}


async def list_tis(request: web.Request) -> web.Response:
    """GET .../taskInstances: one run's instances, or across DAGs and runs with ``~``, with
    Airflow's filters, order and offset or cursor paging."""
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    limit, offset = page(request, default_limit=100)
    if dag_id == "~" and run_id != "~":
        raise ApiError(400, "dag_id is required when dag_run_id is specified")
    dag = None if dag_id == "~" else await store.dag(dag_id)
    if dag_id != "~" and dag is None:
        raise not_found(f"Dag with id {dag_id}")
    if run_id != "~":
        await load_run(store, dag_id, run_id)
    chosen_by = ti_filters.from_query(request)
    cursor = request.query.get("cursor")
    found = await _collect(
        store,
        None if dag_id == "~" else [dag_id],
        None if run_id == "~" else [run_id],
        set(request.query.getall("task_id", [])),
        set(request.query.getall("state", [])),
        _group_tasks(request, dag),
    )
    if not chosen_by.active and cursor is None:
        result = _page_of(found, offset, limit)
        await _add_versions(store, found, result["task_instances"])
    else:
        shapes = [
            ti for dag_, run, tis in found for ti in ti_collection(dag_, run, tis)["task_instances"]
        ]
        await _add_versions(store, found, shapes)
        runs = {(run["dag_id"], run["run_id"]): run for _, run, _ in found}
        kept = chosen_by.apply(shapes, runs)
        if cursor is None:
            result = {"task_instances": kept[offset : offset + limit], "total_entries": len(kept)}
        else:
            at = ti_filters.cursor_page(kept, chosen_by.order, cursor, limit, runs)
            result = listing.cursor_result("task_instances", len(kept), at)
    await add_triggers(store, result["task_instances"])
    return json_response(result)


def _group_tasks(request: web.Request, dag: dict[str, Any] | None) -> GroupTasks | None:
    """``task_group_id``: the tasks of that group (nested groups' too) of a DAG, Airflow's
    404 when the listing's DAG has no such group."""
    group_id = request.query.get("task_group_id")
    if group_id is None:
        return None
    if dag is not None and ti_filters.group_tasks(dag, group_id) is None:
        raise ApiError(404, {"reason": "not_found", "message": f"Task group {group_id} not found"})
    return lambda one: ti_filters.group_tasks(one or {}, group_id) or frozenset()


async def _add_versions(store: Store, found: Found, shapes: list[dict[str, Any]]) -> None:
    """Each instance's ``dag_version``: the version its run runs with."""
    by_run: dict[tuple[str, str], dict[str, Any] | None] = {}
    dags = {run["dag_id"]: dag for dag, run, _ in found}
    for dag_id, dag in dags.items():
        versions = await versions_by_hash(store, dag_id, dag or {})
        for one_dag, run, _ in found:
            if run["dag_id"] == dag_id:
                kept = run_versions(one_dag, run, versions)
                by_run[(dag_id, run["run_id"])] = kept[0] if kept else None
    for shape in shapes:
        shape["dag_version"] = by_run.get((shape["dag_id"], shape["dag_run_id"]))


def _state_name(record: TIRecord) -> str:
    return "no_status" if record.state.value == "none" else record.state.value


async def get_ti(request: web.Request) -> web.Response:
    dag, run, tis, key = await find_instance(request, map_index_of(request))
    response = task_instance_response(dag, run, key, *tis[key])
    dag_id, run_id = path_ids(request)
    response["rendered_fields"] = await request.app[STORE].rendered_fields(dag_id, run_id, *key)
    await add_triggers(request.app[STORE], [response])
    return json_response(response)


@dataclass(frozen=True)
class MarkRequest:
    """A PatchTaskInstanceBody as the update mask leaves it: the state to set (None: none),
    whether relatives go with the chosen instances, and whether earlier and later runs do."""

    new_state: str | None
    upstream: bool
    downstream: bool
    span: tuple[bool, bool]


MARK_FIELDS = frozenset(
    {
        "new_state",
        "note",
        "include_upstream",
        "include_downstream",
        "include_future",
        "include_past",
    }
)


async def mark_request(request: web.Request) -> MarkRequest:
    """The request's PatchTaskInstanceBody, its ``update_mask`` applied."""
    body = await json_body(request, MARK_FIELDS)
    return parse_mark(body, masked_fields(request, body))  # (the mask: the state and the note)


def parse_mark(body: dict[str, Any], fields: set[str]) -> MarkRequest:
    """A PatchTaskInstanceBody whose ``fields`` change (notes refused: Airlane keeps none)."""
    message = "Input should be 'success', 'failed' or 'skipped'"
    new_state = opt_choice(body, "new_state", _MARKABLE, message)
    note = opt_str(body, "note", 1000)
    if note is not None and "note" in fields:
        # (Airlane's instance records keep the engine's own notes: why a state was set)
        raise invalid("body", "note", "Airlane keeps no task instance notes", note)
    return MarkRequest(
        new_state if "new_state" in fields else None,
        opt_bool(body, "include_upstream", False),
        opt_bool(body, "include_downstream", False),
        (opt_bool(body, "include_past", False), opt_bool(body, "include_future", False)),
    )


def with_relatives(dag: dict[str, Any] | None, tis: TIs, mine: TIs, marking: MarkRequest) -> TIs:
    """``mine`` and, as the request asks, the instances of its tasks' upstream and downstream
    tasks (all of their map indexes)."""
    own = {task_id for task_id, _ in mine}
    task_ids = relatives(dag or {}, own, upstream=marking.upstream, downstream=marking.downstream)
    return {k: v for k, v in tis.items() if (k[0] in task_ids and k[0] not in own) or k in mine}


async def _mark_selection(
    request: web.Request,
) -> tuple[dict[str, Any] | None, dict[str, str], TIs, str | None, tuple[bool, bool]]:
    """What a mark request would change: the DAG, the run, the chosen instances, the state,
    and whether the same instances of earlier and later runs go with them."""
    marking = await mark_request(request)
    map_index = map_index_or_all(request)
    dag, run, tis, key = await find_instance(request, map_index)
    mine = task_instances_of(tis, key[0], map_index)
    chosen = with_relatives(dag, tis, mine, marking)
    return dag, run, chosen, marking.new_state, marking.span


async def patch_ti(request: web.Request) -> web.Response:
    """Mark an instance (and with include_upstream/downstream its relatives, with
    include_past/include_future the same instances of the DAG's earlier or later runs) by
    hand."""
    store = request.app[STORE]
    dag, run, chosen, new_state, span = await _mark_selection(request)
    dag_id, run_id = path_ids(request)
    if new_state is not None:
        if all(record.state.value == new_state for record, _ in chosen.values()):
            task_id = request.match_info["task_id"]
            raise conflict(f"Task id {task_id} is already in {new_state} state")
        others = await other_runs(store, run, chosen, span)  # (before any mark is sent)
        marks = {ti_field(task_id, map_index): new_state for task_id, map_index in chosen}
        await store.mark(dag_id, run_id, marks)
        for other in others:
            more = {ti_field(*key): new_state for key in other.chosen}
            await store.mark(dag_id, other.run["run_id"], more)
    return json_response(ti_collection(dag, run, _as_marked(request, chosen, new_state)))


async def other_runs(
    store: Store, run: dict[str, str], chosen: TIs, span: tuple[bool, bool]
) -> list[RunClear]:
    """With include_past/include_future (``span``; Airflow's ``set_state`` with
    ``past``/``future``): the same instances in the DAG's runs before or after ``run`` by
    logical date."""
    past, future = span
    if not (past or future) or clear_options.logical(run) is None:
        return []  # (Airflow's get_run_ids: a run without a logical date stands alone)
    start, end = clear_options.window_of(run, past, future)
    dag_id = run["dag_id"]
    found: list[RunClear] = []
    for other_id in await store.all_run_ids(dag_id):
        other = await load_run(store, dag_id, other_id)
        if other_id == run["run_id"] or not clear_options.in_window(other, start, end):
            continue
        tis = await store.task_instances(dag_id, other_id)
        same = {key: value for key, value in tis.items() if key in chosen}
        if same:
            found.append(RunClear({}, other, same))
    return found


def _as_marked(request: web.Request, chosen: TIs, new_state: str | None) -> TIs:
    """The instances of the path's task as Airflow's PATCH answers them: with their new state
    (the coordinator applies the mark right after; its relatives marked with it are not
    listed, as in Airflow)."""
    task_id = request.match_info["task_id"]
    own = {key: value for key, value in chosen.items() if key[0] == task_id}
    if new_state is None:
        return own
    state = TaskInstanceState(new_state)
    return {key: (replace(record, state=state), meta) for key, (record, meta) in own.items()}


async def patch_ti_dry_run(request: web.Request) -> web.Response:
    """The instances a PATCH with the same body would mark, unchanged (those of earlier or
    later runs too, with include_past/include_future)."""
    dag, run, chosen, _, span = await _mark_selection(request)
    items = ti_collection(dag, run, chosen)["task_instances"]
    for other in await other_runs(request.app[STORE], run, chosen, span):
        items += ti_collection(dag, other.run, other.chosen)["task_instances"]
    return json_response({"task_instances": items, "total_entries": len(items)})


_BATCH_FIELDS = {
    "dag_ids",
    "dag_run_ids",
    "task_ids",
    "state",
    "page_offset",
    "page_limit",
    "order_by",
    *ti_filters.LISTS,
    *ti_filters.RANGE_FIELDS,
}


def _str_list(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid("body", name, "Input should be a valid list of strings", value)
    return value


def _body_int(body: dict[str, Any], name: str, default: int, top: int | None) -> int:
    value = as_int(body.get(name, default))
    if value is None or value < 0 or (top is not None and value > top):
        bounds = f"from 0 to {top}" if top is not None else ">= 0"
        raise invalid("body", name, f"Input should be an integer {bounds}", body.get(name))
    return value


async def list_tis_batch(request: web.Request) -> web.Response:
    """POST .../taskInstances/list: instances across DAGs and runs (``~`` for any)."""
    store = request.app[STORE]
    body = await json_body(request, _BATCH_FIELDS)
    path_dag, path_run = path_ids(request)
    for segment, field in ((path_dag, "dag_ids"), (path_run, "dag_run_ids")):
        if segment != "~" and body.get(field) is not None:  # (Airflow takes only ~ there)
            message = f"{field} is only taken with ~ in the path"
            raise invalid("body", field, message, body[field])
    dag_ids = [path_dag] if path_dag != "~" else _str_list(body, "dag_ids")
    run_ids = [path_run] if path_run != "~" else _str_list(body, "dag_run_ids")
    task_ids = set(_str_list(body, "task_ids") or [])
    states = {s or "no_status" for s in _str_list_or_nulls(body, "state")}
    offset = _body_int(body, "page_offset", 0, None)
    limit = _body_int(body, "page_limit", 100, MAX_LIMIT)
    chosen_by = ti_filters.from_body(body)
    found = await _collect(store, dag_ids, run_ids, task_ids, states)
    result: dict[str, Any]
    if chosen_by.active:  # each instance formatted, then filtered and ordered
        shapes = [
            ti for dag, run, tis in found for ti in ti_collection(dag, run, tis)["task_instances"]
        ]
        kept = chosen_by.apply(shapes)
        result = {"task_instances": kept[offset : offset + limit], "total_entries": len(kept)}
    else:
        result = _page_of(found, offset, limit)
    await _add_versions(store, found, result["task_instances"])
    await add_triggers(store, result["task_instances"])
    return json_response(result)


Found = list[tuple[dict[str, Any] | None, dict[str, str], TIs]]
#: the tasks of a DAG (its serialized form) a task group filter keeps
GroupTasks = Callable[[dict[str, Any] | None], frozenset[str]]


async def _collect(
    store: Store,
    dag_ids: list[str] | None,
    run_ids: list[str] | None,
    task_ids: set[str],
    states: set[str],
    groups: GroupTasks | None = None,
) -> Found:
    """(dag, run, chosen instances) of each run asked for (``None``: every one); ``groups``:
    the tasks a DAG's instances are chosen from."""
    found: Found = []
    for dag_id in dag_ids if dag_ids is not None else sorted(await store.dag_hashes()):
        dag = await store.dag(dag_id)
        in_group = groups(dag) if groups is not None else None
        if in_group is not None and not in_group:
            continue
        wanted_runs = run_ids if run_ids is not None else await store.all_run_ids(dag_id)
        runs = await store.runs(dag_id, wanted_runs)
        mapped = {t["task_id"] for t in (dag or {}).get("tasks", []) if t.get("mapped")}
        every = await store.task_instances_of_runs(
            dag_id,
            [run["run_id"] for run in runs],
            task_ids or None,
            unmapped=not (task_ids & mapped),
        )
        for run, tis in zip(runs, every, strict=True):
            chosen = {
                k: v
                for k, v in tis.items()
                if (not states or _state_name(v[0]) in states)
                and (in_group is None or k[0] in in_group)
            }
            found.append((dag, run, chosen))
    return found


def _page_of(found: Found, offset: int, limit: int) -> dict[str, Any]:
    """One page of the instances found; only the page's entries are formatted."""
    total = sum(len(chosen) for _, _, chosen in found)
    items: list[dict[str, Any]] = []
    skip = offset
    for dag, run, chosen in found:
        if skip >= len(chosen):
            skip -= len(chosen)
            continue
        keys = sorted(chosen)[skip : skip + limit - len(items)]
        skip = 0
        items += ti_collection(dag, run, {k: chosen[k] for k in keys})["task_instances"]
        if len(items) >= limit:
            break
    return {"task_instances": items, "total_entries": total}


def _str_list_or_nulls(body: dict[str, Any], name: str) -> list[str | None]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
        raise invalid("body", name, "Input should be a valid list of states", value)
    return value


async def clear_tis(request: web.Request) -> web.Response:
    """POST /dags/{dag_id}/clearTaskInstances (dry_run lists what would be cleared).

    With ``include_downstream``, ExternalTaskMarkers among the cleared instances clear the
    tasks they mark in other DAGs, as Airflow 2's recursive clear does and as Airflow's fix of
    its loss in 3.x does with downstream (api/clear_across.py)."""
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    body = await json_body(
        request,
        {
            "dag_run_id",
            "dry_run",
            "start_date",
            "end_date",
            "include_downstream",
            "include_future",
            "include_past",
            "include_upstream",
            "note",
            "only_failed",
            "only_running",
            "prevent_running_task",
            "reset_dag_runs",
            "run_on_latest_version",
            "task_ids",
        },
    )
    dag = await store.dag(dag_id)
    if dag is None:
        raise not_found(f"Dag with id {dag_id}")
    dry_run = opt_bool(body, "dry_run", True)
    only_failed = opt_bool(body, "only_failed", True)
    only_running = opt_bool(body, "only_running", False)
    start, end = opt_datetime(body, "start_date"), opt_datetime(body, "end_date")
    clear_options.check_body(body, start, end)
    past, future = opt_bool(body, "include_past", False), opt_bool(body, "include_future", False)
    if opt_str(body, "note", 1000) is not None:
        raise invalid("body", "note", "Airlane keeps no task instance notes", body["note"])
    wanted = _task_ids(body.get("task_ids"), dag)
    upstream = opt_bool(body, "include_upstream", False)
    downstream = opt_bool(body, "include_downstream", False)
    if wanted is not None and (upstream or downstream):
        # Airflow's partial_subset: the relatives, with the setups and teardowns they need
        wanted = clear_subset(dag, wanted, upstream=upstream, downstream=downstream)

    def keep(record: TIRecord) -> bool:
        return (not only_failed or record.state.value in {"failed", "upstream_failed"}) and (
            not only_running or record.state.value == "running"
        )

    run_id = opt_str(body, "dag_run_id")
    runs = [run_id] if run_id and not (past or future) else await store.all_run_ids(dag_id)
    if run_id and (past or future):
        start, end = clear_options.window_of(await load_run(store, dag_id, run_id), past, future)
    elif past or future:  # (Airflow: they open the body's window on their side)
        start, end = (None if past else start), (None if future else end)
    clears: list[RunClear] = []
    for one in runs:
        run = await load_run(store, dag_id, one)
        if (past or future or not run_id) and not clear_options.in_window(run, start, end):
            continue
        tis = await store.task_instances(dag_id, one)
        chosen = {k: v for k, v in tis.items() if (wanted is None or k[0] in wanted) and keep(v[0])}
        clears.append(RunClear(dag, run, chosen))
    if downstream:
        clears = await with_marked(store, clears, keep)
    if opt_bool(body, "prevent_running_task", False) and not dry_run:
        clear_options.refuse_running(clears)  # (Airflow's dry run lists them)
    if not opt_bool(body, "reset_dag_runs", True):
        clear_options.refuse_unreset(clears)
    if body.get("run_on_latest_version") is True:
        clear_options.refuse_other_version(clears, "run_on_latest_version")
    items: list[dict[str, Any]] = []
    for one_clear in clears:
        chosen, run_dag = one_clear.chosen, one_clear.dag
        if chosen and not dry_run:
            task_ids = sorted({task_id for task_id, _ in chosen})
            await store.clear(one_clear.run["dag_id"], one_clear.run["run_id"], task_ids)
        items += ti_collection(run_dag, one_clear.run, chosen)["task_instances"]
    return json_response({"task_instances": items, "total_entries": len(items)})


def _task_ids(value: Any, dag: dict[str, Any]) -> set[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise invalid("body", "task_ids", "Input should be a valid list", value)
    known = {t["task_id"] for t in dag.get("tasks", [])}
    found: set[str] = set()
    for index, item in enumerate(value):
        task_id = item[0] if isinstance(item, list) and item else item
        if not isinstance(task_id, str) or task_id not in known:
            raise invalid("body", f"task_ids.{index}", "Not a task of this DAG", item)
        found.add(task_id)
    return found


_HISTORY_DROP = {"id", "rendered_map_index", "rendered_fields", "trigger", "triggerer_job", "note"}


async def get_tries(request: web.Request) -> web.Response:
    """Every try of an instance: earlier ones from the run's try history, then the current."""
    history = await tries_of(request)
    return json_response({"task_instances": history, "total_entries": len(history)})


async def get_try(request: web.Request) -> web.Response:
    """One try of an instance (TaskInstanceHistoryResponse); Airflow's 404 for one it never
    had."""
    wanted = path_int(request, "task_try_number")
    for entry in await tries_of(request):
        if entry["try_number"] == wanted:
            return json_response(entry)
    dag_id, run_id = path_ids(request)
    raise not_found(
        f"The Task Instance with dag_id: `{dag_id}`, run_id: `{run_id}`, task_id: "
        f"`{request.match_info['task_id']}`, try_number: `{wanted}` and map_index: "
        f"`{map_index_of(request)}`"
    )


async def list_mapped(request: web.Request) -> web.Response:
    """GET .../{task_id}/listMapped: the instances of a mapped task (map index 0 up), with
    the GET listing's filters and order (map index first unless asked), as Airflow's."""
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    task_id = request.match_info["task_id"]
    limit, offset = page(request, default_limit=100)
    chosen_by = ti_filters.from_query(request)
    dag = await store.dag(dag_id)
    if dag is None:
        raise not_found(f"Dag with id {dag_id}")
    run = await load_run(store, dag_id, run_id)
    tis = await store.task_instances(dag_id, run_id)
    mine = {key: value for key, value in tis.items() if key[0] == task_id and key[1] >= 0}
    if not mine:  # (none: a task that expanded to nothing, or none that maps at all)
        if task_spec(dag, task_id) is None:
            raise ApiError(404, f"Task id {task_id} not found")
        if not ti_filters.is_mapped(dag, task_id):
            raise ApiError(404, f"Task id {task_id} is not mapped")
    states = set(request.query.getall("state", []))
    mine = {k: v for k, v in mine.items() if not states or _state_name(v[0]) in states}
    found: Found = [(dag, run, mine)]
    shapes = ti_collection(dag, run, mine)["task_instances"]
    await _add_versions(store, found, shapes)
    order = chosen_by.order or (("map_index", False),)
    kept = replace(chosen_by, order=order).apply(shapes, {(dag_id, run_id): run})
    return json_response(
        {"task_instances": kept[offset : offset + limit], "total_entries": len(kept)}
    )


async def tries_of(request: web.Request) -> list[dict[str, Any]]:
    """The instance's tries, oldest first (TaskInstanceHistoryResponse each)."""
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    dag, run, tis, key = await find_instance(request, map_index_of(request))
    record, meta = tis[key]
    current = {
        k: v
        for k, v in task_instance_response(dag, run, key, record, meta).items()
        if k not in _HISTORY_DROP
    }
    history = []
    earlier = await store.earlier_tries(dag_id, run_id, key[0], key[1])
    for number in sorted(n for n in earlier if n < record.try_number):
        entry = earlier[number]
        start, end = entry.get("start_date"), entry.get("end_date")
        history.append(
            {
                **current,
                "try_number": number,
                "max_tries": int(entry.get("max_tries") or record.max_tries),
                "state": None if entry.get("state") == "none" else entry.get("state"),
                "start_date": iso(start),
                "end_date": iso(end),
                "duration": (end - start) if start and end else None,
                "queued_when": iso(entry.get("queued_at")),
                "hostname": entry.get("worker"),
            }
        )
    if record.try_number >= 1:
        history.append(current)
    return history


def add_routes(app: web.Application) -> None:
    base = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances"
    app.router.add_get(base, list_tis)
    for one in (base + "/{task_id}", base + "/{task_id}/{map_index:-?\\d+}"):
        app.router.add_get(one, get_ti)
        app.router.add_patch(one, patch_ti)
        app.router.add_patch(one + "/dry_run", patch_ti_dry_run)
        app.router.add_get(one + "/tries", get_tries)
        app.router.add_get(one + "/tries/{task_try_number:-?\\d+}", get_try)
    app.router.add_get(base + "/{task_id}/listMapped", list_mapped)
    app.router.add_post(base + "/list", list_tis_batch)
    app.router.add_post("/api/v2/dags/{dag_id}/clearTaskInstances", clear_tis)
