"""Other DAGs' runs for a running task (ExternalTaskSensor), read from Redis; never written.

Reads happen in user code's thread (a sensor's ``poke``): a synchronous client is right here,
as for Variables and XComs. Triggers read them on the triggerer's event loop: the async
variant (:class:`AsyncRedisRunStateLookup`) does the same reads with an asyncio client.
Keys (queue/keys.py): ``runs:<dag_id>`` (run ids scored by logical date) to find the runs at a
date, ``run:{run}`` for their state, ``tis:{run}`` for their instances, ``dags`` /
``dag:<hash>`` / ``inactive`` for the DAG's tasks and groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import orjson
import redis
import redis.asyncio as aioredis

from airlane.queue.codec import decode_ti
from airlane.queue.keys import Keys, parse_ti_field
from airlane.sdk.run_states import DagShape, ExternalRun
from airlane.sdk.timezone import coerce_datetime
from airlane.service.execution.loop_guard import refuse_on_event_loop

RUN_STATES_ON_LOOP = (
    "reading other DAGs' runs from an async callable would block the worker's event loop"
)


def dag_shape_of(data: dict[str, Any], active: bool = True) -> DagShape:
    """A serialized DAG's task ids and, per task group, every task inside it (nested too)."""
    parents = {g["group_id"]: g.get("parent") for g in data.get("task_groups", [])}
    members: dict[str, set[str]] = {group_id: set() for group_id in parents}
    for task in data.get("tasks", []):
        group = task.get("task_group")
        while group is not None and group in members:
            members[group].add(task["task_id"])
            group = parents.get(group)
    return DagShape(
        dag_id=str(data.get("dag_id", "")),
        task_ids=frozenset(t["task_id"] for t in data.get("tasks", [])),
        groups={g: frozenset(ids) for g, ids in members.items()},
        active=active,
    )


class RedisRunStateLookup:
    """:class:`airlane.sdk.run_states.RunStateLookup` over a worker's synchronous client."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def _run_ids_at(self, dag_id: str, when: datetime) -> list[str]:
        # Store.create_run scores a run by logical_date.timestamp(): the same float here.
        score = when.timestamp()
        found = self.client.zrangebyscore(self.keys.runs_of(dag_id), score, score)
        return cast(list[str], found)

    def runs_at(
        self, dag_id: str, logical_dates: Sequence[datetime], *, with_tasks: bool
    ) -> list[ExternalRun]:
        refuse_on_event_loop(RUN_STATES_ON_LOOP)
        wanted = {d.timestamp() for d in logical_dates}
        run_ids = sorted({r for when in logical_dates for r in self._run_ids_at(dag_id, when)})
        runs: list[ExternalRun] = []
        for run_id in run_ids:
            found = self._read_run(dag_id, run_id, with_tasks)
            if found is not None and found.logical_date.timestamp() in wanted:
                runs.append(found)
        return runs

    def _read_run(self, dag_id: str, run_id: str, with_tasks: bool) -> ExternalRun | None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self.keys.run(dag_id, run_id), ["state", "logical_date"])
        if with_tasks:
            pipe.hgetall(self.keys.tis(dag_id, run_id))
        replies = pipe.execute()
        return _external_run(run_id, replies, with_tasks)

    def dag_shape(self, dag_id: str) -> DagShape | None:
        refuse_on_event_loop(RUN_STATES_ON_LOOP)
        content_hash = cast(str | None, self.client.hget(self.keys.dags, dag_id))
        if content_hash is None:
            return None
        raw = cast(str | None, self.client.get(self.keys.dag_snapshot(content_hash)))
        if raw is None:
            return None
        active = not self.client.sismember(self.keys.inactive, dag_id)
        return dag_shape_of(orjson.loads(raw), active=active)


def _external_run(run_id: str, replies: list[Any], with_tasks: bool) -> ExternalRun | None:
    """The run from its ``HMGET state logical_date`` (and ``HGETALL tis``) replies; None when
    it was deleted meanwhile."""
    state, raw_date = cast(list[str | None], replies[0])
    when = coerce_datetime(raw_date) if raw_date else None
    if state is None or not isinstance(when, datetime):
        return None
    task_states: dict[tuple[str, int], str | None] = {}
    for field, value in cast(dict[str, str], replies[1] if with_tasks else {}).items():
        ti_state = decode_ti(value)[0].state.value
        task_states[parse_ti_field(field)] = None if ti_state == "none" else ti_state
    return ExternalRun(run_id, when, state, task_states)


class AsyncRedisRunStateLookup:
    """:class:`airlane.sdk.run_states.AsyncRunStateLookup` over an asyncio client (the
    triggerer's), for triggers that wait on other DAGs' runs."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def runs_at(
        self, dag_id: str, logical_dates: Sequence[datetime], *, with_tasks: bool
    ) -> list[ExternalRun]:
        wanted = {d.timestamp() for d in logical_dates}
        run_ids: set[str] = set()
        for when in logical_dates:
            score = when.timestamp()
            found = await self.client.zrangebyscore(self.keys.runs_of(dag_id), score, score)
            run_ids.update(cast(list[str], found))
        runs = await self.runs_named(dag_id, sorted(run_ids), with_tasks=with_tasks)
        return [run for run in runs if run.logical_date.timestamp() in wanted]

    async def runs_named(
        self, dag_id: str, run_ids: Sequence[str], *, with_tasks: bool
    ) -> list[ExternalRun]:
        runs: list[ExternalRun] = []
        for run_id in run_ids:
            pipe = self.client.pipeline(transaction=False)
            pipe.hmget(self.keys.run(dag_id, run_id), ["state", "logical_date"])
            if with_tasks:
                pipe.hgetall(self.keys.tis(dag_id, run_id))
            found = _external_run(run_id, await pipe.execute(), with_tasks)
            if found is not None:
                runs.append(found)
        return runs

    async def dag_shape(self, dag_id: str) -> DagShape | None:
        content_hash = cast(str | None, await self.client.hget(self.keys.dags, dag_id))
        if content_hash is None:
            return None
        raw = cast(str | None, await self.client.get(self.keys.dag_snapshot(content_hash)))
        if raw is None:
            return None
        active = not await self.client.sismember(self.keys.inactive, dag_id)
        return dag_shape_of(orjson.loads(raw), active=active)
