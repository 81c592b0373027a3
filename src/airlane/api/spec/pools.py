"""Pools (handlers: :mod:`airlane.api.pools`)."""

from __future__ import annotations

from airlane.api.spec.bulk import bulk_op
from airlane.api.spec.common import PAGE, TEAM_NAME, order_by_list, searches
from airlane.api.spec.notation import (
    Paths,
    Schema,
    collection,
    model,
    nullable,
    op,
    path_params,
    query_list,
    refine,
)

#: -1 is unlimited; at most what Redis's JSON (64-bit integers) keeps
_SLOTS = {"type": "integer", "minimum": -1, "maximum": 2**63 - 1}

SCHEMAS: dict[str, Schema] = {
    "PoolResponse": model(
        {
            "name": "str",
            "slots": "int",
            "description": "str?",
            "include_deferred": "bool",
            "occupied_slots": "int",
            "running_slots": "int",
            "queued_slots": "int",
            "scheduled_slots": "int",
            "open_slots": "int",
            "deferred_slots": "int",
            "team_name": "str?",
        }
    ),
    "PoolCollectionResponse": collection("pools", "PoolResponse"),
    # The bodies mirror the request validation: their fields' lengths and bounds.
    "PoolBody": refine(
        model(
            {
                "name": "str",
                "slots": "int",
                "description": "str?",
                "include_deferred": "bool?",
                "team_name": "str?",
            },
            closed=True,
        ),
        slots=dict(_SLOTS),
        name={"type": "string", "minLength": 1, "maxLength": 256},
        team_name=TEAM_NAME,
        # optional, false by default, never null (Airflow's ``include_deferred: bool = False``)
        include_deferred={"type": "boolean", "default": False},
    ),
    "PoolPatchBody": refine(
        model(
            {
                "pool": "str?",
                "slots": "int?",
                "description": "str?",
                "include_deferred": "bool?",
                "team_name": "str?",
            },
            closed=True,
        ),
        slots=nullable(dict(_SLOTS)),
        team_name=TEAM_NAME,
    ),
}

_POOL = path_params("pool_name")

PATHS: Paths = {
    "/api/v2/pools": {
        "get": op(
            "get_pools",
            "Pool",
            "PoolCollectionResponse",
            params=[*PAGE, *searches("pool_name"), order_by_list("id", "pool", "name")],
            errors=(400, 401, 403, 422),
        ),
        "post": op(
            "post_pool",
            "Pool",
            "PoolResponse",
            body="PoolBody",
            status=201,
            errors=(401, 403, 409, 422),
        ),
        "patch": bulk_op("Pool"),
    },
    "/api/v2/pools/{pool_name}": {
        "get": op("get_pool", "Pool", "PoolResponse", params=_POOL),
        "patch": op(
            "patch_pool",
            "Pool",
            "PoolResponse",
            params=[*_POOL, query_list("update_mask")],
            body="PoolPatchBody",
            errors=(400, 401, 403, 404, 422),
        ),
        "delete": op(
            "delete_pool",
            "Pool",
            None,
            status=204,
            params=_POOL,
            errors=(400, 401, 403, 404, 422),
        ),
    },
}
