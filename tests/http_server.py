"""A local HTTP server for tests of the http provider: an aiohttp app on 127.0.0.1, run on its
own event loop in a thread, recording every request it answers."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: str


class HttpServer:
    """``/ready`` answers 404 for its first ``not_ready_hits`` requests, then ``ready``; ``/post``
    and ``/put`` echo their JSON body as ``{"json": ...}``; ``/get`` echoes its query as
    ``{"args": ...}``; ``/nested`` answers ``{"nested": {"property": "value"}}``."""

    def __init__(self, not_ready_hits: int = 2) -> None:
        self.not_ready_hits = not_ready_hits
        self.seen: list[Seen] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def paths(self, method: str) -> list[str]:
        return [s.path for s in self.seen if s.method == method]

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/ready", self._ready)
        app.router.add_post("/post", self._echo_json)
        app.router.add_put("/put", self._echo_json)
        app.router.add_get("/get", self._echo_query)
        app.router.add_get("/nested", self._nested)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.text()
        self.seen.append(Seen(request.method, request.path, dict(request.query), body))
        response: web.StreamResponse = await handler(request)
        return response

    async def _ready(self, request: web.Request) -> web.Response:
        if self.paths("GET").count("/ready") <= self.not_ready_hits:
            return web.Response(status=404, text="not yet")
        return web.Response(text="ready")

    async def _echo_json(self, request: web.Request) -> web.Response:
        return web.json_response({"json": await request.json(), "method": request.method})

    async def _echo_query(self, request: web.Request) -> web.Response:
        return web.json_response({"args": dict(request.query)})

    async def _nested(self, request: web.Request) -> web.Response:
        return web.json_response({"nested": {"property": "value"}})
