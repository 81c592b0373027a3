"""Errors as Airflow's API returns them: a status code and ``{"detail": ...}``.

Validation failures are 422 with FastAPI's list form, each entry naming where the bad value is
(``loc``: ``["body", "conf"]``, ``["query", "limit"]``...), so clients written for Airflow read
them unchanged. Nothing a client sends may produce a 500: handlers raise :class:`ApiError`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

log = logging.getLogger("airlane.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} was not found")


def conflict(detail: str) -> ApiError:
    return ApiError(409, detail)


def invalid(where: str, name: str, message: str, value: Any = None) -> ApiError:
    """422 for one bad value; ``where`` is body, query or path."""
    parts = name.split(".") if name else []
    # (list indexes as integers, as pydantic's; only plain ASCII digits are one)
    loc: list[Any] = [where, *(int(p) if p.isascii() and p.isdecimal() else p for p in parts)]
    entry = {"type": "value_error", "loc": loc, "msg": message, "input": value}
    return ApiError(422, [entry])


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return json_response({"detail": err.detail}, err.status)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        # aiohttp's own refusals (unknown route, wrong method, body too large) in Airflow's form
        headers = {k: v for k, v in err.headers.items() if k.lower() == "allow"}
        if headers:
            # aiohttp lists the methods of every route the path matches (a task named "list"
            # and the batch ".../taskInstances/list"); the document says which resource it is.
            from airlane.api.openapi import documented_methods  # here: openapi imports errors

            methods = documented_methods(request.path)
            if methods:
                headers = {"Allow": ",".join(sorted(methods))}
        response = json_response({"detail": err.reason}, err.status)
        response.headers.update(headers)
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_response({"detail": "Internal Server Error"}, 500)
