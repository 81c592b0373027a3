"""The aiohttp application: ``create_app(settings, auth)`` and ``serve`` for the CLI.

The API never imports DAG files: it reads serialized DAGs and state from Redis and writes
commands for the coordinator (see :mod:`airlane.queue.store`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from airlane.api import (
    assets,
    backfills,
    bulk_resources,
    bulk_runs,
    bulk_tis,
    config,
    connection_tests,
    connections,
    dag_meta,
    dag_parsing,
    dag_runs,
    dag_versions,
    dags,
    deadlines,
    event_logs,
    events,
    group_marks,
    hitl,
    jobs,
    metrics,
    monitor,
    openapi,
    pools,
    providers,
    run_clears,
    state_store,
    task_instances,
    task_logs,
    ti_dependencies,
    variables,
    webui,
    workers,
    xcoms,
)
from airlane.api import plugins as api_plugins
from airlane.api.appkeys import (
    AUTH,
    DATA_INTERVALS_DEFAULT,
    EVENTS_REDIS_URL,
    EVENTS_SETTINGS,
    STORE,
)
from airlane.api.auth import AuthConfig, auth_middleware, auth_routes, is_loopback
from airlane.api.errors import error_middleware
from airlane.api.event_hub import EventStreamSettings
from airlane.api.event_logs import event_log_middleware
from airlane.api.revocation import RevocationCache
from airlane.api.validation import validation_middleware
from airlane.dag_loader import plugins
from airlane.queue.connection import connect
from airlane.queue.keys import Keys
from airlane.queue.store import Store

log = logging.getLogger("airlane.api")


@dataclass(frozen=True, slots=True)
class ApiSettings:
    redis_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    #: request bodies over this are refused with 413
    max_body_bytes: int = 1024 * 1024
    #: AIRLANE_CREATE_CRON_DATA_INTERVALS (the scheduler's default semantics)
    data_intervals_default: bool = False
    #: AIRLANE_API_IDLE_TIMEOUT_S: a connection that has not sent a whole request's headers
    #: this long after it opened or after its last response is closed (slow clients)
    idle_timeout_s: float = 30.0
    #: AIRLANE_API_SSE_*: limits of the event stream
    events: EventStreamSettings = field(default_factory=EventStreamSettings)
    #: the effective settings /api/v2/config shows (and whether it shows them)
    config_view: config.ConfigView = field(default_factory=config.ConfigView)


class ApiRefused(RuntimeError):
    """The API will not start as configured (for example open to the network, no users)."""


def create_app(settings: ApiSettings, auth: AuthConfig) -> web.Application:
    keys = Keys.from_env()
    revocations = RevocationCache(keys)
    app = web.Application(
        middlewares=[
            error_middleware,
            auth_middleware(auth, revocations),
            event_log_middleware(),
            validation_middleware(),
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[AUTH] = auth
    app[DATA_INTERVALS_DEFAULT] = settings.data_intervals_default
    app[EVENTS_SETTINGS] = settings.events
    app[EVENTS_REDIS_URL] = settings.redis_url
    app[config.CONFIG_VIEW] = settings.config_view

    async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
        client = connect(settings.redis_url, client_name="airlane-api")
        app[STORE] = Store(client, keys)
        revocations.bind(client)
        yield
        await client.aclose()

    app.cleanup_ctx.append(redis_ctx)

    auth_routes(app, auth, revocations)
    modules = (
        monitor,
        dags,
        dag_runs,
        run_clears,
        task_instances,
        group_marks,
        task_logs,
        ti_dependencies,
        xcoms,
        deadlines,
        state_store,
        event_logs,
        events,
        pools,
        variables,
        connection_tests,  # (before connections: its path is not a connection id)
        connections,
        backfills,
        config,
        openapi,
        metrics,
        workers,
        hitl,
        jobs,
        providers,
        api_plugins,
        assets,
        webui,
        dag_meta,
        dag_parsing,
        dag_versions,
        bulk_resources,
        bulk_runs,
        bulk_tis,
    )
    for module in modules:
        module.add_routes(app)
    return app


def check_exposure(settings: ApiSettings, auth: AuthConfig) -> None:
    if not auth.users and not is_loopback(settings.host):
        raise ApiRefused(
            f"refusing to listen on {settings.host} with no API users configured: set "
            "AIRLANE_API_USERS (name:password:role,...) or listen on 127.0.0.1"
        )


async def serve(settings: ApiSettings, auth: AuthConfig, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set."""
    check_exposure(settings, auth)
    # the next-run fields of DAGs with custom timetables need the plugins' classes
    await asyncio.to_thread(plugins.ensure_loaded)
    # aiohttp's keep-alive timer also runs from the moment a connection opens until its
    # request's headers are parsed, so it bounds slow-loris clients as well as idle ones.
    runner = web.AppRunner(
        create_app(settings, auth), access_log=None, keepalive_timeout=settings.idle_timeout_s
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    log.info("API listening on http://%s:%s/api/v2", settings.host, settings.port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
