"""Finding the task instance a request's path names (``dag_id``, ``dag_run_id``, ``task_id``
and the map index, in the path or as ``?map_index=``): shared by the handlers of task
instances, their logs and their XCom entries."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.dag_runs import load_run
from airlane.api.errors import not_found
from airlane.api.inputs import path_int, query_int
from airlane.engine.run_state import TIRecord
from airlane.queue.codec import TIMeta

TIs = dict[tuple[str, int], tuple[TIRecord, TIMeta]]


def path_ids(request: web.Request) -> tuple[str, str]:
    return request.match_info["dag_id"], request.match_info["dag_run_id"]


async def find_instance(
    request: web.Request, map_index: int | None
) -> tuple[dict[str, Any] | None, dict[str, str], TIs, tuple[str, int]]:
    """The DAG, the run, its instances and the key of the one the request names (``map_index``
    None: the task's first); Airflow's 404 when there is none."""
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    task_id = request.match_info["task_id"]
    run = await load_run(store, dag_id, run_id)
    tis = await store.task_instances(dag_id, run_id)
    index = map_index
    if index is None:  # (any: the first of the task's)
        index = min((k[1] for k in task_instances_of(tis, task_id, None)), default=-1)
    key = (task_id, index)
    if key not in tis:
        raise not_found(
            f"The Task Instance with dag_id: `{dag_id}`, run_id: `{run_id}`, "
            f"task_id: `{task_id}` and map_index: `{map_index}`"
        )
    return await store.dag(dag_id), run, tis, key


def map_index_or_all(request: web.Request) -> int | None:
    """The map index a request names (path or query); None: every instance of the task, as
    Airflow's marks and XCom listing take an absent ``map_index``."""
    if "map_index" in request.match_info or "map_index" in request.query:
        return map_index_of(request)
    return None


def task_instances_of(tis: TIs, task_id: str, map_index: int | None) -> TIs:
    """The instances of one task (``map_index`` None: all of them)."""
    return {
        key: value
        for key, value in tis.items()
        if key[0] == task_id and (map_index is None or key[1] == map_index)
    }


def map_index_of(request: web.Request) -> int:
    if "map_index" in request.match_info:
        return path_int(request, "map_index")
    return query_int(request, "map_index", -1, -1, None)
