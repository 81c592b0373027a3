"""Airflow 3.1's JSON shapes of human-in-the-loop details (``HITLDetail``,
``HITLDetailResponse``), and the filters and order of its list of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from airlane.api import listing
from airlane.api.inputs import parse_datetime, query_bool, query_int, query_list
from airlane.api.shapes import iso
from airlane.sdk.hitl_detail import HITLDetail, HITLRequest, HITLResponse

ORDER_FIELDS = (
    "ti_id",
    "subject",
    "responded_at",
    "created_at",
    "responded_by_user_id",
    "responded_by_user_name",
    "dag_id",
    "run_id",
    "run_after",
    "rendered_map_index",
    "task_instance_operator",
    "task_instance_state",
)
_RANGES = {f"created_at_{op}": op for op in ("gte", "gt", "lte", "lt")}


def _param_shape(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and all(k in value for k in ("description", "schema", "value")):
        return value
    return {"value": value, "description": None, "schema": {}}


def user_shape(user: dict[str, str] | None) -> dict[str, str] | None:
    return None if user is None else {"id": str(user["id"]), "name": str(user["name"])}


def detail_shape(detail: HITLDetail, task_instance: dict[str, Any]) -> dict[str, Any]:
    """Airflow's ``HITLDetail``."""
    request, response = detail.request, detail.response
    shape: dict[str, Any] = {
        "task_instance": task_instance,
        "options": list(request.options),
        "subject": request.subject,
        "body": request.body,
        "defaults": None if request.defaults is None else list(request.defaults),
        "multiple": request.multiple,
        "params": {k: _param_shape(v) for k, v in request.params.items()},
        "assigned_users": [user_shape(u) for u in request.assigned_users],
        "created_at": iso(request.created_at_s),
        "responded_by_user": None,
        "responded_at": None,
        "chosen_options": None,
        "params_input": {},
        "response_received": response is not None,
    }
    if response is not None:
        shape |= {
            "responded_by_user": user_shape(response.responded_by),
            "responded_at": iso(response.responded_at_s),
            "chosen_options": list(response.chosen_options),
            "params_input": dict(response.params_input),
        }
    return shape


def response_shape(response: HITLResponse) -> dict[str, Any]:
    """Airflow's ``HITLDetailResponse`` (the PATCH's answer)."""
    return {
        "responded_by": user_shape(response.responded_by),
        "responded_at": iso(response.responded_at_s),
        "chosen_options": list(response.chosen_options),
        "params_input": dict(response.params_input),
    }


def like(pattern: str | None, value: str | None) -> bool:
    """A ``*_pattern`` / ``*_search`` query: SQL ILIKE (listing.ilike); none: anything."""
    return not pattern or listing.ilike(pattern)(value)


def prefixed(pattern: str | None, value: str | None) -> bool:
    """A ``*_prefix_pattern`` query (listing.starts_with); none: anything."""
    return pattern is None or listing.starts_with(pattern)(value)


def list_filter(request: web.Request) -> Callable[[dict[str, Any]], bool]:
    """The list's query filters, read (and checked) once, as one test of a detail's shape."""
    q = request.query
    task_id, map_index = q.get("task_id"), q.get("map_index")
    # any integer, as Airflow's filter (one that names no instance finds nothing)
    index = None if map_index is None else query_int(request, "map_index", -1, None, None)
    states = set(query_list(request, "state"))
    received = query_bool(request, "response_received")
    user_ids = set(query_list(request, "responded_by_user_id"))
    user_names = set(query_list(request, "responded_by_user_name"))
    ranges = [(op, parse_datetime(q[n], "query", n)) for n, op in _RANGES.items() if n in q]

    def keep(shape: dict[str, Any]) -> bool:
        ti = shape["task_instance"]
        user = shape["responded_by_user"] or {}
        return (
            like(q.get("dag_id_pattern"), ti["dag_id"])
            and prefixed(q.get("dag_id_prefix_pattern"), ti["dag_id"])
            and (task_id is None or ti["task_id"] == task_id)
            and like(q.get("task_id_pattern"), ti["task_id"])
            and prefixed(q.get("task_id_prefix_pattern"), ti["task_id"])
            and (index is None or ti["map_index"] == index)
            and (not states or (ti["state"] or "no_status") in states)
            and (received is None or shape["response_received"] is received)
            and (not user_ids or user.get("id") in user_ids)
            and (not user_names or user.get("name") in user_names)
            and like(q.get("subject_search"), shape["subject"])
            and like(q.get("body_search"), shape["body"])
            and all(_in_range(shape["created_at"], op, bound) for op, bound in ranges)
        )

    return keep


def _in_range(value: str, op: str, bound: datetime) -> bool:
    at = datetime.fromisoformat(value)
    return {"gte": at >= bound, "gt": at > bound, "lte": at <= bound, "lt": at < bound}[op]


def sort_key_of(request: web.Request) -> list[tuple[Callable[[dict[str, Any]], Any], bool]]:
    """``order_by`` (repeatable, ``-`` for descending) as (key, descending) pairs."""
    order = listing.query_order(request, ORDER_FIELDS, ["ti_id"])
    return [(_SORT_KEYS[name], descending) for name, descending in order]


def _ti(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda shape: shape["task_instance"].get(name) or ""


def _user(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda shape: (shape["responded_by_user"] or {}).get(name) or ""


_SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "ti_id": _ti("id"),
    "subject": lambda s: s["subject"],
    "responded_at": lambda s: s["responded_at"] or "",
    "created_at": lambda s: s["created_at"] or "",
    "responded_by_user_id": _user("id"),
    "responded_by_user_name": _user("name"),
    "dag_id": _ti("dag_id"),
    "run_id": _ti("dag_run_id"),
    "run_after": _ti("run_after"),
    "rendered_map_index": _ti("rendered_map_index"),
    "task_instance_operator": _ti("operator"),
    "task_instance_state": _ti("state"),
}


def sort_shapes(shapes: list[dict[str, Any]], request: web.Request) -> list[dict[str, Any]]:
    for key, descending in reversed(sort_key_of(request)):
        shapes.sort(key=key, reverse=descending)
    return shapes


def can_respond(request: HITLRequest, user_id: str | None) -> bool:
    """Anyone may answer a request without assigned users; else only they (with auth off,
    everyone is an admin, as in Airflow's simple auth manager with all_admins)."""
    if user_id is None or not request.assigned_users:
        return True
    return user_id in {str(u["id"]) for u in request.assigned_users}
