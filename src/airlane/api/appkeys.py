"""Typed keys of what the application holds (aiohttp ``AppKey``)."""

from __future__ import annotations

from aiohttp import web

from airlane.api.auth import AuthConfig
from airlane.queue.store import Store

STORE = web.AppKey("store", Store)
AUTH = web.AppKey("auth", AuthConfig)
