"""The SMTP and Slack providers' notifiers and the SMTP provider's EmailOperator, unmodified,
as their documentation shows them: under ``dags test`` and with the service processes (task
callbacks in the try, DAG callbacks in the callbacks role's child process), against an SMTP
server (aiosmtpd) and an HTTP receiver started by the test.

Needs the providers installed (``airlane providers install smtp slack``; scripts/setup.sh does
it for the tests) and the shim's ``airflow.__version__``."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS, run_cli
from tests.integration.cluster import Cluster, RedisServer, wait_until
from tests.integration.smtp_server import SmtpServer
from tests.integration.test_dag_callbacks import callback_events
from tests.integration.webhook_receiver import WebhookReceiver

FOLDER = TEST_DAGS / "provider_notifiers"
PROVIDERS = ("apache-airflow-providers-smtp", "apache-airflow-providers-slack")


def _missing() -> list[str]:
    missing = []
    for name in PROVIDERS:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if importlib.util.find_spec("airlane.sdk.airflow_version") is None:
        missing.append("the shim's airflow.__version__ (h7-providers)")
    return missing


pytestmark = [
    pytest.mark.skipif(bool(_missing()), reason=f"not installed: {_missing()}"),
    pytest.mark.timeout(120),
]

DAG_SUBJECTS = ["[Error] The dag provider_notify failed"]
TASK_SUBJECTS = ["[Error] The Task mytask failed"]
SLACK_TEXTS = {"The dag provider_notify failed", "The task mytask failed"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def slack() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def connections(smtp: SmtpServer, slack: WebhookReceiver) -> dict[str, str]:
    # the Slack webhook connection as its docs show it: the webhook URL in the password
    slack_conn = {"conn_type": "slackwebhook", "password": slack.url}
    return {
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp.connection_json(),
        "AIRFLOW_CONN_SLACK_WEBHOOK_DEFAULT": json.dumps(slack_conn),
    }


def assert_notified(smtp: SmtpServer, slack: WebhookReceiver, run_id: str) -> None:
    subjects = smtp.subjects()
    assert sorted(subjects) == sorted([*DAG_SUBJECTS, *TASK_SUBJECTS, "Report of 2026-01-01"])
    report = next(m for m in smtp.messages if m["Subject"] == "Report of 2026-01-01")
    assert report["To"] == "team@example.com"
    assert f"run {run_id}" in report.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert {p.body["text"] for p in slack.posts()} == SLACK_TEXTS
    assert len(slack.posts()) == 2


def test_provider_notifiers_and_email_operator_under_dags_test(
    smtp: SmtpServer, slack: WebhookReceiver
) -> None:
    result = run_cli(
        "dags",
        "test",
        "provider_notify",
        "--logical-date",
        "2026-01-01",
        "--dags-folder",
        str(FOLDER),
        "--json",
        env=connections(smtp, slack),
    )
    summary = result.json()
    assert summary["state"] == "failed", result.stderr
    assert summary["tasks"]["send_email"]["state"] == "success"
    assert_notified(smtp, slack, summary["run_id"])


@pytest.fixture
def nodes(
    clean_redis: RedisServer, tmp_path: Path, smtp: SmtpServer, slack: WebhookReceiver
) -> Iterator[Cluster]:
    cluster = Cluster(clean_redis.url, FOLDER, tmp_path, **connections(smtp, slack))
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker", "worker", "--concurrency", "4", "--grace", "1")
    cluster.start("callbacks", "callbacks")
    cluster.wait_for_dags("provider_notify")
    yield cluster
    cluster.stop_all()


def test_provider_notifiers_and_email_operator_with_the_services(
    nodes: Cluster, smtp: SmtpServer, slack: WebhookReceiver
) -> None:
    run_id = nodes.trigger("provider_notify", logical_date="2026-01-01T00:00:00+00:00")
    summary = nodes.wait_run("provider_notify", run_id)
    assert summary["state"] == "failed"
    assert summary["tasks"]["send_email"]["state"] == "success"
    wait_until(lambda: callback_events(nodes, run_id), 30, "the DAG callbacks")
    (event,) = callback_events(nodes, run_id)
    assert (event.outcome.value, event.error) == ("done", "")
    assert_notified(smtp, slack, run_id)
