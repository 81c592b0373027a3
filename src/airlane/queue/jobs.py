"""Airlane's service processes as Airflow's jobs: the ``jobs`` hash of ``JobRecord`` JSON.

Each coordinator, triggerer, DAG processor and worker process registers itself when it
starts, beats every few seconds and removes its record when it stops
(:mod:`airlane.service.job_beat`); the API lists them as Airflow's ``/api/v2/jobs``. A
process that died keeps its record, no longer alive once its heartbeat is older than its
type's threshold (Airflow's: 30 s for schedulers and triggerers, 2.1 heartbeats for others),
until a process starting a day later prunes it.

A job's id is a stable number derived from the process's identity (a triggerer's is its
triggerer id, so that a deferred task instance's ``triggerer_job`` names the same job as the
list: :func:`airlane.api.trigger_shapes.numeric_id` derives it the same way).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import asdict, dataclass, replace

import orjson
import redis.asyncio as aioredis

from airlane.queue import typed
from airlane.queue.keys import Keys

#: seconds between two heartbeats of a job record (Airflow's ``job_heartbeat_sec``)
JOB_HEARTBEAT_S = 5.0
#: a record whose heartbeat is older than this is removed when a process starts
JOB_RETENTION_S = 24 * 3600.0
#: Airflow's ``scheduler_health_check_threshold`` and ``triggerer_health_check_threshold``
HEALTH_THRESHOLD_S = 30.0
#: Airflow's multiplier of the heartbeat for the other jobs' threshold
GRACE_MULTIPLIER = 2.1


class JobType(enum.StrEnum):
    SCHEDULER = "SchedulerJob"
    TRIGGERER = "TriggererJob"
    DAG_PROCESSOR = "DagProcessorJob"
    #: Airlane's own: Airflow's workers are no jobs
    WORKER = "WorkerJob"


def job_id_of(identity: str) -> int:
    """A stable positive integer for a process's identity (fits a signed 64-bit column)."""
    return int(hashlib.sha256(identity.encode()).hexdigest()[:15], 16)


@dataclass(frozen=True, slots=True)
class JobRecord:
    job_id: int
    #: the process's own name for itself (``<host>-<pid>-<random>``; a triggerer's id)
    identity: str
    job_type: JobType
    hostname: str
    unixname: str
    pid: int
    start_s: float
    heartbeat_s: float
    #: seconds between this process's heartbeats
    heartrate_s: float = JOB_HEARTBEAT_S

    def threshold_s(self) -> float:
        if self.job_type in {JobType.SCHEDULER, JobType.TRIGGERER}:
            return HEALTH_THRESHOLD_S
        return self.heartrate_s * GRACE_MULTIPLIER

    def is_alive(self, now_s: float) -> bool:
        return now_s - self.heartbeat_s < self.threshold_s()

    def encode(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    def beat(self, now_s: float) -> JobRecord:
        return replace(self, heartbeat_s=now_s)


def decode(raw: str) -> JobRecord | None:
    """The record in ``raw``; None when it is not one (written by another version)."""
    try:
        data = orjson.loads(raw)
        return JobRecord(
            job_id=int(data["job_id"]),
            identity=str(data["identity"]),
            job_type=JobType(data["job_type"]),
            hostname=str(data["hostname"]),
            unixname=str(data["unixname"]),
            pid=int(data["pid"]),
            start_s=float(data["start_s"]),
            heartbeat_s=float(data["heartbeat_s"]),
            heartrate_s=float(data.get("heartrate_s", JOB_HEARTBEAT_S)),
        )
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
        return None


async def save(client: aioredis.Redis, keys: Keys, record: JobRecord) -> None:
    await client.hset(keys.jobs, str(record.job_id), record.encode())


async def remove(client: aioredis.Redis, keys: Keys, job_id: int) -> None:
    await client.hdel(keys.jobs, str(job_id))


async def all_jobs(client: aioredis.Redis, keys: Keys) -> list[JobRecord]:
    """Every record, by id."""
    raw = await typed.hgetall(client, keys.jobs)
    found = (decode(value) for value in raw.values())
    return sorted((record for record in found if record is not None), key=lambda r: r.job_id)


async def prune(client: aioredis.Redis, keys: Keys, now_s: float) -> int:
    """Remove the records silent for longer than ``JOB_RETENTION_S`` (and unreadable ones)."""
    raw = await typed.hgetall(client, keys.jobs)
    stale = []
    for field, value in raw.items():
        record = decode(value)
        if record is None or now_s - record.heartbeat_s > JOB_RETENTION_S:
            stale.append(field)
    if stale:
        await client.hdel(keys.jobs, *stale)
    return len(stale)


async def prune_before(
    client: aioredis.Redis, keys: Keys, before_s: float, dry_run: bool = False
) -> int:
    """``db clean``: remove (with ``dry_run`` only count) the records whose last heartbeat is
    before ``before_s`` (Airflow's ``job`` table, by ``latest_heartbeat``)."""
    raw = await typed.hgetall(client, keys.jobs)
    stale = []
    for field, value in raw.items():
        record = decode(value)
        if record is not None and record.heartbeat_s < before_s:
            stale.append(field)
    if stale and not dry_run:
        await client.hdel(keys.jobs, *stale)
    return len(stale)
