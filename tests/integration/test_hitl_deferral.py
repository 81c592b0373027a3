"""HITL tasks defer on real services (one module cluster: a worker of ONE slot, a triggerer):
the waiting task holds no slot, an answer resumes it at once (the trigger is told of the
answer, it does not poll), and a SIGKILLed triggerer's HITL trigger resumes its task exactly
once on another triggerer after the answer."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(120)

DAG_ID = "hitl_slot"


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("hitl_defer")
    shutil.copytree(TEST_DAGS / "hitl_defer", work / "dags")
    env = {"AIRLANE_TRIGGERER_LEASE_S": "1.5", "AIRLANE_TRIGGERER_POLL_S": "0.05"}
    with api_cluster(redis_server, work, work / "dags", workers=1, concurrency=1, **env) as api:
        api.cluster.start("triggerer0", "triggerer")
        api.cluster.wait_for_dags(DAG_ID, timeout_s=60)
        # a group that never reads: the coordinator's trim keeps the completions this test
        # reads after the fact (queue/trimming.py)
        client = api.cluster.redis()
        client.xgroup_create(api.cluster.keys.completions, "hitl_witness", id="$", mkstream=True)
        client.close()
        yield api


def _state(api: Api, run_id: str, task_id: str) -> str:
    found = api.cluster.task_instances(DAG_ID, run_id).get((task_id, -1))
    return "none" if found is None else found[0].state.value


def _answer(api: Api, run_id: str, option: str) -> float:
    """Answer the question; when the answer was written (epoch s)."""
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/ask/-1/hitlDetails"
    status, body = api.call("PATCH", path, {"chosen_options": [option]}, api.token())
    assert status == 200, body
    return datetime.fromisoformat(body["responded_at"]).timestamp()


def _log(api: Api, run_id: str) -> str:
    client = api.cluster.redis()
    lines = [
        f["line"] for _, f in client.xrange(api.cluster.keys.log(DAG_ID, run_id, "ask", -1, 1))
    ]
    client.close()
    return "\n".join(lines)


def test_a_waiting_question_holds_no_slot_and_an_answer_resumes_it_at_once(api: Api) -> None:
    run_id = api.cluster.trigger(DAG_ID)
    client = api.cluster.redis()
    keys = api.cluster.keys
    # one slot: the other task runs only because the question gave its slot back
    wait_until(
        lambda: (
            _state(api, run_id, "other") == "success"
            and _state(api, run_id, "ask") == "deferred"
            and client.hlen(keys.trigger_owners) == 1
            and "[HITL] waiting for an answer" in api.cluster.logs("triggerer0")
        ),
        60,
        "the other task done while the question waits on its trigger",
    )
    _answer(api, run_id, "yes")
    wait_until(lambda: _state(api, run_id, "ask") == "success", 30, "the answered task")
    resumed = [
        int(entry_id.split("-")[0]) / 1000
        for entry_id, fields in client.xrange(keys.completions)
        if fields["kind"] == "resumed" and fields["run"].endswith(run_id)
    ]
    client.close()
    assert len(resumed) == 1
    # told of the answer, not polling (a few ms when idle; the log says which, not a clock)
    assert "[HITL] answer told by the answer's notice" in api.cluster.logs("triggerer0")
    summary = api.cluster.wait_run(DAG_ID, run_id, timeout_s=30)
    assert summary["tasks"]["ask"] == {"state": "success", "try_number": 1}


def test_a_killed_triggerers_question_resumes_once_on_another(api: Api) -> None:
    run_id = api.cluster.trigger(DAG_ID)
    client = api.cluster.redis()
    keys = api.cluster.keys
    wait_until(
        lambda: _state(api, run_id, "ask") == "deferred" and client.hlen(keys.trigger_owners) == 1,
        60,
        "the question's trigger held by the triggerer",
    )
    api.cluster.signal("triggerer0", signal.SIGKILL)
    api.cluster.start("triggerer1", "triggerer")
    _answer(api, run_id, "no")
    summary = api.cluster.wait_run(DAG_ID, run_id, timeout_s=60)
    assert summary["tasks"]["ask"] == {"state": "success", "try_number": 1}
    assert _log(api, run_id).count("resumed by its trigger") == 1
    assert client.hlen(keys.resumes) == 0
    assert client.hlen(keys.triggers) == 0
    client.close()
