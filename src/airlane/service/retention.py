"""Run retention: finished runs older than a cutoff leave Redis with every key they own.

Shared by ``airlane db clean --clean-before-timestamp`` (Airflow's command) and the
coordinator's housekeeping (``AIRLANE_RUN_RETENTION_DAYS``). As in Airflow's ``db clean``, a
run's age is its start date (its queue time when it never started), and the newest run of each
DAG that was not triggered by hand is kept (Airflow keeps it for the scheduler; here it keeps
``depends_on_past`` and the DAG's "last run" meaningful). Unlike Airflow, only finished runs
(success, failed) are removed: a queued or running one never is, whatever its age.

A run is removed in one transaction watched on its hash, so a clear or mark that reopens it
meanwhile makes the removal give up rather than delete a run coming back to life.

Airflow's ``db clean`` cleans other tables by the same cutoff; so does :func:`clean_all`: asset
events by their timestamp (with their links; the assets' registry stays:
queue/asset_retention.py), DAG versions by their creation (not the current one nor one a run
left uses: queue/dag_admin.py) and job records by their last heartbeat (Airflow's ``job``
table), the latter only when no DAG is chosen (a job belongs to no DAG). The coordinator's
housekeeping removes asset events and DAG versions past the retention too, and job records
silent for a day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from airlane.engine.deadlines import run_deadlines, run_entries
from airlane.queue import jobs, typed
from airlane.queue.asset_retention import (
    EventCleaning,
    clean_events,
    consumed_ids,
    forget_run_assets,
    source_fields,
)
from airlane.queue.callback_jobs import RUN_GENERATION, job_ids_of_run, run_generation
from airlane.queue.codec import decode_ti
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.dag_admin import clean_versions
from airlane.queue.deadline_jobs import deadline_job_ids
from airlane.queue.deferral_entries import forget_run_deferrals
from airlane.queue.keys import Keys, parse_ti_field, parse_try_field, run_ref
from airlane.queue.store import Store
from airlane.service.execution.redis_state_store import remove_expired

log = logging.getLogger("airlane.retention")

FINISHED = frozenset({"success", "failed"})
#: runs read per round trip while looking for expired ones
PAGE_SIZE = 200
#: newest runs of a DAG looked at to find the one to keep (the newest not made by hand)
KEEP_LAST_SCAN = 50


@dataclass(frozen=True, slots=True)
class CleanRequest:
    before_s: float
    #: None: every DAG (known or inactive)
    dag_ids: frozenset[str] | None = None
    exclude_dag_ids: frozenset[str] = frozenset()
    dry_run: bool = False
    #: stop after this many runs (housekeeping's bounded batch); None: no limit
    max_runs: int | None = None


def started_s(fields: dict[str, str]) -> float | None:
    """When a run started (its queue time if it never did), as Airflow's recency column."""
    for name in ("start_date", "queued_at"):
        value = fields.get(name)
        if value:
            try:
                return float(value)
            except ValueError:
                return None  # a malformed record is kept, never guessed old
    return None


def is_expired(fields: dict[str, str], before_s: float) -> bool:
    """A finished run that started before ``before_s``."""
    started = started_s(fields)
    return fields.get("state") in FINISHED and started is not None and started < before_s


def run_keys(
    keys: Keys, dag_id: str, run_id: str, tis: dict[str, str], tries: Iterable[str]
) -> list[str]:
    """Every per-run key of a run: its hash, instances, claims, tries, rendered fields, each
    task's XComs and state store and each try's log. ``tis`` is the run's instance hash,
    ``tries`` the field names of its try history ("<task>|<map_index>|<try>")."""
    doomed = [
        keys.run(dag_id, run_id),
        keys.tis(dag_id, run_id),
        keys.claims(dag_id, run_id),
        keys.tries(dag_id, run_id),
        keys.rendered(dag_id, run_id),
        keys.hitl(dag_id, run_id),
        keys.hitl_responses(dag_id, run_id),
    ]
    highest = last_tries(tis, tries)
    doomed += [keys.xcom(dag_id, run_id, task_id) for task_id in sorted({t for t, _ in highest})]
    doomed += [keys.task_state(dag_id, run_id, t) for t in sorted({t for t, _ in highest})]
    for (task_id, map_index), last in sorted(highest.items()):
        doomed += [keys.log(dag_id, run_id, task_id, map_index, n) for n in range(1, last + 1)]
    return doomed


