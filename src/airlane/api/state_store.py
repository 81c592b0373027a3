"""Airflow 3.3's state store routes: a task instance's keys (``.../taskInstances/{task_id}/
state-store``) and an asset's (``/api/v2/assets/{asset_id}/state-store``), read and written as
tasks read and write them (service/execution/redis_state_store.py: the same records, the same
expiry index the coordinator's retention pass reads).

As Airflow's: a task key's ``expires_at`` is ``"default"`` (``[state_store]
default_retention_days`` from now; 0: never), ``null`` (never) or an aware datetime; PATCH
changes a key's value and keeps its expiry; writes and the clear answer 404 for a task instance
that does not exist, reads for a key that does not; a value is any JSON value but null, within
``[state_store] max_value_storage_bytes``. An asset's keys never expire.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime
from typing import Any, cast

import orjson
from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.errors import ApiError, invalid, json_response, not_found
from airlane.api.inputs import json_body, page, path_int, query_bool, query_int
from airlane.api.shapes import iso
from airlane.queue import assets as asset_store
from airlane.queue.keys import parse_ti_field, ti_field
from airlane.queue.store import Store
from airlane.sdk.configuration import conf
from airlane.service.execution.redis_state_store import (
    decode_record,
    encode_record,
    expiry_member,
)


def _no_content() -> web.Response:
    return web.Response(status=204)


def _task_where(request: web.Request) -> tuple[str, str, str]:
    """(hash, field prefix, the map index's text) of the addressed task instance."""
    store: Store = request.app[STORE]
    m = request.match_info
    map_index = query_int(request, "map_index", -1, -1, None)
    name = store.keys.task_state(m["dag_id"], m["dag_run_id"], m["task_id"])
    return name, f"{map_index}|", str(map_index)


async def _require_ti(request: web.Request, map_index: int | None) -> None:
    """404 unless the task instance exists (any map index: ``None``)."""
    store: Store = request.app[STORE]
    m = request.match_info
    dag_id, run_id, task_id = m["dag_id"], m["dag_run_id"], m["task_id"]
    tis = store.keys.tis(dag_id, run_id)
    if map_index is not None:
        found = bool(await store.client.hexists(tis, ti_field(task_id, map_index)))
    else:  # (its records' names only: none is decoded)
        names = cast(list[str], await store.client.hkeys(tis))
        found = any(parse_ti_field(name)[0] == task_id for name in names)
    if not found:
        addressed = "all_map_indices=True" if map_index is None else f"map_index={map_index}"
        raise ApiError(
            404,
            f"Task instance not found for dag_id={dag_id!r}, run_id={run_id!r}, "
            f"task_id={task_id!r}, {addressed}",
        )


def _task_entry(key: str, raw: str) -> dict[str, Any]:
    value_json, set_at_s, expires_at_s = decode_record(raw)
    return {
        "key": key,
        "value": json.loads(value_json),
        "updated_at": iso(set_at_s),
        "expires_at": iso(expires_at_s) if expires_at_s is not None else None,
    }


async def list_task_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    name, prefix, _ = _task_where(request)
    limit, offset = page(request)
    fields = cast(dict[str, str], await store.client.hgetall(name))
    mine = sorted((f[len(prefix) :], raw) for f, raw in fields.items() if f.startswith(prefix))
    entries = [_task_entry(key, raw) for key, raw in mine[offset : offset + limit]]
    return json_response({"task_state_store": entries, "total_entries": len(mine)})


async def get_task_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    name, prefix, _ = _task_where(request)
    key = request.match_info["key"]
    raw = await store.client.hget(name, prefix + key)
    if raw is None:
        raise not_found(f"Task state store key {key!r}")
    return json_response(_task_entry(key, cast(str, raw)))


async def set_task_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    name, prefix, map_index = _task_where(request)
    body = await json_body(request, {"value", "expires_at"})
    value_json = _value_json(body)
    expires_at_s = _expires_at_s(body.get("expires_at", "default"))
    await _require_ti(request, int(map_index))
    await _write(store, name, prefix + request.match_info["key"], value_json, expires_at_s)
    return _no_content()


async def patch_task_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    name, prefix, map_index = _task_where(request)
    body = await json_body(request, {"value"})
    value_json = _value_json(body)
    await _require_ti(request, int(map_index))
    key = request.match_info["key"]
    raw = await store.client.hget(name, prefix + key)
    if raw is None:
        raise not_found(f"Task state store key {key!r}")
    expires_at_s = decode_record(cast(str, raw))[2]
    await _write(store, name, prefix + key, value_json, expires_at_s)
    return json_response(None)


async def delete_task_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    name, prefix, map_index = _task_where(request)
    await _require_ti(request, int(map_index))
    field = prefix + request.match_info["key"]
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.hdel(name, field)
        pipe.zrem(store.keys.task_state_expiry, expiry_member(name, field))
        await pipe.execute()
    return _no_content()


async def clear_task_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    name, prefix, map_index = _task_where(request)
    every = bool(query_bool(request, "all_map_indices"))
    await _require_ti(request, None if every else int(map_index))
    fields = cast(list[str], await store.client.hkeys(name))
    doomed = fields if every else [f for f in fields if f.startswith(prefix)]
    if doomed:
        async with store.client.pipeline(transaction=True) as pipe:
            pipe.hdel(name, *doomed)
            pipe.zrem(store.keys.task_state_expiry, *(expiry_member(name, f) for f in doomed))
            await pipe.execute()
    return _no_content()


async def _write(
    store: Store, name: str, field: str, value_json: str, expires_at_s: float | None
) -> None:
    """As the tasks' backend writes: the record and its expiry entry, in one transaction."""
    async with store.client.pipeline(transaction=True) as pipe:
        pipe.hset(name, field, encode_record(value_json, time.time(), expires_at_s))
        member = expiry_member(name, field)
        if expires_at_s is None:
            pipe.zrem(store.keys.task_state_expiry, member)
        else:
            pipe.zadd(store.keys.task_state_expiry, {member: expires_at_s})
        await pipe.execute()


def _value_json(body: dict[str, Any]) -> str:
    """The body's ``value`` as stored JSON; 422 for a missing, null, non-finite or too large
    one (Airflow's TaskStateStoreBody validator)."""
    if "value" not in body:
        raise invalid("body", "value", "Field required")
    value = body["value"]
    if value is None:
        raise invalid("body", "value", "Value error, value cannot be null", value)
    if _non_finite(value):
        raise invalid(
            "body",
            "value",
            "Value error, value contains non-finite numbers; NaN and Inf are not JSON "
            "representable",
            None,
        )
    text = json.dumps(value)
    limit = int(conf.get("state_store", "max_value_storage_bytes"))
    if limit > 0 and len(text) > limit:
        raise invalid(
            "body",
            "value",
            f"Value error, value exceeds max_value_storage_bytes ({limit}); raise "
            "[state_store] max_value_storage_bytes or set it to 0 to disable the limit",
            None,
        )
    return text


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


def _expires_at_s(value: Any) -> float | None:
    """``"default"``, null or an aware ISO 8601 datetime, as epoch seconds (None: never)."""
    if value == "default":
        days = int(conf.get("state_store", "default_retention_days"))
        if days < 0:
            raise ApiError(
                400,
                f"[state_store] default_retention_days must be >= 0, got {days}. "
                "Set to 0 to disable expiry.",
            )
        return None if days == 0 else time.time() + days * 86400.0
    if value is None:
        return None
    when = None
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            when = None
    if when is None:
        raise invalid("body", "expires_at", "Input should be a valid datetime", value)
    if when.tzinfo is None:
        raise invalid("body", "expires_at", "Input should have timezone info", value)
    return when.timestamp()


# -- an asset's keys ------------------------------------------------------------------------


async def _asset_hash(request: web.Request) -> str:
    store: Store = request.app[STORE]
    asset_id = path_int(request, "asset_id")
    record = await asset_store.asset(store.client, store.keys, asset_id)
    if record is None:
        raise not_found(f"Asset with id {asset_id!r}")
    ident = f"name:{record.name}" if record.name else f"uri:{record.uri}"
    return store.keys.asset_state(ident)


def _asset_entry(key: str, raw: str) -> dict[str, Any]:
    value_json, set_at_s, _ = decode_record(raw)
    record = orjson.loads(raw)
    writer = record.get("w")
    return {
        "key": key,
        "value": json.loads(value_json),
        "updated_at": iso(set_at_s),
        "last_updated_by": writer if isinstance(writer, dict) else None,
    }


async def list_asset_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    name = await _asset_hash(request)
    limit, offset = page(request)
    fields = sorted(cast(dict[str, str], await store.client.hgetall(name)).items())
    entries = [_asset_entry(key, raw) for key, raw in fields[offset : offset + limit]]
    return json_response({"asset_state_store": entries, "total_entries": len(fields)})


async def get_asset_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    name = await _asset_hash(request)
    key = request.match_info["key"]
    raw = await store.client.hget(name, key)
    if raw is None:
        raise not_found(f"Asset state store key {key!r}")
    return json_response(_asset_entry(key, cast(str, raw)))


async def set_asset_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    name = await _asset_hash(request)
    body = await json_body(request, {"value"})
    value_json = _value_json(body)
    record = json.loads(encode_record(value_json, time.time(), None))
    record["w"] = {
        "kind": "api",
        "dag_id": None,
        "run_id": None,
        "task_id": None,
        "map_index": None,
    }
    await store.client.hset(name, request.match_info["key"], json.dumps(record))
    return _no_content()


async def delete_asset_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    name = await _asset_hash(request)
    await store.client.hdel(name, request.match_info["key"])
    return _no_content()


async def clear_asset_state(request: web.Request) -> web.Response:
    store: Store = request.app[STORE]
    await store.client.delete(await _asset_hash(request))
    return _no_content()


def add_routes(app: web.Application) -> None:
    task = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/state-store"
    app.router.add_get(task, list_task_state)
    app.router.add_delete(task, clear_task_state)
    app.router.add_get(task + "/{key:.+}", get_task_state)
    app.router.add_put(task + "/{key:.+}", set_task_state)
    app.router.add_patch(task + "/{key:.+}", patch_task_state)
    app.router.add_delete(task + "/{key:.+}", delete_task_state)
    asset = "/api/v2/assets/{asset_id}/state-store"
    app.router.add_get(asset, list_asset_state)
    app.router.add_delete(asset, clear_asset_state)
    app.router.add_get(asset + "/{key:.+}", get_asset_state)
    app.router.add_put(asset + "/{key:.+}", set_asset_state)
    app.router.add_delete(asset + "/{key:.+}", delete_asset_state)
