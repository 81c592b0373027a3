"""A service process's job record (:mod:`airlane.queue.jobs`): registered while it runs.

``async with job_beat(client, keys, JobType.SCHEDULER): await service.run(stop)`` saves the
process's record, refreshes its heartbeat every ``JOB_HEARTBEAT_S`` and removes
it when the block ends. A Redis error only skips a beat: the record is bookkeeping, never a
reason for the service to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from airlane.queue import jobs
from airlane.queue.connection import cancel_until_done
from airlane.queue.jobs import JOB_HEARTBEAT_S, JobRecord, JobType
from airlane.queue.keys import Keys

log = logging.getLogger("airlane.jobs")


def _unixname() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's arbitrary user)
        return str(os.getuid())


def default_identity() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def _register(
    client: aioredis.Redis, keys: Keys, job_type: JobType, identity: str
) -> JobRecord:
    now_s = time.time()
    await jobs.prune(client, keys, now_s)
    record = JobRecord(
        job_id=jobs.job_id_of(identity),
        identity=identity,
        job_type=job_type,
        hostname=await asyncio.to_thread(socket.getfqdn),  # may ask DNS: not on the loop
        unixname=_unixname(),
        pid=os.getpid(),
        start_s=now_s,
        heartbeat_s=now_s,
    )
    await jobs.save(client, keys, record)
    return record


async def _beat(client: aioredis.Redis, keys: Keys, record: JobRecord) -> None:
    while True:
        await asyncio.sleep(record.heartrate_s)
        record = record.beat(time.time())
        try:
            await jobs.save(client, keys, record)
        except (RedisError, OSError) as err:
            log.warning("job %s: heartbeat not saved: %s", record.job_id, err)


@contextlib.asynccontextmanager
async def job_beat(
    client: aioredis.Redis, keys: Keys, job_type: JobType, identity: str | None = None
) -> AsyncIterator[JobRecord | None]:
    """The process's record while the block runs (None when Redis could not take it);
    ``identity`` names the process (a fresh ``<host>-<pid>-<random>`` by default)."""
    try:
        record: JobRecord | None = await _register(
            client, keys, job_type, identity or default_identity()
        )
    except (RedisError, OSError) as err:
        log.warning("%s: no job record: %s", job_type.value, err)
        record = None
    if record is None:
        yield None
        return
    task = asyncio.create_task(_beat(client, keys, record), name="job-beat")
    try:
        yield record
    finally:
        await cancel_until_done([task])  # redis-py may swallow one cancellation mid-save
        with contextlib.suppress(RedisError, OSError):
            await jobs.remove(client, keys, record.job_id)


__all__ = ["JOB_HEARTBEAT_S", "job_beat"]
