"""A human-in-the-loop approval answered in the task instance panel, in real Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import login, shot
from tests.conftest import TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def ui(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The services on the HITL test DAGs (this module's own: the page fixture uses it)."""
    work = tmp_path_factory.mktemp("ui_hitl")
    shutil.copytree(TEST_DAGS / "hitl", work / "dags")
    with api_cluster(redis_server, work, work / "dags", workers=1, concurrency=4) as api:
        api.cluster.start("triggerer", "triggerer")
        api.cluster.wait_for_dags("hitl_gate", timeout_s=60)
        yield api


def test_an_approval_is_answered_in_the_task_panel(page: Page, ui: Api) -> None:
    token = ui.token()
    runs = "/api/v2/dags/hitl_gate/dagRuns"
    status, run = ui.call("POST", runs, {"dag_run_id": "ui_hitl", "logical_date": None}, token)
    assert status == 200, run
    run_id = run["dag_run_id"]
    login(page)
    page.goto(f"/ui/#/dags/hitl_gate?tab=graph&run={run_id}&task=gate")
    question = page.locator("aside.ti-panel section.hitl")
    expect(question.locator(".hitl-subject")).to_have_text("Deploy?")
    expect(question.locator(".hitl-body")).to_have_text("Release **42**")
    shot(page, "30-hitl-question")
    question.locator("[data-hitl-option=Approve]").click()
    expect(question.locator("[data-hitl-chosen]")).to_have_text("Approve")
    deploy = f"{runs}/{run_id}/taskInstances/deploy"
    wait_until(lambda: ui.call("GET", deploy, token=token)[1]["state"] == "success", 30, "deploy")
