"""Clearing runs: one (``.../dagRuns/{run_id}/clear``) or several at once (Airflow 3.3's
``clearDagRuns``), with the same options (DAGRunClearBody's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airlane.api import clear_options
from airlane.api.appkeys import STORE
from airlane.api.clear_across import RunClear, with_marked
from airlane.api.dag_runs import load_run
from airlane.api.dag_versions import run_shape
from airlane.api.errors import ApiError, invalid, json_response
from airlane.api.inputs import json_body, opt_bool, opt_datetime, opt_str
from airlane.api.shapes import ti_collection
from airlane.engine.run_state import TIRecord
from airlane.queue.store import Store

_CLEAR_FIELDS = {"dry_run", "only_failed", "only_new", "note", "run_on_latest_version"}
_PARTITIONS = ("partition_key", "partition_date_start", "partition_date_end")


@dataclass(frozen=True)
class ClearRequest:
    """A DAGRunClearBody: list (dry run) or clear; every instance or only failed ones; only
    the tasks a newer DAG version added; the note the cleared run gets."""

    dry_run: bool
    only_failed: bool
    only_new: bool
    on_latest_version: bool
    note: str | None


def clear_request(body: dict[str, Any]) -> ClearRequest:
    only_failed = opt_bool(body, "only_failed", False)
    only_new = opt_bool(body, "only_new", False)
    if only_new and only_failed:
        raise invalid("body", "only_new", "only_new and only_failed are mutually exclusive")
    return ClearRequest(
        opt_bool(body, "dry_run", True),
        only_failed,
        only_new,
        body.get("run_on_latest_version") is True,
        opt_str(body, "note", 1000),
    )


async def _clears(store: Store, dag_id: str, run_id: str, asked: ClearRequest) -> list[RunClear]:
    """What clearing the run clears: its instances (failed ones with only_failed; none with
    only_new) and those its ExternalTaskMarkers mark in other DAGs (api/clear_across.py)."""
    run = await load_run(store, dag_id, run_id)
    dag = await store.dag(dag_id) or {}

    def keep(record: TIRecord) -> bool:
        return not asked.only_failed or record.state.value in {"failed", "upstream_failed"}

    tis = await store.task_instances(dag_id, run_id)
    # only_new: the tasks the DAG's latest version added since the run's; a run on the latest
    # version has none (an older one is refused below: it cannot move to the latest here)
    chosen = {} if asked.only_new else {k: v for k, v in tis.items() if keep(v[0])}
    clears = await with_marked(store, [RunClear(dag, run, chosen)], keep)
    if asked.only_new or asked.on_latest_version:
        field = "only_new" if asked.only_new else "run_on_latest_version"
        clear_options.refuse_other_version([RunClear(dag, run, tis)], field)
    return clears


async def _apply(store: Store, clears: list[RunClear], asked: ClearRequest) -> None:
    """Clear what ``clears`` holds; the first (the asked run) gets the note."""
    for one in clears:
        if one.chosen:
            cleared = sorted({task_id for task_id, _ in one.chosen})
            await store.clear(one.run["dag_id"], one.run["run_id"], cleared)
    if asked.note is not None:  # (Airflow sets the cleared run's note)
        run = clears[0].run
        await store.set_run_note(run["dag_id"], run["run_id"], asked.note)


def _listed(clears: list[RunClear]) -> list[dict[str, Any]]:
    return [
        ti for one in clears for ti in ti_collection(one.dag, one.run, one.chosen)["task_instances"]
    ]


async def clear_run(request: web.Request) -> web.Response:
    """Clear a run's instances (only the failed ones with only_failed); dry_run lists them.

    ExternalTaskMarkers among them clear the tasks they mark in other DAGs, as Airflow 2's
    clear of a run does (``include_subdags=True``; api/clear_across.py)."""
    store = request.app[STORE]
    dag_id, run_id = request.match_info["dag_id"], request.match_info["dag_run_id"]
    asked = clear_request(await json_body(request, _CLEAR_FIELDS))
    clears = await _clears(store, dag_id, run_id, asked)
    if asked.dry_run:
        items = _listed(clears)
        return json_response({"task_instances": items, "total_entries": len(items)})
    await _apply(store, clears, asked)
    run = await load_run(store, dag_id, run_id)
    return json_response(await run_shape(store, await store.dag(dag_id), run))


async def clear_runs(request: web.Request) -> web.Response:
    """POST /dags/{dag_id}/clearDagRuns: clear several runs (``~``: of any DAGs, each entry
    naming its own) with one DAGRunClearBody; every run is found before any is cleared.
    Partition selectors select the runs with partitions, which Airlane never has."""
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    body = await json_body(request, {*_CLEAR_FIELDS, "dag_runs", *_PARTITIONS})
    asked = clear_request(body)
    entries = _entries(body)
    partitioned = _partition_mode(body, bool(entries))
    if partitioned and dag_id == "~":
        message = "Partition selectors require a concrete dag_id; '~' is not supported."
        raise ApiError(400, message)
    runs = {} if partitioned else {_run_of(dag_id, entry): None for entry in entries}
    plans = [await _clears(store, one_dag, one_run, asked) for one_dag, one_run in runs]
    if asked.dry_run:
        items = [ti for clears in plans for ti in _listed(clears)]
        return json_response({"task_instances": items, "total_entries": len(items)})
    shapes = []
    for clears in plans:
        await _apply(store, clears, asked)
        run = clears[0].run
        fresh = await load_run(store, run["dag_id"], run["run_id"])
        shapes.append(await run_shape(store, await store.dag(run["dag_id"]), fresh))
    return json_response({"dag_runs": shapes, "total_entries": len(shapes)})


def _entries(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The body's ``dag_runs`` (BulkDAGRunBody: dag_run_id, dag_id; a state or note, which a
    clear does not set, is refused)."""
    entries = body.get("dag_runs", [])
    if not isinstance(entries, list):
        raise invalid("body", "dag_runs", "Input should be a valid list", entries)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise invalid("body", f"dag_runs.{i}", "Input should be a valid dictionary", entry)
        extra = set(entry) - {"dag_run_id", "dag_id", "state", "note"}
        if extra:
            name = sorted(extra)[0]
            raise invalid("body", f"dag_runs.{i}.{name}", "Extra inputs are not permitted")
        if not isinstance(entry.get("dag_run_id"), str):
            raise invalid("body", f"dag_runs.{i}.dag_run_id", "Input should be a valid string")
        if entry.get("dag_id") is not None and not isinstance(entry["dag_id"], str):
            raise invalid("body", f"dag_runs.{i}.dag_id", "Input should be a valid string")
        for name in ("state", "note"):
            if entry.get(name) is not None:
                message = "a clear does not set a run's state or note: mark the run (PATCH) for it"
                raise invalid("body", f"dag_runs.{i}.{name}", message, entry[name])
    return entries


