"""The triggerer role (``airlane triggerer``): runs deferred tries' triggers and resumes the
tries when they fire.

Leases (queue/scripts/triggers.py): triggers sit in one sorted set scored by lease expiry. Each
triggerer claims the expired ones up to its capacity every ``poll_s``, and renews all of its own
in one call every ``lease_s / 3``; one that dies (or stalls past its lease) has its triggers
taken by another within ``lease_s``, and learns at its next renewal which ones it lost (it
cannot fire them meanwhile: firing checks the owner). A sorted set rather than one key per
trigger: claiming is one range read, renewing one call for thousands of triggers. Each renewal
also writes this triggerer's status (``triggerers``) and removes those of triggerers dead for
ten leases (a SIGKILLed one never removes its own; a stopped one does).

Identical triggers (the same ``serialize()``) are one trigger key, run once; its event resumes
every try waiting on it. Timeouts are swept by every triggerer (idempotent). A watchdog logs
when a trigger blocks the event loop, as Airflow's triggerer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import time
import uuid

import orjson
import redis
import redis.asyncio as aioredis

from airlane.dag_loader import airflow_compat, plugins
from airlane.queue.asset_watchers import WatcherLeases
from airlane.queue.coalesce import Coalescer
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.keys import Keys
from airlane.queue.scripts import (
    ClaimTriggers,
    Fire,
    FireTriggers,
    RenewTriggers,
    Scripts,
    TimeOutDeferred,
)
from airlane.sdk.connection_store import use_connection_store
from airlane.sdk.hitl_detail import HITL_WATCH
from airlane.sdk.secrets_masker import mask_handlers, unmask_handlers
from airlane.sdk.state_store import use_state_backend
from airlane.sdk.triggers.run_state_counter import install_state_counter
from airlane.sdk.variable import use_variable_store
from airlane.service.connections.redis_store import RedisConnectionStore
from airlane.service.execution.redis_run_states import AsyncRedisRunStateLookup
from airlane.service.execution.redis_state_store import RedisStateBackend
from airlane.service.execution.redis_variables import RedisVariableStore
from airlane.service.triggerer.decisions import TIMEOUT_KWARGS_JSON, claim_limit
from airlane.service.triggerer.hitl_watch import RedisHITLWatch
from airlane.service.triggerer.runner import TriggerRunner
from airlane.service.triggerer.settings import TriggererSettings
from airlane.service.triggerer.watcher_record import WatcherEvents
from airlane.service.triggerer.watchers import WatcherRunner

log = logging.getLogger("airlane.triggerer")

BLOCKED = (
    "Triggerer's async thread was blocked for %.2f seconds, likely by a badly-written trigger. "
    "Set PYTHONASYNCIODEBUG=1 to get more information on overrunning coroutines."
)


class Triggerer:
    def __init__(self, settings: TriggererSettings, client: aioredis.Redis, keys: Keys) -> None:
        self.settings = settings
        self.client = client
        self.keys = keys
        self.scripts = Scripts.register(client, keys)
        self.triggerer_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.runner = TriggerRunner(self._ended)
        watcher_events = WatcherEvents(client, keys)
        self.watchers = WatcherRunner(
            self.triggerer_id,
            WatcherLeases(client, keys),
            watcher_events.plan,
            watcher_events.record,
            settings.lease_s,
        )
        self.fires: Coalescer[Fire, int] = Coalescer(self._fire_many)
        #: HITL triggers read their answers through it, told of each one as it is written
        self.hitl = RedisHITLWatch(client, keys)
        #: counters for /metrics (also in the ``triggerers`` status)
        self.events_fired = 0
        self.blocked_count = 0
        self.last_block_s = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``; triggers' hooks read connections and variables from Redis, and asset
        watchers their assets' state store (the stores are context variables: every trigger
        task inherits them). The secrets they
        read are masked in every log line of this process."""
        sync_client = redis.Redis.from_url(self.settings.redis_url, decode_responses=True)
        masked = mask_handlers(logging.getLogger().handlers)
        try:
            with (
                use_connection_store(RedisConnectionStore(sync_client, self.keys)),
                use_variable_store(RedisVariableStore(sync_client, self.keys)),
                use_state_backend(RedisStateBackend(sync_client, self.keys)),
            ):
                await self._serve(stop)
        finally:
            unmask_handlers(masked)
            sync_client.close()

    async def _serve(self, stop: asyncio.Event) -> None:
        self._prepare_imports()
        log.info(
            "triggerer %s: capacity %d, lease %gs",
            self.triggerer_id,
            self.settings.capacity,
            self.settings.lease_s,
        )
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await self.hitl.start()
        HITL_WATCH.append(self.hitl)
        background = [
            asyncio.create_task(self._watchdog(stop)),
            asyncio.create_task(self._renew_loop(stop)),
            asyncio.create_task(self.hitl.listen(stop)),
            asyncio.create_task(self._watcher_loop(stop)),
        ]
        try:
            while not stop.is_set():
                await self._round()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.poll_s)
        finally:
            await self.runner.cancel_all()
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await self.watchers.stop_all()
            await self.fires.wait_idle()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            HITL_WATCH.remove(self.hitl)
            await self._release()

    def _prepare_imports(self) -> None:
        """Triggers are imported by classpath: Airflow's paths through the shim, and modules
        of the DAGs and plugins folders."""
        airflow_compat.install()
        plugins.ensure_loaded()
        # the external-task triggers read other DAGs' runs through this (h7-triggerui)
        install_state_counter(AsyncRedisRunStateLookup(self.client, self.keys))
        folder = os.path.abspath(self.settings.dags_folder)
        if folder not in sys.path:
            sys.path.append(folder)

    async def _round(self) -> None:
        try:
            await self._claim()
            await self.scripts.time_out_deferred(
                TimeOutDeferred(time.time(), self.settings.batch, TIMEOUT_KWARGS_JSON)
            )
        except TRANSIENT_ERRORS:
            log.warning("Redis unavailable; the triggerer retries")
        except Exception:
            log.exception("triggerer round failed")

    async def _claim(self) -> None:
        limit = claim_limit(self.settings.capacity, len(self.runner), self.settings.batch)
        if limit <= 0:
            return
        now_ms = int(time.time() * 1000)
        lease_ms = int(self.settings.lease_s * 1000)
        call = ClaimTriggers(self.triggerer_id, now_ms, lease_ms, limit)
        for key, classpath, kwargs_json in await self.scripts.claim_triggers(call):
            await self.runner.start(key, classpath, kwargs_json)

    def _ended(self, fire: Fire) -> None:
        future = self.fires.submit(fire)
        future.add_done_callback(_log_failed_fire)

    async def _fire_many(self, fires: list[Fire]) -> list[int]:
        resumed = await self.scripts.fire_triggers(FireTriggers(self.triggerer_id, tuple(fires)))
        self.events_fired += len(fires)
        return [resumed] * len(fires)

    async def _renew_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.renew_every_s)
            if stop.is_set():
                return
            try:
                await self._renew()
            except TRANSIENT_ERRORS:
                log.warning("Redis unavailable: trigger leases not renewed")
            except Exception:
                log.exception("renewing trigger leases failed")

    async def _watcher_loop(self, stop: asyncio.Event) -> None:
        """Asset watchers: plan, lease and start them every ``watcher_refresh_s``."""
        while not stop.is_set():
            try:
                await self.watchers.round(self.settings.batch)
            except TRANSIENT_ERRORS:
                log.warning("Redis unavailable: asset watcher leases not renewed")
            except Exception:
                log.exception("asset watcher round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.watcher_refresh_s)

    async def _renew(self) -> None:
        now_ms = int(time.time() * 1000)
        held = tuple(self.runner.tasks)
        call = RenewTriggers(
            self.triggerer_id, now_ms, int(self.settings.lease_s * 1000), held, self._status()
        )
        for key in await self.scripts.renew_triggers(call):
            log.info("trigger %s is no longer ours (taken over, fired or not waited on)", key)
            self.runner.cancel(key)

    def _status(self) -> str:
        return orjson.dumps(
            {
                "running": len(self.runner),
                "capacity": self.settings.capacity,
                "events_fired": self.events_fired,
                "asset_watchers": len(self.watchers),
                "blocked": self.blocked_count,
                "last_block_s": self.last_block_s,
                "at": time.time(),
            }
        ).decode()

    async def _release(self) -> None:
        """Stopping: give our leases back at once (another triggerer takes them next poll)."""
        held = tuple(await self._held_keys())
        if held:
            with contextlib.suppress(*TRANSIENT_ERRORS):
                call = RenewTriggers(self.triggerer_id, 0, 0, held, "{}")
                await self.scripts.renew_triggers(call)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await self.client.hdel(self.keys.triggerers, self.triggerer_id)

    async def _held_keys(self) -> list[str]:
        try:
            owners = await self.client.hgetall(self.keys.trigger_owners)
        except TRANSIENT_ERRORS:
            return []
        return [_text(k) for k, v in owners.items() if _text(v) == self.triggerer_id]

    async def _watchdog(self, stop: asyncio.Event) -> None:
        """Airflow's block watchdog: a 0.1 s sleep that took longer than ``block_warn_s``
        means something held the loop."""
        while not stop.is_set():
            started = time.monotonic()
            await asyncio.sleep(0.1)
            elapsed = time.monotonic() - started
            if elapsed > self.settings.block_warn_s:
                self.blocked_count += 1
                self.last_block_s = elapsed
                log.warning(BLOCKED, elapsed)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _log_failed_fire(future: asyncio.Future[int]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error(
            "firing a trigger failed: %r (its lease lapses; another run fires it)",
            future.exception(),
        )
