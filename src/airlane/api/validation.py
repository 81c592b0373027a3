"""Request bodies checked against the OpenAPI document before any handler runs.

The document (:mod:`airlane.api.openapi`) is the contract: a body that does not fit the schema
of its operation is a 422 naming the field, in FastAPI's form, as Airflow's API answers it; the
handlers are left with the rules a schema cannot say (a task that is not in the DAG, a pair of
dates in the wrong order). Without this, each handler checked only the fields it used, and a
field it ignored (``include_deferred: {}``) was accepted although the document refuses it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from airlane.api.errors import ApiError, Handler, invalid
from airlane.api.inputs import parse_datetime
from airlane.api.openapi import PATHS, SCHEMAS

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _body_schema(operation: dict[str, Any]) -> str | None:
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return str(ref).rsplit("/", 1)[-1] or None


@functools.cache
def _bodies() -> dict[tuple[str, str], tuple[str, bool]]:
    """(METHOD, path template) -> the name of its body schema, and whether a body is needed."""
    return {
        (method.upper(), template): (name, operation["requestBody"].get("required", False))
        for template, operations in PATHS.items()
        for method, operation in operations.items()
        if (name := _body_schema(operation))
    }


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    document = {"components": {"schemas": SCHEMAS}}
    registry: Registry[Any] = Registry().with_resource(
        "urn:airlane", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    schema = {"$ref": f"urn:airlane#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=registry, format_checker=_FORMATS)


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ApiError)
def _is_datetime(value: object) -> bool:
    """A date-time as the handlers read it (ISO 8601 with an offset): what the document calls
    a date-time is then never refused by a handler, nor anything else let through."""
    if isinstance(value, str):
        parse_datetime(value, "body", "")
    return True


def body_error(name: str, body: Any) -> ApiError | None:
    """The 422 for ``body`` when it does not fit schema ``name``; None when it does."""
    error: ValidationError | None = best_match(_validator(name).iter_errors(body))
    if error is None:
        return None
    field = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extra = next(key for key in error.instance if key not in known)
        name = ".".join(filter(None, (field, extra)))
        return invalid("body", name, "Extra inputs are not permitted", error.instance[extra])
    # For a missing property, name it (FastAPI's "Field required" at its own location).
    missing = re.match(r"'(.+)' is a required property", error.message)
    if missing and error.validator == "required":
        field = ".".join(filter(None, (field, missing.group(1))))
        return invalid("body", field, "Field required")
    message = _own_words(error) or error.message.split("\n", 1)[0][:300]
    return invalid("body", field, message, error.instance)


def _own_words(error: ValidationError) -> str | None:
    """Why a schema refuses, in its own words (``x-refused``: team_name), where the failing
    schema or one it is part of says."""
    found: ValidationError | None = error
    while found is not None:
        own = found.schema.get("x-refused") if isinstance(found.schema, dict) else None
        if isinstance(own, str):
            return own
        found = found.parent if isinstance(found.parent, ValidationError) else None
    return None


def route_template(request: web.Request) -> str:
    """The path template of the route a request matched (the document's key for it)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else ""


def validation_middleware() -> Middleware:
    """Checks the JSON body of each documented operation that takes one (after auth: a
    request that may not be made is refused before its body is looked at)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in _BODY_METHODS:
            found = _bodies().get((request.method, route_template(request)))
            raw = await request.read() if found is not None else b""  # (kept by aiohttp)
            if found is not None and (raw.strip() or found[1]):
                name = found[0]
                if not raw.strip():
                    raise invalid("body", "", "Field required")
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError as err:
                    raise invalid("body", "", f"JSON decode error: {err}") from None
                error = body_error(name, body)
                if error is not None:
                    raise error
        return await handler(request)

    return middleware
