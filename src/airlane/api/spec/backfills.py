"""Backfills (handlers: :mod:`airlane.api.backfills`)."""

from __future__ import annotations

from typing import Any

from airlane.api.spec.common import PAGE, order_by_list
from airlane.api.spec.notation import Paths, Schema, collection, model, nullable, op, param, refine

_BACKFILL = {
    "id": "int",
    "dag_id": "str",
    "dag_display_name": "str",
    "from_date": "dt",
    "to_date": "dt",
    "dag_run_conf": "obj?",
    "is_paused": "bool",
    "reprocess_behavior": "str",
    "max_active_runs": "int",
    "created_at": "dt",
    "completed_at": "dt?",
    "updated_at": "dt",
}
_POST = {
    "dag_id": "str",
    "from_date": "dt",
    "to_date": "dt",
    "run_backwards": "bool?",
    "dag_run_conf": "obj?",
    "reprocess_behavior": "str?",
    "max_active_runs": "int?",
    "run_on_latest_version": "bool?",
}

SCHEMAS: dict[str, Schema] = {
    "BackfillResponse": model(_BACKFILL),
    "BackfillCollectionResponse": collection("backfills", "BackfillResponse"),
    "DryRunBackfillResponse": model(
        {"logical_date": "dt?", "partition_date": "dt?", "partition_key": "str?"}
    ),
    "DryRunBackfillCollectionResponse": collection("backfills", "DryRunBackfillResponse"),
    "BackfillPostBody": refine(
        model(_POST, closed=True),
        # Airflow's: optional, but never null (the handlers refuse null as Airflow's models do)
        max_active_runs={"type": "integer", "default": 10},
        reprocess_behavior=nullable({"type": "string", "enum": ["none", "failed", "completed"]}),
    ),
}


def _backfill_id() -> list[dict[str, Any]]:
    return [param("backfill_id", "path", {"type": "integer", "minimum": 0})]


PATHS: Paths = {
    "/api/v2/backfills": {
        "get": op(
            "list_backfills",
            "Backfill",
            "BackfillCollectionResponse",
            params=[*PAGE, param("dag_id", "query", {"type": "string"}), order_by_list("id")],
            errors=(401, 403, 422),
        ),
        "post": op("create_backfill", "Backfill", "BackfillResponse", body="BackfillPostBody"),
    },
    "/api/v2/backfills/dry_run": {
        "post": op(
            "create_backfill_dry_run",
            "Backfill",
            "DryRunBackfillCollectionResponse",
            body="BackfillPostBody",
        ),
    },
    "/api/v2/backfills/{backfill_id}": {
        "get": op("get_backfill", "Backfill", "BackfillResponse", params=_backfill_id()),
    },
    **{
        f"/api/v2/backfills/{{backfill_id}}/{action}": {
            "put": op(
                f"{action}_backfill",
                "Backfill",
                "BackfillResponse",
                params=_backfill_id(),
                errors=(401, 403, 404, 409, 422),
            ),
            # Airlane: the same as POST, which airflowctl (0.1.5) sends
            "post": op(
                f"{action}_backfill_post",
                "Backfill",
                "BackfillResponse",
                params=_backfill_id(),
                errors=(401, 403, 404, 409, 422),
            ),
        }
        for action in ("pause", "unpause", "cancel")
    },
}
