"""Asset watchers on the triggerer: long-lived triggers whose every event becomes an asset event.

Each round (every ``refresh_s``) reads the asset registry, plans the watchers that should run
(:mod:`watcher_plan`: those of assets an active, unpaused DAG is scheduled on, as Airflow),
and renews, gives back and takes their leases (:mod:`airlane.queue.asset_watchers`). A held
watcher runs as one asyncio task: each event it yields is recorded, for every asset it watches,
with Airflow's extra ``{"from_trigger": true, "payload": ...}`` before the trigger is asked for
the next one, and the trigger keeps running. A trigger that can tell its events apart
(``event_key``, as the Redis-stream trigger's entry ids) has each recorded once even when a
restart delivers it again. A watcher that ends or fails is started again after ``retry_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from airlane.queue.asset_watchers import LeaseWatchers, WatcherLeases
from airlane.sdk.assets import AssetNameRef
from airlane.sdk.module_loading import import_string
from airlane.sdk.state_store import AssetStateStoreAccessors
from airlane.sdk.triggers import BaseEventTrigger, BaseTrigger, TriggerEvent, serde
from airlane.service.triggerer.watcher_plan import WatcherSpec

log = logging.getLogger("airlane.triggerer")

#: records one watcher event: (its spec, its watcher key, the event, its dedupe key or None)
Record = Callable[[WatcherSpec, str, TriggerEvent, str | None], Awaitable[None]]
#: the watchers that should run now, by key
Plan = Callable[[], Awaitable[dict[str, WatcherSpec]]]


class WatcherRunner:
    """The watchers this triggerer holds, each an asyncio task."""

    def __init__(
        self,
        triggerer_id: str,
        leases: WatcherLeases,
        plan: Plan,
        record: Record,
        lease_s: float,
        retry_s: float = 5.0,
    ) -> None:
        self.triggerer_id = triggerer_id
        self.leases = leases
        self.plan = plan
        self.record = record
        self.lease_s = lease_s
        self.retry_s = retry_s
        self.tasks: dict[str, asyncio.Task[None]] = {}
        #: the watchers whose lease this triggerer holds (running, or to start again)
        self.owned: set[str] = set()
        self._failed_at: dict[str, float] = {}
        self.events_recorded = 0

    def __len__(self) -> int:
        return len(self.tasks)

    async def round(self, limit: int) -> None:
        wanted = await self.plan()
        now = time.monotonic()
        held = sorted(self.owned)
        call = LeaseWatchers(
            self.triggerer_id,
            int(time.time() * 1000),
            int(self.lease_s * 1000),
            limit,
            list(wanted),
            held,
        )
        stop, taken = await self.leases.round(call)
        for key in stop:
            self.owned.discard(key)
            self._cancel(key)
        self.owned.update(taken)
        for key in sorted(self.owned):
            due = now - self._failed_at.get(key, now - self.retry_s) >= self.retry_s
            if key in wanted and key not in self.tasks and due:
                self._start(key, wanted[key])

    def _start(self, key: str, spec: WatcherSpec) -> None:
        task = asyncio.create_task(self._run(key, spec), name=f"watcher-{key}")
        self.tasks[key] = task
        task.add_done_callback(lambda _: self._forget(key, task))

    def _forget(self, key: str, task: asyncio.Task[None]) -> None:
        if self.tasks.get(key) is task:
            del self.tasks[key]

    def _cancel(self, key: str) -> None:
        task = self.tasks.pop(key, None)
        if task is not None:
            log.info("asset watcher %s stops (no longer wanted or no longer ours)", key)
            task.cancel()

    async def stop_all(self) -> None:
        held = sorted(self.owned)
        tasks = list(self.tasks.values())
        self.tasks.clear()
        self.owned.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.leases.release(self.triggerer_id, held)

    async def _run(self, key: str, spec: WatcherSpec) -> None:
        try:
            trigger = await _build(spec)
        except Exception:
            log.exception("asset watcher trigger %s could not be built", spec.classpath)
            self._failed_at[key] = time.monotonic()
            return
        trigger.trigger_id = key
        if isinstance(trigger, BaseEventTrigger):  # (Airflow 3.3's triggerer injects it too)
            trigger.asset_state_store = watched_state(spec.asset_names)
        log.info("asset watcher %s starting for %s", spec.classpath, ", ".join(spec.asset_names))
        events = trigger.run()
        event_key: Callable[[TriggerEvent], str | None] | None = getattr(trigger, "event_key", None)
        try:
            async for event in events:
                dedupe = event_key(event) if event_key is not None else None
                await self.record(spec, key, event, dedupe)
                self.events_recorded += 1
            log.warning("asset watcher %s ended; it starts again", spec.classpath)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("asset watcher %s failed; it starts again", spec.classpath)
        finally:
            self._failed_at[key] = time.monotonic()  # not started again before retry_s
            with contextlib.suppress(Exception):
                await events.aclose()  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):
                await trigger.cleanup()


def watched_state(asset_names: tuple[str, ...]) -> AssetStateStoreAccessors:
    """The state store of the assets a watcher makes events for (``asset_state_store``: one
    accessor per asset by name; a watcher of one asset may call the methods directly). Their
    ``aget``/``aset`` reach Redis through the triggerer's backend, in a thread."""
    return AssetStateStoreAccessors([AssetNameRef(name) for name in asset_names])


async def _build(spec: WatcherSpec) -> BaseTrigger:
    cls: Any = await asyncio.to_thread(import_string, spec.classpath)
    trigger: BaseTrigger = cls(**serde.loads(spec.kwargs_json))
    return trigger
