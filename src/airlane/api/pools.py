"""``/api/v2/pools``: create, read, resize and delete pools (the coordinator enforces them).

The slot figures follow Airflow's ``Pool``: ``occupied_slots`` are those of the pool's queued
and running instances, and of its deferred ones when the pool's ``include_deferred`` is set;
``open_slots`` is ``slots`` minus them (-1 for an unlimited pool; below zero when a pool was
shrunk under its use); ``deferred_slots`` counts the deferred instances' slots either way.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.appkeys import STORE
from airlane.api.errors import ApiError, conflict, invalid, json_response, not_found
from airlane.api.inputs import as_int, json_body, no_team, opt_str, page, query_list
from airlane.api.shapes import task_spec
from airlane.queue.keys import parse_run_ref
from airlane.queue.store import Store

DEFAULT_POOL = "default_pool"
#: the states whose instances' slots a pool's figures count (Airflow's ``Pool.slots_stats``)
_COUNTED_STATES = frozenset({"queued", "running", "scheduled", "deferred"})


async def pool_usage(store: Store) -> dict[str, Counter[str]]:
    """Per pool and state, the slots of its scheduled, queued, running and deferred instances
    (from active runs)."""
    usage: dict[str, Counter[str]] = {}
    for ref in await store.active_run_refs():
        dag_id, run_id = parse_run_ref(ref)
        dag = await store.dag(dag_id)
        for (task_id, _), (record, _) in (await store.task_instances(dag_id, run_id)).items():
            state = record.state.value
            if state not in _COUNTED_STATES:
                continue
            spec = task_spec(dag, task_id) or {}
            pool = str(spec.get("pool", DEFAULT_POOL))
            usage.setdefault(pool, Counter())[state] += int(spec.get("pool_slots", 1))
    return usage


def pool_response(name: str, pool: dict[str, Any], used: Counter[str]) -> dict[str, Any]:
    slots = int(pool.get("slots", 0))
    include_deferred = bool(pool.get("include_deferred", False))
    occupied = used["queued"] + used["running"] + (used["deferred"] if include_deferred else 0)
    return {
        "name": name,
        "slots": slots,
        "description": pool.get("description") or None,
        "include_deferred": include_deferred,
        "occupied_slots": occupied,
        "running_slots": used["running"],
        "queued_slots": used["queued"],
        "scheduled_slots": used["scheduled"],
        "deferred_slots": used["deferred"],
        "open_slots": -1 if slots < 0 else slots - occupied,
        "team_name": None,
    }


async def list_pools(request: web.Request) -> web.Response:
    store = request.app[STORE]
    limit, offset = page(request)
    pools, usage = await store.pools(), await pool_usage(store)
    items = [pool_response(n, p, usage.get(n, Counter())) for n, p in sorted(pools.items())]
    items = listing.listed(
        request,
        items,
        searches_of={"pool_name": "name"},
        order_fields=("id", "pool", "name"),
        value=listing.aliased({"id": "name", "pool": "name"}),  # (by name: no row ids)
    )
    return json_response({"pools": items[offset : offset + limit], "total_entries": len(items)})


async def get_pool(request: web.Request) -> web.Response:
    store = request.app[STORE]
    name = request.match_info["pool_name"]
    pools = await store.pools()
    if name not in pools:
        raise not_found(f"The Pool with name: `{name}`")
    usage = await pool_usage(store)
    return json_response(pool_response(name, pools[name], usage.get(name, Counter())))


#: the largest number of slots a pool's JSON keeps (a 64-bit integer)
MAX_SLOTS = 2**63 - 1


def include_deferred(body: dict[str, Any], default: bool, null_keeps: bool = False) -> bool:
    """The body's ``include_deferred``, or ``default`` when it is absent. Null is refused (a
    new pool's PoolBody has ``bool = False``) unless ``null_keeps``: PoolPatchBody's field is
    optional, and a patch that sends null keeps what the pool has."""
    if "include_deferred" not in body or (null_keeps and body["include_deferred"] is None):
        return default
    given = body["include_deferred"]
    if not isinstance(given, bool):
        raise invalid("body", "include_deferred", "Input should be a valid boolean", given)
    return given


def _slots(body: dict[str, Any], required: bool) -> int | None:
    if "slots" not in body or body["slots"] is None:
        if required:
            raise invalid("body", "slots", "Field required")
        return None
    slots = as_int(body["slots"])
    if slots is None or not -1 <= slots <= MAX_SLOTS:
        message = f"Input should be an integer between -1 and {MAX_SLOTS}"
        raise invalid("body", "slots", message, body["slots"])
    return slots


async def create_pool(request: web.Request) -> web.Response:
    store = request.app[STORE]
    body = await json_body(
        request, {"name", "slots", "description", "include_deferred", "team_name"}
    )
    name = opt_str(body, "name", 256)
    if not name:
        raise invalid("body", "name", "Field required", body.get("name"))
    slots = _slots(body, required=True)
    assert slots is not None
    no_team(body)
    if name in await store.pools() and name != DEFAULT_POOL:
        raise conflict(f"Pool with name: `{name}` already exists")
    deferred = include_deferred(body, default=False)
    await store.set_pool(name, slots, opt_str(body, "description") or "", deferred)
    return json_response(pool_response(name, (await store.pools())[name], Counter()), status=201)


#: what ``update_mask`` may name on the default pool (Airflow 3.1.8's rule)
_DEFAULT_POOL_FIELDS = frozenset({"slots", "include_deferred"})


def _patched_fields(name: str, body: dict[str, Any], mask: list[str]) -> set[str]:
    """The body's fields a PATCH changes: those given, and of them only the masked ones when
    ``update_mask`` is set (Airflow's ``patch_pool``); the default pool's only with a mask of
    slots and include_deferred."""
    if name == DEFAULT_POOL and not (mask and {m.strip() for m in mask} <= _DEFAULT_POOL_FIELDS):
        raise ApiError(400, "Only slots and included_deferred can be modified on Default Pool")
    given = set(body)
    return given & {m.strip() for m in mask} if mask else given


async def patch_pool(request: web.Request) -> web.Response:
    store = request.app[STORE]
    name = request.match_info["pool_name"]
    body = await json_body(
        request, {"pool", "name", "slots", "description", "include_deferred", "team_name"}
    )
    renamed = opt_str(body, "pool") or opt_str(body, "name")
    if renamed and renamed != name:  # a request Airlane cannot carry out, not a bad body
        raise ApiError(400, f"Renaming a pool is not supported (`{name}` to `{renamed}`)")
    # the whole body is checked (PoolPatchBody), masked out or not
    slots = _slots(body, required=False)
    no_team(body)
    opt_str(body, "description")
    include_deferred(body, False, null_keeps=True)
    fields = _patched_fields(name, body, query_list(request, "update_mask"))
    pools = await store.pools()
    if name not in pools:
        raise not_found(f"The Pool with name: `{name}`")
    if "slots" not in fields:
        slots = None
    current = pools[name]
    description = (
        opt_str(body, "description") if "description" in fields else current.get("description")
    )
    keep_deferred = bool(current.get("include_deferred", False))
    await store.set_pool(
        name,
        int(current.get("slots", 0)) if slots is None else slots,
        description or "",
        include_deferred(body, keep_deferred, null_keeps=True)
        if "include_deferred" in fields
        else keep_deferred,
    )
    usage = await pool_usage(store)
    return json_response(
        pool_response(name, (await store.pools())[name], usage.get(name, Counter()))
    )


async def delete_pool(request: web.Request) -> web.Response:
    store = request.app[STORE]
    name = request.match_info["pool_name"]
    if name == DEFAULT_POOL:
        raise ApiError(400, "Default Pool can't be deleted")
    if not await store.delete_pool(name):
        raise not_found(f"The Pool with name: `{name}`")
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v2/pools", list_pools)
    app.router.add_post("/api/v2/pools", create_pool)
    app.router.add_get("/api/v2/pools/{pool_name}", get_pool)
    app.router.add_patch("/api/v2/pools/{pool_name}", patch_pool)
    app.router.add_delete("/api/v2/pools/{pool_name}", delete_pool)