def last_tries(tis: dict[str, str], tries: Iterable[str]) -> dict[tuple[str, int], int]:
    """Each instance's last try, from the run's instance hash and try history field names."""
    highest: dict[tuple[str, int], int] = {}
    for field_name, raw in tis.items():
        try:
            highest[parse_ti_field(field_name)] = decode_ti(raw)[0].try_number
        except (ValueError, KeyError, TypeError):
            continue  # a malformed record: its tries may still be found below
    for field_name in tries:
        try:
            task_id, map_index, last = parse_try_field(field_name)
        except ValueError:
            continue
        key = (task_id, map_index)
        highest[key] = max(highest.get(key, 0), last)
    return highest


async def clean_runs(client: aioredis.Redis, keys: Keys, request: CleanRequest) -> list[str]:
    """Remove (or with ``dry_run`` only list) the expired runs; their refs "<dag>|<run>"."""
    found: list[str] = []
    for dag_id in sorted(await _dag_ids(client, keys, request)):
        limit = None if request.max_runs is None else request.max_runs - len(found)
        if limit is not None and limit <= 0:
            break
        found += await _clean_dag(client, keys, dag_id, request, limit)
    return found


@dataclass(frozen=True, slots=True)
class Cleaned:
    """What :func:`clean_all` removed (or would remove)."""

    #: refs "<dag>|<run>"
    runs: list[str]
    asset_events: int
    jobs: int
    dag_versions: int = 0


async def clean_all(client: aioredis.Redis, keys: Keys, request: CleanRequest) -> Cleaned:
    """Runs, asset events and job records before the cutoff (see the module's description)."""
    runs = await clean_runs(client, keys, request)
    events = EventCleaning(
        before_us=int(request.before_s * 1_000_000),
        dag_ids=request.dag_ids,
        exclude_dag_ids=request.exclude_dag_ids,
        dry_run=request.dry_run,
        max_events=request.max_runs,
    )
    removed_events = await clean_events(client, keys, events)
    removed_jobs = 0
    if request.dag_ids is None:
        removed_jobs = await jobs.prune_before(client, keys, request.before_s, request.dry_run)
    versions = await clean_dag_versions(client, keys, request)
    return Cleaned(runs, removed_events, removed_jobs, versions)


async def clean_dag_versions(client: aioredis.Redis, keys: Keys, request: CleanRequest) -> int:
    """Each chosen DAG's versions created before the cutoff that nothing uses (dag_admin.py)."""
    store = Store(client, keys)
    found = 0
    for dag_id in sorted(await _dag_ids(client, keys, request)):
        found += await clean_versions(store, dag_id, request.before_s, request.dry_run)
    return found


async def _dag_ids(client: aioredis.Redis, keys: Keys, request: CleanRequest) -> set[str]:
    if request.dag_ids is not None:
        chosen = set(request.dag_ids)
    else:
        known = cast(list[str], await client.hkeys(keys.dags))
        chosen = set(known) | await typed.smembers(client, keys.inactive)
    return chosen - request.exclude_dag_ids


async def _clean_dag(
    client: aioredis.Redis, keys: Keys, dag_id: str, request: CleanRequest, limit: int | None
) -> list[str]:
    keep = await _newest_not_manual(client, keys, dag_id)
    found: list[str] = []
    offset = 0
    while limit is None or len(found) < limit:
        # Runs are scored by logical date: one whose logical date is after the cutoff started
        # after it too, unless it was triggered for a future date (then it waits a little).
        page = cast(
            list[str],
            await client.zrangebyscore(
                keys.runs_of(dag_id), "-inf", request.before_s, start=offset, num=PAGE_SIZE
            ),
        )
        if not page:
            break
        async with client.pipeline(transaction=False) as pipe:
            for run_id in page:
                pipe.hgetall(keys.run(dag_id, run_id))
            runs = await pipe.execute()
        removed = 0
        for run_id, fields in zip(page, runs, strict=True):
            if run_id == keep or not is_expired(fields, request.before_s):
                continue
            if limit is not None and len(found) >= limit:
                break
            if request.dry_run or await _delete_run(client, keys, dag_id, run_id):
                found.append(run_ref(dag_id, run_id))
                removed += 0 if request.dry_run else 1
        offset += len(page) - removed
    return found


