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
    request: web.Request, map_index: int
) -> tuple[dict[str, Any] | None, dict[str, str], TIs, tuple[str, int]]:
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    task_id = request.match_info["task_id"]
    run = await load_run(store, dag_id, run_id)
    tis = await store.task_instances(dag_id, run_id)
    key = (task_id, map_index)
    if key not in tis:
        raise not_found(
            f"The Task Instance with dag_id: `{dag_id}`, run_id: `{run_id}`, "
            f"task_id: `{task_id}` and map_index: `{map_index}`"
        )
    return await store.dag(dag_id), run, tis, key


def map_index_of(request: web.Request) -> int:
    if "map_index" in request.match_info:
        return path_int(request, "map_index")
    return query_int(request, "map_index", -1, -1, None)
