"""Failure and retry emails (BaseOperator's ``email``, ``email_on_failure``, ``email_on_retry``)
through the SMTP provider's SmtpNotifier, against an SMTP server (aiosmtpd) started by the test:
a failed try's email from the try itself, a dead try's from the callbacks role's code. Real
Airflow 3.3.2's ``dags test`` of tests/dags/email_alerts/email_alerts.py sent the same three
emails, with the same subject template and body (its ``{{ti}}`` renders its pydantic model)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from airlane.dag_loader.importer import load_dags
from airlane.queue.task_callback_jobs import TaskCallbackKind
from airlane.service.coordinator.policies.task_callbacks import task_has_callback
from airlane.service.execution.dag_callbacks import LastTI, run_callbacks
from airlane.service.execution.local_runner import make_run_info
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_callbacks import task_callbacks
from tests.conftest import TEST_DAGS, run_cli
from tests.integration.smtp_server import SmtpServer
from tests.integration.test_provider_notifiers import _missing

FOLDER = TEST_DAGS / "email_alerts"

pytestmark = [
    pytest.mark.skipif(bool(_missing()), reason=f"not installed: {_missing()}"),
    pytest.mark.timeout(120),
]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def _mails(smtp: SmtpServer) -> list[tuple[str, str, str]]:
    found = []
    for message in smtp.messages:
        body = message.get_body(("html",))
        found.append((message["Subject"], message["To"], body.get_content() if body else ""))
    return found


def test_a_failed_try_emails_its_task_email_on_retry_and_on_failure(smtp: SmtpServer) -> None:
    result = run_cli(
        "dags",
        "test",
        "email_alerts",
        "--logical-date",
        "2026-03-04",
        "--dags-folder",
        str(FOLDER),
        "--json",
        env={"AIRFLOW_CONN_SMTP_DEFAULT": smtp.connection_json()},
    )
    summary = result.json()
    assert summary["tasks"]["fine"]["state"] == "success", result.stderr
    run_id = summary["run_id"]
    mails = sorted(_mails(smtp))
    alert = "Airflow alert: <TaskInstance: email_alerts"
    assert [(subject, to) for subject, to, _ in mails] == [
        (f"{alert}.flaky_mail {run_id} [failed]>", "ops@example.com"),
        (f"{alert}.flaky_mail {run_id} [up_for_retry]>", "ops@example.com"),
        (f"{alert}.no_retry_mail {run_id} [failed]>", "ops@example.com"),
    ]
    body = mails[1][2]
    assert body.startswith("Try 1 out of 2<br>Exception:<br>the source table is gone<br>Log: ")
    assert "http://localhost:8080/#/dags/email_alerts?run=" in body
    assert "&task=flaky_mail&try=1" in body


def test_a_try_that_died_with_its_worker_gets_its_email_from_the_callbacks_role(
    smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp.connection_json())
    dags, errors = load_dags(str(FOLDER / "email_alerts.py"), str(FOLDER))
    assert not errors
    (dag,) = dags
    run = make_run_info(
        dag, datetime(2026, 3, 4, tzinfo=UTC), {}, "dead_run", external_trigger=False
    )
    dead = LastTI("flaky_mail", -1, 2, 1, "failed")
    context, callbacks = task_callbacks(dag, run, dead, "on_failure_callback", InMemoryXComs())
    lines: list[str] = []
    results = run_callbacks(callbacks, context, lines.append, what="Task callback")
    assert results.errors == ()
    ((subject, to, body),) = _mails(smtp)
    assert subject == "Airflow alert: <TaskInstance: email_alerts.flaky_mail dead_run [failed]>"
    assert to == "ops@example.com"
    assert body.startswith("Try 2 out of 2<br>Exception:<br>None<br>")
    # a retry of a task whose email_on_retry is off sends none
    quiet = LastTI("no_retry_mail", -1, 1, 1, "up_for_retry")
    _, none = task_callbacks(dag, run, quiet, "on_retry_callback", InMemoryXComs())
    assert none == []


def test_the_coordinator_records_a_dead_trys_job_for_its_email_alone() -> None:
    dag = {
        "tasks": [
            {"task_id": "mailed", "email_alerts": ["failure"]},
            {"task_id": "silent"},
        ]
    }
    assert task_has_callback(dag, "mailed", TaskCallbackKind.FAILURE)
    assert not task_has_callback(dag, "mailed", TaskCallbackKind.RETRY)
    assert not task_has_callback(dag, "silent", TaskCallbackKind.FAILURE)
