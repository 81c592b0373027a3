"""Reading request bodies, query strings and path values, with 422s that name the field."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from airlane.api.errors import ApiError, invalid

MAX_LIMIT = 1000


async def json_body(
    request: web.Request, allowed: Iterable[str], *, required: bool = True
) -> dict[str, Any]:
    """The body as a JSON object whose keys are all in ``allowed`` (an empty one: ``{}`` where
    the body is optional)."""
    raw = await request.read()  # aiohttp refuses bodies over client_max_size with a 413
    if not raw.strip():
        if not required:
            return {}
        raise invalid("body", "", "Field required")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise invalid("body", "", f"JSON decode error: {err}") from None
    if not isinstance(data, dict):
        raise invalid("body", "", "Input should be a valid dictionary or object", data)
    allowed = set(allowed)
    for name in data:
        if name not in allowed:
            raise invalid("body", name, "Extra inputs are not permitted", data[name])
    return data


def opt_str(data: dict[str, Any], name: str, max_length: int | None = None) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid("body", name, "Input should be a valid string", value)
    if max_length is not None and len(value) > max_length:
        raise invalid("body", name, f"String should have at most {max_length} characters", value)
    return value


def opt_bool(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid("body", name, "Input should be a valid boolean", value)
    return value


def opt_dict(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid("body", name, "Input should be a valid dictionary", value)
    return value


def opt_choice(
    data: dict[str, Any], name: str, choices: Collection[str], message: str
) -> str | None:
    """One of ``choices``, or None when absent. Checked as a string first: a JSON list or
    object is unhashable, and testing it against a set would raise a TypeError (a 500)."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or value not in choices:
        raise invalid("body", name, message, value)
    return value


def parse_datetime(value: Any, where: str, name: str) -> datetime:
    if not isinstance(value, str):
        raise invalid(where, name, "Input should be a valid datetime", value)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(where, name, "Input should be a valid datetime", value) from None
    if parsed.tzinfo is None:
        raise invalid(where, name, "Input should have timezone info", value)
    return parsed.astimezone(UTC)


def opt_datetime(data: dict[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    return None if value is None else parse_datetime(value, "body", name)


def query_int(
    request: web.Request, name: str, default: int, minimum: int | None, maximum: int | None
) -> int:
    """An integer from the query; a bound None: none that way (as Airflow's offsets, and
    filters, which any integer may take: it matches nothing)."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid("query", name, "Input should be a valid integer", raw) from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise invalid("query", name, f"Input should be {bounds}", raw)
    return value


def query_float(request: web.Request, name: str) -> float | None:
    """A number from the query, None when absent."""
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise invalid("query", name, "Input should be a valid number", raw) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise invalid("query", name, "Input should be a finite number", raw)
    return value


def as_int(value: Any) -> int | None:
    """A JSON integer, or a number with no fractional part (``3.0``: an integer in JSON Schema,
    and accepted by Airflow's models); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def query_bool(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    lowered = raw.strip().lower()
    if lowered in {"true", "1", "yes", "on"}:
        return True
    if lowered in {"false", "0", "no", "off"}:
        return False
    raise invalid("query", name, "Input should be a valid boolean", raw)


def query_list(request: web.Request, name: str) -> list[str]:
    return [v for v in request.query.getall(name, []) if v]


def page(request: web.Request, default_limit: int = 50) -> tuple[int, int]:
    """(limit, offset) from the query, as Airflow pages lists."""
    limit = query_int(request, "limit", default_limit, 0, MAX_LIMIT)
    offset = query_int(request, "offset", 0, 0, None)
    return limit, offset


def path_int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    try:
        return int(raw)
    except ValueError:
        raise invalid("path", name, "Input should be a valid integer", raw) from None


def masked_fields(
    request: web.Request, body: Mapping[str, Any], immutable: frozenset[str] = frozenset()
) -> set[str]:
    """The body's fields a PATCH changes: those it gives, and of them only the ones
    ``update_mask`` names when it is set (Airflow's rule); a mask naming a field that never
    changes is Airflow's 400."""
    mask = {name.strip() for name in query_list(request, "update_mask")}
    fixed = mask & immutable
    if fixed:
        message = "Update not allowed: the following fields are immutable and cannot be modified"
        raise ApiError(400, f"{message}: {fixed}")
    return set(body) & mask if mask else set(body)


def no_team(data: Mapping[str, Any]) -> None:
    """``team_name`` (pools, variables, connections): Airlane has no teams, so a value is
    refused as Airflow 3.3 refuses one while its multi-team mode is off (its default)."""
    team = data.get("team_name")
    if team is None:
        return
    if not isinstance(team, str) or len(team) > 50:
        raise invalid(
            "body", "team_name", "Input should be a string of at most 50 characters", team
        )
    message = (
        "team_name cannot be set when multi_team mode is disabled. Please contact your "
        "administrator."
    )
    raise invalid("body", "team_name", message, team)
