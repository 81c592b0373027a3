"""The web UI: static files under ``/ui/`` (plain ES modules, nothing built), ``/`` redirects.

The UI is a client of the public API and the event stream like any other: it signs in through
``/auth/token`` and sends the token with each request, so its pages need no auth of their own.
Every UI response forbids scripts and connections from anywhere but this origin.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

UI_DIR = Path(__file__).resolve().parent / "ui"
UI_PREFIX = "/ui/"
#: what the UI may load: only its own files, its own API, no inline script
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


def is_ui_path(path: str) -> bool:
    return path in ("/", "/ui") or path.startswith(UI_PREFIX)


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(UI_PREFIX)


async def static(request: web.Request) -> web.StreamResponse:
    """One file of the UI; the empty path is ``index.html`` (pages are routed in the client)."""
    name = request.match_info.get("name") or "index.html"
    try:
        path = (UI_DIR / name).resolve()
        found = UI_DIR in path.parents and path.is_file()
    except (ValueError, OSError):  # a NUL byte in the name, a name too long for the system
        found = False
    if not found:
        raise web.HTTPNotFound()
    response = web.FileResponse(path)
    response.content_type = _TYPES.get(path.suffix, "application/octet-stream")
    # Revalidate every time (cheap: FileResponse answers If-Modified-Since with a 304), so a
    # new release is never mixed with cached modules of the last one.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", root)
    app.router.add_get("/ui", root)
    app.router.add_get(UI_PREFIX + "{name:.*}", static)
