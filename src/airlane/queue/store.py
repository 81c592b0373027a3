"""Reads and client-side writes of Airlane's state in Redis (API, CLI, services).

Run progress is written by the coordinator alone; this module creates runs atomically, sends
commands to the coordinator, stores serialized DAGs and reads everything.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from airlane.engine.deadlines import run_deadlines, run_entries
from airlane.engine.run_state import TIRecord
from airlane.queue import typed
from airlane.queue.asset_retention import consumed_ids, forget_run_assets, source_fields
from airlane.queue.callback_jobs import RUN_GENERATION, job_ids_of_run, run_generation
from airlane.queue.codec import TIMeta, decode_ti, dumps, loads
from airlane.queue.conf_limit import check_conf_size, max_conf_bytes_from_env
from airlane.queue.deadline_jobs import deadline_job_ids
from airlane.queue.deferral_entries import forget_run_deferrals
from airlane.queue.keys import (
    Keys,
    parse_ti_field,
    parse_try_field,
    parse_xcom_field,
    run_ref,
    ti_field,
    xcom_field,
)
from airlane.queue.messages import STREAM_MAXLEN, LogLine
from airlane.queue.protocol import (
    ClearTasks,
    Command,
    DagPaused,
    DagUnpaused,
    MarkTasks,
    PoolsChanged,
    validate_run_id,
)
from airlane.queue.scripts import CreateRun, Scripts
from airlane.sdk.state import DagRunState

#: the event (audit) log keeps about this many newest entries
EVENT_LOG_MAXLEN = 20_000


class DagNotFound(LookupError):
    pass


class RunExists(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RunRequest:
    dag_id: str
    run_id: str
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    conf: dict[str, Any]
    run_type: str = "manual"
    note: str | None = None
    #: the time before which the run may not start (Airflow 3's ``run_after`` of a run
    #: triggered for later: it stays queued until then); None: as soon as it may
    run_after: datetime | None = None


class Store:
    """Typed access to the keys of :mod:`airlane.queue.keys`."""

    def __init__(
        self, client: aioredis.Redis, keys: Keys | None = None, max_conf_bytes: int | None = None
    ) -> None:
        self.client = client
        self.keys = keys or Keys.from_env()
        #: runs with a larger conf (as JSON) are refused with ConfTooLarge
        self.max_conf_bytes = (
            max_conf_bytes if max_conf_bytes is not None else max_conf_bytes_from_env()
        )
        self.scripts = Scripts.register(client, self.keys)

    # ---- DAGs ---------------------------------------------------------------------------

    async def dag_hashes(self) -> dict[str, str]:
        result = await typed.hgetall(self.client, self.keys.dags)
        return result

    async def snapshot(self, content_hash: str) -> dict[str, Any] | None:
        raw = await typed.get(self.client, self.keys.dag_snapshot(content_hash))
        return loads(raw) if raw else None

    async def dag(self, dag_id: str) -> dict[str, Any] | None:
        content_hash = await typed.hget(self.client, self.keys.dags, dag_id)
        return await self.snapshot(content_hash) if content_hash else None

    async def is_paused(self, dag_id: str) -> bool:
        return bool(await self.client.sismember(self.keys.paused, dag_id))

    async def set_paused(self, dag_id: str, paused: bool) -> None:
        if not await self.client.hexists(self.keys.dags, dag_id):
            raise DagNotFound(dag_id)
        async with self.client.pipeline(transaction=True) as pipe:
            if paused:
                pipe.sadd(self.keys.paused, dag_id)
            else:
                pipe.srem(self.keys.paused, dag_id)
            pipe.xadd(
                self.keys.commands,
                (DagPaused(dag_id) if paused else DagUnpaused(dag_id)).to_fields(),
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
            await pipe.execute()

    async def set_pool(
        self, name: str, slots: int, description: str = "", include_deferred: bool = False
    ) -> None:
        """Create or replace pool ``name``; ``include_deferred``: its deferred instances hold
        their slots while they wait (Airflow's ``Pool.include_deferred``)."""
        record: dict[str, Any] = {"slots": slots, "description": description}
        if include_deferred:  # (absent: false, as records written before the flag)
            record["include_deferred"] = True
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.pools, name, dumps(record))
            pipe.xadd(
                self.keys.commands,
                PoolsChanged().to_fields(),
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
            await pipe.execute()

    async def pools(self) -> dict[str, dict[str, Any]]:
        raw = await typed.hgetall(self.client, self.keys.pools)
        found = {name: loads(value) for name, value in raw.items()}
        found.setdefault("default_pool", {"slots": 128, "description": "Default pool"})
        return found

    async def delete_pool(self, name: str) -> bool:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.pools, name)
            pipe.xadd(
                self.keys.commands,
                PoolsChanged().to_fields(),
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
            removed, _ = await pipe.execute()
        return bool(removed)

    async def variables(self) -> dict[str, dict[str, Any]]:
        raw = await typed.hgetall(self.client, self.keys.variables)
        return {key: loads(value) for key, value in raw.items()}

    async def variable(self, key: str) -> dict[str, Any] | None:
        raw = await typed.hget(self.client, self.keys.variables, key)
        return loads(raw) if raw is not None else None

    async def set_variable(self, key: str, value: str, description: str | None) -> None:
        entry = dumps({"value": value, "description": description})
        await self.client.hset(self.keys.variables, key, entry)

    async def delete_variable(self, key: str) -> bool:
        return bool(await self.client.hdel(self.keys.variables, key))

    async def append_event_log(self, entry: Mapping[str, Any]) -> None:
        """One event log entry (api/event_logs.py: event, owner, dag_id, task_id, run_id,
        logical_date, extra), the stream capped near ``EVENT_LOG_MAXLEN``."""
        await self.client.xadd(
            self.keys.event_logs,
            {"e": dumps(dict(entry))},
            maxlen=EVENT_LOG_MAXLEN,
            approximate=True,
        )

    async def event_log_entries(self, start: str = "-", end: str = "+") -> typed.StreamEntries:
        return await typed.xrange(self.client, self.keys.event_logs, start, end)

    async def runs_field(self, runs: list[tuple[str, str]], name: str) -> list[str | None]:
        """One field of each (dag id, run id) run's hash, in one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            for dag_id, run_id in runs:
                pipe.hget(self.keys.run(dag_id, run_id), name)
            return cast(list[str | None], await pipe.execute())

    async def events_entries(self, start: str = "-", end: str = "+") -> typed.StreamEntries:
        """The live ``events`` stream's entries (run and task instance events)."""
        return await typed.xrange(self.client, self.keys.events, start, end)

    async def request_parse(self, path: str) -> None:
        """Have the DAG processor parse a DAG file at its next pass, changed or not."""
        await self.client.sadd(self.keys.parse_requests, path)

    async def favorites(self, user: str) -> set[str]:
        return await typed.smembers(self.client, self.keys.favorites(user))

    async def set_favorite(self, user: str, dag_id: str, favorite: bool) -> bool:
        """Mark or unmark a DAG as one of the user's favourites; whether anything changed."""
        key = self.keys.favorites(user)
        if favorite:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.sadd(self.keys.favorite_users, user)
                pipe.sadd(key, dag_id)
                _, added = await pipe.execute()
            return bool(added)
        return bool(await self.client.srem(key, dag_id))

    async def active_run_refs(self) -> set[str]:
        return await typed.smembers(self.client, self.keys.active_runs)

    async def import_errors(self) -> dict[str, list[dict[str, Any]]]:
        """File path -> its import errors: the DAG processor's, then the coordinator's
        schedule errors of the file's DAGs (two hashes, so that neither overwrites the other)."""
        raw = await typed.hgetall(self.client, self.keys.import_errors)
        scheduling = await typed.hgetall(self.client, self.keys.schedule_errors)
        return merge_import_errors(raw, scheduling)

    # ---- runs ---------------------------------------------------------------------------

    async def create_run(self, request: RunRequest) -> None:
        """Create a queued run and tell the coordinator.

        Raises InvalidRunId (every run, whoever creates it, gets Airflow's run id rule: the
        services read run ids back from Redis and must be able to), ConfTooLarge, DagNotFound
        or RunExists.
        """
        validate_run_id(request.run_id)
        conf = dumps(request.conf)
        check_conf_size(conf, self.max_conf_bytes)
        run_hash = {
            "dag_id": request.dag_id,
            "run_id": request.run_id,
            "state": "queued",
            "logical_date": request.logical_date.isoformat(),
            "data_interval_start": request.data_interval_start.isoformat(),
            "data_interval_end": request.data_interval_end.isoformat(),
            "conf": conf,
            "run_type": request.run_type,
            "queued_at": repr(time.time()),
            "note": request.note or "",
        }
        if request.run_after is not None:
            run_hash["run_after"] = request.run_after.isoformat()
        call = CreateRun(request.dag_id, request.run_id, request.logical_date.timestamp(), run_hash)
        try:
            await self.scripts.create_run(call)
        except ResponseError as err:
            if "NODAG" in str(err):
                raise DagNotFound(request.dag_id) from None
            if "EXISTS" in str(err):
                raise RunExists(request.run_id) from None
            raise

    async def command(self, command: Command) -> None:
        """Send a command to the coordinator (see the commands stream in keys.py)."""
        fields = command.to_fields()
        await self.client.xadd(self.keys.commands, fields, maxlen=STREAM_MAXLEN, approximate=True)

    async def clear(self, dag_id: str, run_id: str, task_ids: list[str]) -> None:
        """Have the coordinator reset those tasks' instances so that they run again."""
        await self.command(ClearTasks(run_ref(dag_id, run_id), tuple(task_ids)))

    async def mark(
        self,
        dag_id: str,
        run_id: str,
        marks: Mapping[str, str],
        whole_run: bool = False,
        run_state: DagRunState | None = None,
    ) -> None:
        """Have the coordinator set instances' states by hand, all in one step.

        ``marks`` maps ``<task_id>|<map_index>`` fields to their new states; ``whole_run``
        says they set the run's own state (no DAG callback, as in Airflow), ``run_state`` the
        state the run ends in (sent even without marks).
        """
        if marks or run_state is not None:
            run = run_ref(dag_id, run_id)
            await self.command(MarkTasks.from_ti_fields(run, marks, whole_run, run_state))

    async def set_run_note(self, dag_id: str, run_id: str, note: str) -> None:
        await self.client.hset(self.keys.run(dag_id, run_id), "note", note)

    async def delete_run(self, dag_id: str, run_id: str) -> None:
        """Remove a run that is not active, with its instances, claims, XComs, state stores,
        logs, deferral and asset entries (queue/asset_retention.py)."""
        k = self.keys
        tis = await self.task_instances(dag_id, run_id)
        doomed = [k.run(dag_id, run_id), k.tis(dag_id, run_id), k.claims(dag_id, run_id)]
        doomed += [k.tries(dag_id, run_id), k.rendered(dag_id, run_id)]
        doomed += [k.hitl(dag_id, run_id), k.hitl_responses(dag_id, run_id)]
        doomed += [k.xcom(dag_id, run_id, task_id) for task_id in {t for t, _ in tis}]
        doomed += [k.task_state(dag_id, run_id, task_id) for task_id in {t for t, _ in tis}]
        for (task_id, map_index), (record, _) in tis.items():
            doomed += [
                k.log(dag_id, run_id, task_id, map_index, n)
                for n in range(1, record.try_number + 1)
            ]
        raw_generation, consumed = cast(
            list[str | None],
            await self.client.hmget(k.run(dag_id, run_id), [RUN_GENERATION, "asset_events"]),
        )
        job_ids = job_ids_of_run(dag_id, run_id, run_generation(raw_generation))
        doomed += [k.callbacks_done(job_id) for job_id in job_ids]
        run_fields = cast(dict[str, str], await self.client.hgetall(k.run(dag_id, run_id)))
        deadlines = run_entries(dag_id, run_id, run_fields)
        deadline_jobs = deadline_job_ids(dag_id, run_id, run_deadlines(run_fields))
        doomed += [k.callbacks_done(job_id) for job_id in deadline_jobs]
        job_ids += deadline_jobs
        last = {key: record.try_number for key, (record, _) in tis.items()}
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(*doomed)
            forget_run_deferrals(pipe, k, dag_id, run_id, last)
            fields = source_fields(dag_id, run_id, last)
            forget_run_assets(pipe, k, run_ref(dag_id, run_id), fields, consumed_ids(consumed))
            pipe.hdel(k.callbacks_pending, *job_ids)  # its DAG callbacks: nothing to call about
            pipe.zrem(k.runs_of(dag_id), run_id)
            if deadlines:
                pipe.zrem(k.deadlines, *deadlines)
            pipe.srem(k.active_runs, run_ref(dag_id, run_id))
            pipe.srem(k.hitl_runs, run_ref(dag_id, run_id))
            await pipe.execute()

    async def run_count(self, dag_id: str) -> int:
        return int(await self.client.zcard(self.keys.runs_of(dag_id)))

    async def run_page(self, dag_id: str, offset: int, limit: int) -> list[str]:
        """Run ids of a DAG, newest logical date first."""
        if limit <= 0:
            return []
        ids = await self.client.zrevrange(self.keys.runs_of(dag_id), offset, offset + limit - 1)
        return cast(list[str], ids)

    async def all_run_ids(self, dag_id: str) -> list[str]:
        """Every run id of a DAG, newest logical date first."""
        return await self.run_page(dag_id, 0, await self.run_count(dag_id))

    async def run_ids_at(self, dag_id: str, logical_date: datetime) -> list[str]:
        """Run ids of a DAG whose logical date is ``logical_date`` (create_run scores each run
        by its ``logical_date.timestamp()``)."""
        score = logical_date.timestamp()
        ids = await self.client.zrangebyscore(self.keys.runs_of(dag_id), score, score)
        return cast(list[str], ids)

    async def paused_dags(self) -> set[str]:
        return await typed.smembers(self.client, self.keys.paused)

    async def inactive_dags(self) -> set[str]:
        return await typed.smembers(self.client, self.keys.inactive)

    async def dag_files(self) -> dict[str, str]:
        return await typed.hgetall(self.client, self.keys.dag_files)

    async def run(self, dag_id: str, run_id: str) -> dict[str, str] | None:
        data = await typed.hgetall(self.client, self.keys.run(dag_id, run_id))
        return data or None

    async def runs(self, dag_id: str, run_ids: list[str]) -> list[dict[str, str]]:
        """The hashes of many runs in one round trip (runs that are gone are left out)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                pipe.hgetall(self.keys.run(dag_id, run_id))
            found = await pipe.execute()
        return [cast(dict[str, str], run) for run in found if run]

    async def run_ids(self, dag_id: str, limit: int = 100) -> list[str]:
        ids = await self.client.zrevrange(self.keys.runs_of(dag_id), 0, limit - 1)
        return cast(list[str], ids)

    async def task_instances(
        self, dag_id: str, run_id: str
    ) -> dict[tuple[str, int], tuple[TIRecord, TIMeta]]:
        raw = await typed.hgetall(self.client, self.keys.tis(dag_id, run_id))
        return {parse_ti_field(field): decode_ti(value) for field, value in raw.items()}

    async def task_instances_of_runs(
        self,
        dag_id: str,
        run_ids: list[str],
        task_ids: set[str] | None = None,
        *,
        unmapped: bool = False,
    ) -> list[dict[tuple[str, int], tuple[TIRecord, TIMeta]]]:
        """The instances of many runs in one round trip; with ``task_ids`` only those tasks'
        (the others are not decoded). ``unmapped``: none of ``task_ids`` is a mapped task, so
        each has one instance (map index -1) and only those are read from Redis."""
        fields = [ti_field(t, -1) for t in sorted(task_ids)] if task_ids and unmapped else None
        async with self.client.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                if fields is None:
                    pipe.hgetall(self.keys.tis(dag_id, run_id))
                else:
                    pipe.hmget(self.keys.tis(dag_id, run_id), fields)
            found = await pipe.execute()
        result = []
        for raw in found:
            if fields is not None:
                raw = {field: value for field, value in zip(fields, raw, strict=True) if value}
            keys = ((parse_ti_field(field), value) for field, value in raw.items())
            result.append(
                {
                    key: decode_ti(value)
                    for key, value in keys
                    if task_ids is None or key[0] in task_ids
                }
            )
        return result

    async def rendered_fields(
        self, dag_id: str, run_id: str, task_id: str, map_index: int
    ) -> dict[str, Any]:
        """The rendered template fields of an instance's latest try that rendered them."""
        raw = await typed.hget(
            self.client, self.keys.rendered(dag_id, run_id), ti_field(task_id, map_index)
        )
        found = loads(raw) if raw else {}
        return found if isinstance(found, dict) else {}

    # ---- logs and XComs -----------------------------------------------------------------

    async def log_lines(
        self, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int
    ) -> list[str]:
        key = self.keys.log(dag_id, run_id, task_id, map_index, try_number)
        entries = await typed.xrange(self.client, key)
        return [LogLine.from_fields(fields).line for _, fields in entries]

    async def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str) -> Any:
        raw = await typed.hget(
            self.client, self.keys.xcom(dag_id, run_id, task_id), xcom_field(map_index, key)
        )
        return loads(raw) if raw is not None else None

    async def xcoms(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[str, Any]:
        """Every XCom of one task instance, by key."""
        raw = await typed.hgetall(self.client, self.keys.xcom(dag_id, run_id, task_id))
        found = {}
        for field_name, value in raw.items():
            index, name = parse_xcom_field(field_name)
            if index == map_index:
                found[name] = loads(value)
        return found

    async def xcoms_of_tasks(
        self, dag_id: str, pairs: list[tuple[str, str]]
    ) -> list[dict[tuple[int, str], Any]]:
        """Every XCom of each (run id, task id) of one DAG in one round trip, by (map index,
        key)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for run_id, task_id in pairs:
                pipe.hgetall(self.keys.xcom(dag_id, run_id, task_id))
            found = await pipe.execute()
        return [
            {parse_xcom_field(name): loads(value) for name, value in raw.items()} for raw in found
        ]

    async def return_values(self, dag_id: str, run_id: str, task_id: str) -> dict[int, Any]:
        """The return value of each instance of a task that pushed one, by map index."""
        raw = await typed.hgetall(self.client, self.keys.xcom(dag_id, run_id, task_id))
        found = {}
        for field_name, value in raw.items():
            index, name = parse_xcom_field(field_name)
            if name == "return_value":
                found[index] = loads(value)
        return found

    async def earlier_tries(
        self, dag_id: str, run_id: str, task_id: str, map_index: int
    ) -> dict[int, dict[str, Any]]:
        """How each earlier try of one instance ended, by try number."""
        raw = await typed.hgetall(self.client, self.keys.tries(dag_id, run_id))
        tries = {}
        for name, value in raw.items():
            tried_task, tried_index, try_number = parse_try_field(name)
            if (tried_task, tried_index) == (task_id, map_index):
                tries[try_number] = loads(value)
        return tries


def merge_import_errors(
    by_file: dict[str, str], by_dag: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """The ``import_errors`` hash's entries with the ``schedule_errors`` hash's added to their
    file's list, in dag_id order (pure)."""
    merged: dict[str, list[dict[str, Any]]] = {p: loads(v) for p, v in by_file.items()}
    for dag_id in sorted(by_dag):
        entry: dict[str, Any] = loads(by_dag[dag_id])
        merged.setdefault(str(entry.get("filename")), []).append(entry)
    return merged
