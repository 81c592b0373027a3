"""BaseNotifier with Airflow 3.1's surface, Airlane's webhook notifier, and the jobs of dead
tries' task callbacks."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from airlane.queue.callback_jobs import CallbackKind, CallbackReason, DagCallbackJob
from airlane.queue.protocol import MalformedRecord
from airlane.queue.task_callback_jobs import TaskCallbackJob, TaskCallbackKind, decode_job
from airlane.sdk.dag import DAG
from airlane.sdk.notifier import BaseNotifier
from airlane.sdk.webhook_notifier import (
    WebhookError,
    WebhookNotifier,
    default_payload,
    idempotency_key,
)
from tests.integration.webhook_receiver import WebhookReceiver


class Greeter(BaseNotifier):
    template_fields = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message
        self.sent: list[str] = []

    def notify(self, context: Any) -> None:
        self.sent.append(self.message)

    async def async_notify(self, context: Any) -> None:
        self.sent.append(f"async {self.message}")


def test_a_notifier_renders_its_template_fields_and_puts_them_in_the_context() -> None:
    dag = DAG("n", schedule=None, start_date=datetime(2026, 1, 1))
    notifier = Greeter("run {{ run_id }}")
    context: dict[str, Any] = {"dag": dag, "run_id": "r1"}
    notifier(context)
    assert notifier.sent == ["run r1"]
    assert context["message"] == "run {{ run_id }}"  # Airflow's context_merge, before rendering


def test_the_airflow_2_sla_form_and_the_awaited_form() -> None:
    notifier = Greeter("{{ task_list }}")
    notifier(None, ["a"], [], [])  # no DAG: Airflow's default sandboxed environment
    assert notifier.sent == ["['a']"]
    awaited = Greeter("{{ x }}")
    awaited.context = {"x": 1}

    async def go() -> None:
        await awaited

    asyncio.run(go())
    assert awaited.sent == ["async 1"]


def test_a_notify_that_raises_is_logged_and_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(BaseNotifier):
        def notify(self, context: Any) -> None:
            raise RuntimeError("down")

    with pytest.raises(RuntimeError, match="down"):
        Broken()({})
    assert "Failed to send notification (sync): down" in caplog.text
    with pytest.raises(NotImplementedError):
        BaseNotifier().notify({})  # type: ignore[arg-type]


def test_the_webhook_notifier_posts_the_run_with_an_idempotency_key() -> None:
    dag = DAG("w", schedule=None, start_date=datetime(2026, 1, 1))
    with WebhookReceiver() as receiver:
        notifier = WebhookNotifier(receiver.url, headers={"X-Run": "{{ run_id }}"})
        context: dict[str, Any] = {"dag": dag, "run_id": "r1", "reason": "task_failure"}
        notifier(context)
        WebhookNotifier(receiver.url, payload={"text": "{{ dag.dag_id }} failed"})(
            {"dag": dag, "run_id": "r1"}
        )
        first, second = receiver.posts()
    assert first.body == default_payload(context)
    assert first.body["dag_id"] == "w"
    assert first.headers["X-Run"] == "r1"
    assert first.headers["Idempotency-Key"] == idempotency_key(first.body)
    assert second.body == {"text": "w failed"}


def test_the_webhook_notifier_raises_when_the_receiver_is_unreachable() -> None:
    with pytest.raises(WebhookError, match="could not be reached"):
        WebhookNotifier("http://127.0.0.1:9/x", timeout_s=2).notify({})  # type: ignore[arg-type]
    with pytest.raises(WebhookError, match=r"^http://127.0.0.1:9 could not be reached"):
        WebhookNotifier("http://u:pw@127.0.0.1:9/T0K3N", timeout_s=2).notify({})  # type: ignore[arg-type]
    with pytest.raises(WebhookError, match="not an http"):
        WebhookNotifier("file:///etc/passwd").notify({})  # type: ignore[arg-type]


def test_task_and_dag_callback_jobs_decode_to_their_kind() -> None:
    task_job = TaskCallbackJob("d", "r", "t", 2, 1, 1, TaskCallbackKind.RETRY, "gone", 5.0, 3)
    dag_job = DagCallbackJob("d", "r", CallbackKind.FAILURE, CallbackReason.TASK_FAILURE, 5.0, 0)
    assert decode_job(task_job.encode()) == task_job
    assert decode_job(dag_job.encode()) == dag_job
    assert task_job.job_id.endswith("d|r|t|2|1|on_retry_callback|g3")
    with pytest.raises(MalformedRecord):
        decode_job('{"task_id": "t"}')
