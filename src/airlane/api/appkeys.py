"""Typed keys of what the application holds (aiohttp ``AppKey``)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from airlane.api.auth import AuthConfig
from airlane.api.event_hub import EventStreamSettings
from airlane.queue.store import Store

STORE = web.AppKey("store", Store)
AUTH = web.AppKey("auth", AuthConfig)
#: AIRLANE_CREATE_CRON_DATA_INTERVALS, so the API plans next runs as the scheduler does
DATA_INTERVALS_DEFAULT = web.AppKey("data_intervals_default", bool)
#: the event stream's limits and the Redis it reads with its own connections
EVENTS_SETTINGS = web.AppKey("events_settings", EventStreamSettings)
EVENTS_REDIS_URL = web.AppKey("events_redis_url", str)
#: the connection tests running in the background (api/connection_tests.py)
CONNECTION_TESTS = web.AppKey("connection_tests", set[asyncio.Task[None]])
CONNECTION_TEST_SLOTS = web.AppKey("connection_test_slots", asyncio.Semaphore)
