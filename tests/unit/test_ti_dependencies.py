"""Why an instance is not queued yet (api/ti_dependencies.failing), without Redis."""

from __future__ import annotations

from dataclasses import replace

from airlane.api.ti_dependencies import Situation, failing
from airlane.engine.graph import task_spec_from_json


def _situation(**changes: object) -> Situation:
    task = task_spec_from_json(
        {"task_id": "b", "upstream": ["a"], "trigger_rule": "all_success", "pool": "default_pool"},
        0,
    )
    base = Situation(
        task=task,
        run_state="running",
        paused=False,
        dag_id="d",
        upstream={"a": ["success"]},
        previous_state=None,
        pool_open=10,
        max_active_tasks=16,
        dag_active=0,
        task_active_in_dag=0,
        task_active_in_run=0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _names(situation: Situation) -> list[str]:
    return [dep["name"] for dep in failing(situation)]


def test_nothing_fails_when_the_instance_may_be_queued() -> None:
    assert failing(_situation()) == []


def test_an_upstream_still_running_holds_the_trigger_rule() -> None:
    (dep,) = failing(_situation(upstream={"a": ["running"]}))
    assert dep["name"] == "Trigger Rule"
    assert "'all_success' is not met yet: 0 of 1" in dep["reason"]
    assert dep["reason"].endswith("waiting for ['a']")


def test_a_settled_rule_is_not_a_wait() -> None:
    # (the coordinator sets upstream_failed: nothing to wait for)
    assert _names(_situation(upstream={"a": ["failed"]})) == []


def test_each_failing_dependency_under_airflows_name_sorted() -> None:
    situation = _situation(
        run_state="queued",
        paused=True,
        pool_open=0,
        dag_active=16,
        upstream={"a": ["scheduled"]},
    )
    assert _names(situation) == [
        "Dag Not Paused",
        "Dagrun Running",
        "Pool Slots Available",
        "Task Instance Slots Available",
        "Trigger Rule",
    ]
    reasons = {d["name"]: d["reason"] for d in failing(situation)}
    assert reasons["Dagrun Running"].endswith("but in the state 'queued'.")
    assert reasons["Pool Slots Available"] == (
        "Not scheduling since there are 0 open slots in pool default_pool and require 1 pool slots"
    )


def test_an_unlimited_pool_and_a_missing_one() -> None:
    assert _names(_situation(pool_open=-1)) == []
    assert failing(_situation(pool_open=None))[0]["reason"] == (
        "Tasks using non-existent pool 'default_pool' will not be scheduled"
    )


def test_depends_on_past_and_task_concurrency() -> None:
    task = _situation().task
    past = replace(task, depends_on_past=True)
    assert _names(_situation(task=past, previous_state="failed")) == ["Previous Dagrun State"]
    assert _names(_situation(task=past, previous_state="success")) == []
    per_run = replace(task, max_active_tis_per_dagrun=1)
    (dep,) = failing(_situation(task=per_run, task_active_in_run=1))
    assert dep == {
        "name": "Task Concurrency",
        "reason": "The max task concurrency per run has been reached.",
    }
