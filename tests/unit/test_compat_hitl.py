"""Airflow 3.1's human-in-the-loop operators load (with BaseNotifier callbacks) and fail at run
time with a clear error, as no person can answer them in Airlane (real Airflow 3.1.8's dags
test fails them too)."""

from __future__ import annotations

from typing import Any

from airlane import DAG
from airlane.dag_loader import airflow_compat
from airlane.sdk.decorators import task


def test_hitl_tasks_fail_with_the_reason_and_notifiers_render_their_templates() -> None:
    airflow_compat.install()
    from airflow.providers.standard.operators.hitl import (
        ApprovalOperator,
        HITLBranchOperator,
        HITLEntryOperator,
        HITLOperator,
    )
    from airflow.sdk.bases.notifier import BaseNotifier

    said: list[str] = []

    class Notifier(BaseNotifier):
        template_fields = ("message",)

        def __init__(self, message: str) -> None:
            self.message = message

        def notify(self, context: Any) -> None:
            said.append(self.message)
            said.append(HITLOperator.generate_link_to_ui_from_context(
                context=context, base_url="http://localhost:28080"
            ))  # fmt: skip

    with DAG("hitl", schedule=None) as dag:
        ask = HITLOperator(
            task_id="ask",
            subject="Pick one",
            options=["a", "b"],
            on_failure_callback=Notifier("'{{ task.subject }}' failed"),
        )
        entry = HITLEntryOperator(task_id="entry", subject="Fill in")
        approve = ApprovalOperator(task_id="approve", subject="OK?", defaults="Reject")
        branch = HITLBranchOperator(task_id="branch", subject="Which?", options=["after"])

        @task
        def after() -> None: ...

        [ask, entry] >> approve >> branch >> after()
    assert entry.options == ["OK"]
    assert approve.options == ["Approve", "Reject"]
    result = dag.test()
    states = {k: v["state"] for k, v in result.tasks.items()}
    assert states == {
        "ask": "failed",
        "entry": "failed",
        "approve": "upstream_failed",
        "branch": "upstream_failed",
        "after": "upstream_failed",
    }
    assert said[0] == "'Pick one' failed"
    assert said[1].startswith("http://localhost:28080/dags/hitl/runs/manual__")
    assert said[1].endswith("/tasks/ask/required_actions?map_index=-1")
