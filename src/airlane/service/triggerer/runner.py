"""Triggers as asyncio tasks on one event loop: build each from its classpath and kwargs, await
its first event, report how it ended, clean it up. Thousands fit in one process: a trigger
waiting on a sleep or a socket costs a coroutine, not a thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from airlane.queue.scripts import Fire
from airlane.sdk.module_loading import import_string
from airlane.sdk.triggers import BaseTrigger, serde
from airlane.service.execution.trigger_kwargs import unseal
from airlane.service.triggerer.decisions import NO_EVENT, fire_for_event, fire_for_failure

log = logging.getLogger("airlane.triggerer")


class TriggerRunner:
    """The triggers this process runs, by trigger key; ``on_end`` gets each one's end."""

    def __init__(self, on_end: Callable[[Fire], None]) -> None:
        self.on_end = on_end
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._classes: dict[str, type[BaseTrigger]] = {}

    def __len__(self) -> int:
        return len(self.tasks)

    async def start(self, key: str, classpath: str, kwargs_json: str) -> None:
        """Run a trigger (``kwargs_json`` as stored: encrypted when a Fernet key is set)."""
        if key in self.tasks:
            return
        try:
            trigger = (await self._class(classpath))(**serde.loads(unseal(kwargs_json)))
        except Exception as err:
            log.exception("trigger %s could not be built", classpath)
            self.on_end(fire_for_failure(key, err))
            return
        trigger.trigger_id = key
        task = asyncio.create_task(self._run(key, trigger), name=f"trigger-{key}")
        self.tasks[key] = task
        task.add_done_callback(lambda _: self._forget(key, task))

    def _forget(self, key: str, task: asyncio.Task[None]) -> None:
        if self.tasks.get(key) is task:
            del self.tasks[key]

    def cancel(self, key: str) -> None:
        task = self.tasks.pop(key, None)
        if task is not None:
            task.cancel()

    async def cancel_all(self) -> None:
        tasks = list(self.tasks.values())
        self.tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _class(self, classpath: str) -> type[BaseTrigger]:
        known = self._classes.get(classpath)
        if known is not None:
            return known
        # importing may read files: not on the loop
        cls: type[BaseTrigger] = await asyncio.to_thread(import_string, classpath)
        self._classes[classpath] = cls
        return cls

    async def _run(self, key: str, trigger: BaseTrigger) -> None:
        name = repr(trigger)
        log.info("trigger %s starting", name)
        events = trigger.run()
        try:
            async for event in events:
                log.info("Trigger fired event %s: %r", name, event)
                self.on_end(fire_for_event(key, event))
                return
            log.error("%s (%s)", NO_EVENT, name)
            self.on_end(fire_for_failure(key, None))
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.exception("trigger %s failed", name)
            self.on_end(fire_for_failure(key, err))
        finally:
            with contextlib.suppress(Exception):
                await events.aclose()  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):
                await trigger.cleanup()
            log.info("trigger %s completed", name)
