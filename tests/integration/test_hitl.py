"""Human-in-the-loop tasks on real services: a run waits on each question, the test answers
through the API (Airflow 3.1's hitlDetails endpoints), each answer fires the trigger the
waiting try deferred on (in the triggerer) and the chosen branch runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(120)

RUN = "/api/v2/dags/hitl_flow/dagRuns"


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("hitl")
    shutil.copytree(TEST_DAGS / "hitl", work / "dags")
    with api_cluster(redis_server, work, work / "dags", workers=1, concurrency=4) as api:
        api.cluster.start("triggerer", "triggerer")
        api.cluster.wait_for_dags("hitl_flow", "hitl_gate", "hitl_timeout", timeout_s=60)
        yield api


def _waiting(api: Api, token: str, run_id: str, task_id: str) -> dict[str, Any]:
    """The detail of ``task_id`` once its try asked and gave its slot back, from the list of
    the run's details."""

    def asked() -> dict[str, Any] | None:
        query = f"{RUN}/{run_id}/hitlDetails?task_id={task_id}"
        status, body = api.call("GET", query, token=token)
        assert status == 200, body
        found = [
            d
            for d in body["hitl_details"]
            if not d["response_received"] and d["task_instance"]["state"] == "deferred"
        ]
        return found[0] if found else None

    return wait_until(asked, 60, f"{task_id} to ask")


def test_a_run_waits_for_each_answer_and_follows_the_chosen_branch(api: Api) -> None:
    token = api.token()
    run_id = api.cluster.trigger("hitl_flow")
    one = f"{RUN}/{run_id}/taskInstances/{{}}/-1/hitlDetails"

    entry = _waiting(api, token, run_id, "entry")
    assert entry["options"] == ["OK"]
    assert entry["defaults"] == ["OK"]
    assert entry["params"]["name"] == {
        "value": "x",
        "description": None,
        "schema": {"type": "string"},
    }
    not_text = {"chosen_options": ["OK"], "params_input": {"name": 5}}
    bad = api.call("PATCH", one.format("entry"), not_text, token)
    assert bad[0] == 422
    assert bad[1]["detail"][0]["loc"] == ["body", "params_input", "name"]
    answer = {"chosen_options": ["OK"], "params_input": {"name": "Zoe"}}
    status, body = api.call("PATCH", one.format("entry"), answer, token)
    assert status == 200, body
    assert body["responded_by"] == {"id": "alice", "name": "alice"}
    assert api.call("PATCH", one.format("entry"), answer, token)[0] == 409

    gate = _waiting(api, token, run_id, "gate")
    assert gate["subject"] == "Ship it, Zoe?"
    assert gate["assigned_users"] == [{"id": "alice", "name": "Alice"}]
    wrong = api.call("PATCH", one.format("gate"), {"chosen_options": ["Maybe"]}, token)
    assert wrong[0] == 422
    assert wrong[1]["detail"][0]["loc"] == ["body", "chosen_options"]
    assert api.call("PATCH", one.format("gate"), {"chosen_options": ["Approve"]}, token)[0] == 200

    _waiting(api, token, run_id, "pick")
    assert api.call("PATCH", one.format("pick"), {"chosen_options": ["right"]}, token)[0] == 200
    summary = api.cluster.wait_run("hitl_flow", run_id, timeout_s=30)
    states = {t: s["state"] for t, s in summary["tasks"].items()}
    assert states["left"] == "skipped"
    assert states["right"] == "success"
    assert summary["state"] == "success"

    answered = "/api/v2/dags/~/dagRuns/~/hitlDetails?response_received=true&order_by=-subject"
    status, listed = api.call("GET", answered, token=token)
    assert status == 200
    mine = [d for d in listed["hitl_details"] if d["task_instance"]["dag_run_id"] == run_id]
    assert [d["task_instance"]["task_id"] for d in mine] == ["entry", "pick", "gate"]
    assert mine[2]["chosen_options"] == ["Approve"]
    missing = api.call("GET", one.format("left"), token=token)
    assert missing[0] == 404
    assert "does not exist" in missing[1]["detail"]
    # one try's detail (Airflow 3.3's HITLDetailHistory)
    status, tried = api.call("GET", one.format("gate") + "/tries/1", token=token)
    assert status == 200, tried
    assert (tried["chosen_options"], tried["task_instance"]["try_number"]) == (["Approve"], 1)
    assert api.call("GET", one.format("gate") + "/tries/2", token=token)[0] == 404


def test_unanswered_past_its_timeout_a_task_takes_its_defaults(api: Api) -> None:
    run_id = api.cluster.trigger("hitl_timeout")
    summary = api.cluster.wait_run("hitl_timeout", run_id, timeout_s=30)
    states = {t: s["state"] for t, s in summary["tasks"].items()}
    assert states == {"pick": "success", "left": "success", "right": "skipped"}
    detail = f"/api/v2/dags/hitl_timeout/dagRuns/{run_id}/taskInstances/pick/-1/hitlDetails"
    status, body = api.call("GET", detail, token=api.token())
    assert status == 200
    assert body["chosen_options"] == ["left"]
    assert body["responded_by_user"] is None