async def _newest_not_manual(client: aioredis.Redis, keys: Keys, dag_id: str) -> str | None:
    newest = cast(list[str], await client.zrevrange(keys.runs_of(dag_id), 0, KEEP_LAST_SCAN - 1))
    async with client.pipeline(transaction=False) as pipe:
        for run_id in newest:
            pipe.hget(keys.run(dag_id, run_id), "run_type")
        types = await pipe.execute()
    return next(
        (str(run_id) for run_id, kind in zip(newest, types, strict=True) if kind != "manual"),
        None,
    )


async def _delete_run(client: aioredis.Redis, keys: Keys, dag_id: str, run_id: str) -> bool:
    """Delete one finished run; False when it is no longer finished or changed meanwhile."""
    run_key = keys.run(dag_id, run_id)
    async with client.pipeline(transaction=True) as pipe:
        try:
            await pipe.watch(run_key, keys.tis(dag_id, run_id))
            if await pipe.hget(run_key, "state") not in FINISHED:
                return False
            tis = cast(dict[str, str], await pipe.hgetall(keys.tis(dag_id, run_id)))
            tries = cast(list[str], await pipe.hkeys(keys.tries(dag_id, run_id)))
            fields = [RUN_GENERATION, "asset_events"]
            raw_generation, consumed = cast(list[str | None], await pipe.hmget(run_key, fields))
            run_fields = cast(dict[str, str], await pipe.hgetall(run_key))
            deadlines = run_entries(dag_id, run_id, run_fields)
            job_ids = job_ids_of_run(dag_id, run_id, run_generation(raw_generation))
            job_ids += deadline_job_ids(dag_id, run_id, run_deadlines(run_fields))
            last = last_tries(tis, tries)
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.delete(*run_keys(keys, dag_id, run_id, tis, tries))
            forget_run_deferrals(pipe, keys, dag_id, run_id, last)
            sources = source_fields(dag_id, run_id, last)
            forget_run_assets(pipe, keys, run_ref(dag_id, run_id), sources, consumed_ids(consumed))
            # its DAG callbacks: not yet taken by a callbacks role, or delivered
            pipe.hdel(keys.callbacks_pending, *job_ids)
            pipe.delete(*(keys.callbacks_done(job_id) for job_id in job_ids))
            pipe.zrem(keys.runs_of(dag_id), run_id)
            if deadlines:  # (a failed run's deadlines not passed yet: nothing to report)
                pipe.zrem(keys.deadlines, *deadlines)
            pipe.srem(keys.active_runs, run_ref(dag_id, run_id))
            pipe.srem(keys.hitl_runs, run_ref(dag_id, run_id))
            await pipe.execute()
        except WatchError:
            log.info("run %s of %s changed while being removed; kept", run_id, dag_id)
            return False
    return True


@dataclass
class RetentionDuty:
    """The coordinator's housekeeping: now and then, the runs and asset events past the
    retention go (none with a retention of 0), job records silent for a day, and task state
    keys whose own expiry passed (sdk/state_store.py)."""

    client: aioredis.Redis
    keys: Keys
    retention_s: float
    interval_s: float = 600.0
    batch: int = 100
    _next_s: float = 0.0

    async def maybe_run(self, now_s: float) -> list[str]:
        if now_s < self._next_s:
            return []
        try:
            removed, removed_events = await self._pass(now_s)
        except TRANSIENT_ERRORS:
            raise
        except Exception:  # housekeeping must never take the coordinator down
            log.exception("retention: this pass failed; trying again later")
            self._next_s = now_s + self.interval_s
            return []
        # A full batch: more may be waiting, come back at the next periodic check.
        more = len(removed) >= self.batch or removed_events >= self.batch
        self._next_s = now_s + (0.0 if more else self.interval_s)
        if removed:
            log.info("retention: removed %s finished runs started before the cutoff", len(removed))
        if removed_events:
            log.info("retention: removed %s asset events older than the cutoff", removed_events)
        return removed

    async def _pass(self, now_s: float) -> tuple[list[str], int]:
        await jobs.prune(self.client, self.keys, now_s)
        expired = await remove_expired(self.client, self.keys, now_s, batch=self.batch * 10)
        if expired:
            log.info("retention: removed %s expired task state keys", expired)
        if self.retention_s <= 0:
            return [], 0
        request = CleanRequest(before_s=now_s - self.retention_s, max_runs=self.batch)
        removed = await clean_runs(self.client, self.keys, request)
        events = EventCleaning(int(request.before_s * 1_000_000), max_events=self.batch)
        removed_events = await clean_events(self.client, self.keys, events)
        await clean_dag_versions(self.client, self.keys, request)
        return removed, removed_events