def _partition_mode(
    body: dict[str, Any], other_given: bool, other: str = "dag_runs (non-empty)"
) -> bool:
    """Airflow's rule: exactly one of ``other`` (non-empty dag_runs, or a run_id), a
    partition_key, or a partition date window; True for the partition selectors."""
    key = opt_str(body, "partition_key")
    start = opt_datetime(body, "partition_date_start")
    end = opt_datetime(body, "partition_date_end")
    modes = sum([other_given, key is not None, start is not None or end is not None])
    if modes != 1:
        message = (
            f"Value error, Exactly one of {other}, partition_key, or a partition date window "
            "(partition_date_start / partition_date_end) must be provided."
        )
        raise invalid("body", "", message)
    if start is not None and end is not None and start > end:
        message = "Value error, partition_date_start must be on or before partition_date_end."
        raise invalid("body", "", message)
    return not other_given


def _run_of(dag_id: str, entry: dict[str, Any]) -> tuple[str, str]:
    """The (DAG, run) an entry names; Airflow's 400s for a missing or mismatched DAG id."""
    run_id, own = entry["dag_run_id"], entry.get("dag_id")
    if dag_id == "~":
        if not own or own == "~":
            raise ApiError(
                400,
                "When the URL dag_id is '~', every entry must provide a concrete dag_id "
                f"(missing on dag_run_id: {run_id!r}).",
            )
        return own, run_id
    if (own or dag_id) != dag_id:
        message = f"Entry dag_id {own!r} does not match the URL dag_id {dag_id!r}."
        raise ApiError(400, message)
    return dag_id, run_id


async def clear_partitions(request: web.Request) -> web.Response:
    """POST /dags/{dag_id}/clearPartitions (Airflow 3.3): reset the partition key and date of
    the runs chosen (by run_id, partition_key or a partition date window), their instances
    too with clear_task_instances. Airlane's runs have no partition fields, so none is reset;
    a run chosen by id still has its instances cleared (or counted, dry_run) when asked."""
    store = request.app[STORE]
    dag_id = request.match_info["dag_id"]
    body = await json_body(request, {*_PARTITIONS, "run_id", "clear_task_instances", "dry_run"})
    run_id = opt_str(body, "run_id")
    dry_run = opt_bool(body, "dry_run", True)
    with_instances = opt_bool(body, "clear_task_instances", False)
    _partition_mode(body, run_id is not None, "run_id")
    dag = await store.dag(dag_id)
    if dag is None:
        raise ApiError(404, f"The Dag with ID: `{dag_id}` was not found")
    cleared = 0
    if run_id is not None and with_instances and await store.run(dag_id, run_id) is not None:
        tis = await store.task_instances(dag_id, run_id)
        cleared = len(tis)
        if not dry_run and tis:
            await store.clear(dag_id, run_id, sorted({task_id for task_id, _ in tis}))
    answer = {"dag_runs_cleared": 0, "task_instances_cleared": cleared, "dry_run": dry_run}
    return json_response(answer)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/clear", clear_run)
    app.router.add_post("/api/v2/dags/{dag_id}/clearDagRuns", clear_runs)
    app.router.add_post("/api/v2/dags/{dag_id}/clearPartitions", clear_partitions)
