"""``GET .../taskInstances/{task_id}[/{map_index}]/dependencies``: why an instance that has not
been queued yet is not running, as Airflow's dependency report (``{"name", "reason"}`` for
each dependency that fails, under Airflow's dependency names).

Only an instance in state none or scheduled is reported on (any other: an empty list, as
Airflow). The checks are the coordinator's own conditions for queueing it: the run is
running, the DAG not paused, the trigger rule met by the upstream instances, the previous
run's instance done with depends_on_past, and room in its pool, its DAG's
``max_active_tasks`` and its task's ``max_active_tis_per_dag(run)``. :func:`failing` is the
pure part; the handler reads what it needs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from airlane.api.appkeys import STORE
from airlane.api.dag_runs import load_run
from airlane.api.errors import ApiError, json_response
from airlane.api.inputs import query_int
from airlane.api.instance_lookup import path_ids
from airlane.api.pools import DEFAULT_POOL, pool_response, pool_usage
from airlane.engine.dag_spec import DEFAULT_MAX_ACTIVE_TASKS, DagSpec
from airlane.engine.graph import TaskSpec, task_spec_from_json
from airlane.engine.trigger_rules import RuleDecision, UpstreamCounts, evaluate_trigger_rule
from airlane.queue.keys import parse_run_ref
from airlane.queue.store import Store

_REPORTED = frozenset({"none", "scheduled"})
_HOLDING = frozenset({"queued", "running"})
_DONE = frozenset({"success", "skipped", "failed", "upstream_failed", "removed"})


@dataclass(frozen=True)
class Situation:
    """What the checks read about one instance waiting to be queued."""

    task: TaskSpec
    run_state: str
    paused: bool
    dag_id: str
    #: the states of the direct upstream tasks' instances, by task id
    upstream: dict[str, list[str]]
    #: depends_on_past: the previous run's instance's state (None: no previous run or none
    #: of the task in it)
    previous_state: str | None
    #: the pool's open slots (-1: unlimited; None: no such pool)
    pool_open: int | None
    max_active_tasks: int
    dag_active: int
    task_active_in_dag: int
    task_active_in_run: int


def _counts(states: Iterable[str]) -> UpstreamCounts:
    found = Counter(states)
    total = sum(found.values())
    return UpstreamCounts(
        total,
        success=found["success"],
        skipped=found["skipped"],
        failed=found["failed"],
        upstream_failed=found["upstream_failed"],
        removed=found["removed"],
    )


def _trigger_rule(s: Situation) -> str | None:
    states = [state for found in s.upstream.values() for state in found]
    counts = _counts(states)
    if evaluate_trigger_rule(s.task.trigger_rule, counts) is not RuleDecision.WAIT:
        return None
    waiting = sorted(t for t, found in s.upstream.items() if any(x not in _DONE for x in found))
    return (
        f"Task's trigger rule '{s.task.trigger_rule.value}' is not met yet: {counts.done} of "
        f"{counts.total} upstream task instances are done (success={counts.success}, "
        f"skipped={counts.skipped}, failed={counts.failed}, "
        f"upstream_failed={counts.upstream_failed}); waiting for {waiting}"
    )


def failing(s: Situation) -> list[dict[str, str]]:
    """The failing dependencies, sorted by name (Airflow's order)."""
    found: list[tuple[str, str]] = []
    if s.run_state != "running":
        reason = (
            "Task instance's dagrun was not in the 'running' state but in the state "
            f"'{s.run_state}'."
        )
        found.append(("Dagrun Running", reason))
    if s.paused:
        found.append(("Dag Not Paused", f"Task's DAG '{s.dag_id}' is paused."))
    rule = _trigger_rule(s)
    if rule is not None:
        found.append(("Trigger Rule", rule))
    if s.task.depends_on_past and s.previous_state not in (None, "success", "skipped"):
        reason = (
            "depends_on_past is true for this task, but the previous task instance is in the "
            f"state '{s.previous_state}' which is not a successful state."
        )
        found.append(("Previous Dagrun State", reason))
    if s.pool_open is None:
        reason = f"Tasks using non-existent pool '{s.task.pool}' will not be scheduled"
        found.append(("Pool Slots Available", reason))
    elif s.pool_open != -1 and s.pool_open < s.task.pool_slots:
        reason = (
            f"Not scheduling since there are {s.pool_open} open slots in pool {s.task.pool} "
            f"and require {s.task.pool_slots} pool slots"
        )
        found.append(("Pool Slots Available", reason))
    if s.dag_active >= s.max_active_tasks:
        reason = (
            f"The maximum number of running tasks ({s.max_active_tasks}) for this task's DAG "
            f"'{s.dag_id}' has been reached."
        )
        found.append(("Task Instance Slots Available", reason))
    per_dag, per_run = s.task.max_active_tis_per_dag, s.task.max_active_tis_per_dagrun
    if per_dag is not None and s.task_active_in_dag >= per_dag:
        found.append(("Task Concurrency", "The max task concurrency has been reached."))
    elif per_run is not None and s.task_active_in_run >= per_run:
        found.append(("Task Concurrency", "The max task concurrency per run has been reached."))
    return [{"name": name, "reason": reason} for name, reason in sorted(found)]


async def dependencies(request: web.Request) -> web.Response:
    store = request.app[STORE]
    dag_id, run_id = path_ids(request)
    task_id = request.match_info["task_id"]
    if "map_index" in request.match_info:
        map_index = int(request.match_info["map_index"])
    else:
        map_index = query_int(request, "map_index", -1, None, None)
    run = await load_run(store, dag_id, run_id)
    tis = await store.task_instances(dag_id, run_id)
    dag = await store.dag(dag_id)
    raw = next((t for t in (dag or {}).get("tasks", []) if t["task_id"] == task_id), None)
    if (task_id, map_index) in tis:
        state = tis[(task_id, map_index)][0].state.value
    elif not tis and raw is not None and map_index == -1:
        state = "none"  # (a run not started yet: its instances are made when it starts)
    else:
        raise ApiError(
            404,
            f"The Task Instance with dag_id: `{dag_id}`, run_id: `{run_id}`, task_id: "
            f"`{task_id}` and map_index: `{map_index}` was not found",
        )
    if state not in _REPORTED or dag is None or raw is None:
        return json_response({"dependencies": []})
    task = task_spec_from_json(raw, 0)
    situation = await _situation(store, dag, run, tis, task)
    return json_response({"dependencies": failing(situation)})


async def _situation(
    store: Store,
    dag: dict[str, Any],
    run: dict[str, str],
    tis: dict[tuple[str, int], Any],
    task: TaskSpec,
) -> Situation:
    dag_id, run_id = run["dag_id"], run["run_id"]
    upstream = {
        t: [record.state.value for (tid, _), (record, _) in tis.items() if tid == t]
        for t in task.upstream
    }
    pools = await store.pools()
    pool = pools.get(task.pool or DEFAULT_POOL)
    usage = await pool_usage(store)
    pool_open = None
    if pool is not None:
        name = task.pool or DEFAULT_POOL
        pool_open = int(pool_response(name, pool, usage.get(name, Counter()))["open_slots"])
    dag_active, task_in_dag = await _active(store, dag_id, task.task_id)
    in_run = sum(
        1 for (t, _), (r, _) in tis.items() if t == task.task_id and r.state.value in _HOLDING
    )
    spec = DagSpec.from_serialized(dag)
    return Situation(
        task=task,
        run_state=run.get("state", ""),
        paused=await store.is_paused(dag_id),
        dag_id=dag_id,
        upstream=upstream,
        previous_state=await _previous_state(store, dag_id, run_id, task.task_id)
        if task.depends_on_past
        else None,
        pool_open=pool_open,
        max_active_tasks=spec.max_active_tasks or DEFAULT_MAX_ACTIVE_TASKS,
        dag_active=dag_active,
        task_active_in_dag=task_in_dag,
        task_active_in_run=in_run,
    )


async def _active(store: Store, dag_id: str, task_id: str) -> tuple[int, int]:
    """The DAG's queued and running instances across its active runs, and the task's."""
    every, of_task = 0, 0
    for ref in await store.active_run_refs():
        one_dag, one_run = parse_run_ref(ref)
        if one_dag != dag_id:
            continue
        for (t, _), (record, _) in (await store.task_instances(one_dag, one_run)).items():
            if record.state.value in _HOLDING:
                every += 1
                of_task += t == task_id
    return every, of_task


async def _previous_state(store: Store, dag_id: str, run_id: str, task_id: str) -> str | None:
    """The task's instance state in the run just before ``run_id`` (by logical date)."""
    run_ids = await store.all_run_ids(dag_id)  # (newest first)
    if run_id not in run_ids or run_ids.index(run_id) == len(run_ids) - 1:
        return None
    earlier = run_ids[run_ids.index(run_id) + 1]
    tis = await store.task_instances(dag_id, earlier)
    states = [record.state.value for (t, _), (record, _) in tis.items() if t == task_id]
    if not states:
        return None
    return next((s for s in states if s not in ("success", "skipped")), "success")


def add_routes(app: web.Application) -> None:
    base = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"
    app.router.add_get(base + "/dependencies", dependencies)
    app.router.add_get(base + "/{map_index:-?\\d+}/dependencies", dependencies)
