"""Keeping a job's in-progress mark alive for as long as the role works on it.

arq marks a job in progress when it takes it (``in_progress_timeout_s``) and takes any queued
job whose mark is gone: a mark that lapses while the role still works on the job (reading the
run, recording what was delivered, reporting the outcome) lets this role or a replica run the
job a second time at once. :func:`renewing` pushes the mark's expiry back as soon as it is
entered, then every ``every_s``, until it is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from airlane.queue.connection import TRANSIENT_ERRORS

log = logging.getLogger("airlane.callbacks")


@contextlib.asynccontextmanager
async def renewing(client: Any, key: str, ttl_s: float, every_s: float) -> AsyncIterator[None]:
    """While inside: ``key`` expires no sooner than ``ttl_s`` after the last renewal."""
    ttl_ms = int(ttl_s * 1000)
    await client.pexpire(key, ttl_ms)
    task = asyncio.create_task(_renew(client, key, ttl_ms, every_s))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _renew(client: Any, key: str, ttl_ms: int, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            if not await client.pexpire(key, ttl_ms):
                log.warning("%s: the in-progress mark was gone when renewed", key)
        except TRANSIENT_ERRORS as err:
            log.warning("%s: the in-progress mark not renewed (%s)", key, err)
