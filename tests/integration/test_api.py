"""The HTTP API on real processes, driven by Airflow's own client (apache-airflow-client),
and its run events over SSE."""

from __future__ import annotations

import asyncio
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import aiohttp
import airflow_client.client as af
import jwt
import orjson
import pytest
from airflow_client.client.api.dag_api import DAGApi
from airflow_client.client.api.dag_run_api import DagRunApi
from airflow_client.client.api.event_log_api import EventLogApi
from airflow_client.client.api.task_instance_api import TaskInstanceApi

from tests.conftest import TEST_DAGS, run_cli
from tests.integration.cluster import SECRET, Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("api")
    shutil.copytree(TEST_DAGS / "api", work / "dags")
    shutil.copy(TEST_DAGS / "run_types" / "scheduled_only.py", work / "dags")
    shutil.copy(TEST_DAGS / "listing" / "api_listing.py", work / "dags")
    with api_cluster(redis_server, work, work / "dags", workers=2) as api:
        api.cluster.wait_for_dags("api_flaky", "run_types_scheduled_only")
        yield api


def test_airflow_client_triggers_waits_reads_logs_and_clears(api: Api) -> None:
    config = af.Configuration(host=api.url, access_token=api.token())
    with af.ApiClient(config) as client:
        dags = DAGApi(client).get_dags(tags=["example"])
        assert [d.dag_id for d in dags.dags] == ["api_flaky"]
        assert dags.dags[0].is_paused is False

        runs = DagRunApi(client)
        created = runs.trigger_dag_run(
            "api_flaky", af.TriggerDAGRunPostBody(dag_run_id="first", conf={"rows": 42})
        )
        assert created.dag_run_id == "first"
        assert created.conf == {"rows": 42}
        wait_until(
            lambda: runs.get_dag_run("api_flaky", "first").state.value in ("success", "failed"),
            60,
            "the run to end",
        )
        assert runs.get_dag_run("api_flaky", "first").state.value == "failed"

        tis = TaskInstanceApi(client)
        states = {
            ti.task_id: (ti.state.value, ti.try_number)
            for ti in tis.get_task_instances("api_flaky", "first").task_instances
        }
        assert states == {"extract": ("success", 1), "load": ("failed", 1)}
        log = tis.get_log("api_flaky", "first", "load", 1)
        text = "\n".join(m.event for m in log.content.actual_instance)
        assert "the warehouse is not ready yet" in text

        (api.cluster.markers / "load-may-pass").touch()
        cleared = tis.post_clear_task_instances(
            "api_flaky",
            af.ClearTaskInstancesBody(
                dry_run=False,
                dag_run_id="first",
                task_ids=[af.ClearTaskInstancesBodyTaskIdsInner("load")],
            ),
        )
        assert [ti.task_id for ti in cleared.task_instances] == ["load"]
        wait_until(
            lambda: runs.get_dag_run("api_flaky", "first").state.value == "success",
            60,
            "the cleared run to succeed",
        )
        load = tis.get_task_instance("api_flaky", "first", "load")
        assert (load.state.value, load.try_number) == ("success", 2)
        second = tis.get_log("api_flaky", "first", "load", 2)
        assert any("loaded 42 rows" in m.event for m in second.content.actual_instance)
        tries = tis.get_task_instance_tries("api_flaky", "first", "load").task_instances
        assert [(t.try_number, t.state.value) for t in tries] == [(1, "failed"), (2, "success")]
        assert tries[0].end_date is not None
        assert tries[0].hostname


def test_airflow_client_reads_the_newer_operations(api: Api) -> None:
    """apache-airflow-client 3.3.2 (its models validate every answer) on the operations
    Airlane added for Airflow 3.3: dependencies, tries, group marks, bulk clears and PATCHes,
    favourites, the event log, the batch run listing."""
    token = api.token()
    body = {"dag_run_id": "by_client"}
    assert api.call("POST", "/api/v2/dags/api_listing/dagRuns", body, token=token)[0] == 200
    assert _wait_run(api, token, "api_listing", "by_client") == "success"
    config = af.Configuration(host=api.url, access_token=token)
    with af.ApiClient(config) as client:
        tis, runs, dags = TaskInstanceApi(client), DagRunApi(client), DAGApi(client)
        deps = tis.get_task_instance_dependencies("api_listing", "by_client", "outer.first")
        assert deps.dependencies == []
        mapped = tis.get_task_instance_dependencies_by_map_index(
            "api_listing", "by_client", "doubled", 2
        )
        assert mapped.dependencies == []
        tries = tis.get_mapped_task_instance_tries("api_listing", "by_client", "doubled", 1)
        assert [t.try_number for t in tries.task_instances] == [1]
        one = tis.get_mapped_task_instance_try_details("api_listing", "by_client", "doubled", 1, 1)
        assert (one.map_index, one.state.value) == (1, "success")
        group = tis.patch_task_group_instances_dry_run(
            "api_listing", "by_client", "outer", af.PatchTaskInstanceBody(new_state="failed")
        )
        assert sorted(ti.task_id for ti in group.task_instances) == [
            "outer.first",
            "outer.inner.deep",
        ]
        # (the client cannot parse a dry run's instances, Airflow's own answer included: a
        # TaskInstanceResponse also fits its NewTaskResponse, so its oneOf fails; read raw)
        chosen = af.BulkDAGRunClearBody(dag_runs=[af.BulkDAGRunBody(dag_run_id="by_client")])
        raw = runs.clear_dag_runs_without_preload_content("api_listing", chosen)
        assert (raw.status, orjson.loads(raw.data)["total_entries"]) == (200, 5)
        partitions = runs.clear_dag_run_partitions(
            "api_listing", af.ClearPartitionsBody(run_id="by_client")
        )
        assert (partitions.dag_runs_cleared, partitions.dry_run) == (0, True)
        batch = runs.get_list_dag_runs_batch(
            "~", af.DAGRunsBatchBody(dag_ids=["api_listing"], page_limit=1)
        )
        assert len(batch.dag_runs) == 1
        noted = af.BulkBodyBulkDAGRunBody(
            actions=[
                af.ActionsInner(
                    af.BulkUpdateActionBulkDAGRunBody(
                        action="update",
                        entities=[af.BulkDAGRunBody(dag_run_id="by_client", note="seen")],
                    )
                )
            ]
        )
        answer = runs.bulk_dag_runs("api_listing", noted)
        assert answer.update.success == ["api_listing.by_client"]
        dags.favorite_dag("api_listing")
        assert dags.get_dag_details("api_listing").is_favorite is True
        dags.unfavorite_dag("api_listing")
        logs = EventLogApi(client).get_event_logs(event="bulk_dag_runs")
        assert logs.event_logs[-1].run_id is None  # (the run is the entity's: not the path's)
        entry = EventLogApi(client).get_event_log(logs.event_logs[-1].event_log_id)
        assert entry.event == "bulk_dag_runs"


def test_no_token_is_401_and_a_bad_one_too(api: Api) -> None:
    status, body = api.call("GET", "/api/v2/dags")
    assert status == 401
    assert body == {"detail": "Not authenticated"}
    status, body = api.call("GET", "/api/v2/dags", token="not-a-jwt")
    assert status == 401
    assert body == {"detail": "Invalid token"}
    status, _ = api.call("POST", "/auth/token", {"username": "alice", "password": "wrong"})
    assert status == 401
    assert api.call("GET", "/api/v2/monitor/health")[0] == 200
    assert api.call("GET", "/api/v2/version")[0] == 200


def test_an_expired_token_is_refused(api: Api) -> None:
    expired = jwt.encode(
        {"sub": "alice", "role": "admin", "exp": int(time.time()) - 5}, SECRET, algorithm="HS256"
    )
    status, body = api.call("GET", "/api/v2/dags", token=expired)
    assert status == 401
    assert body == {"detail": "Token has expired"}


def test_a_viewer_reads_but_changes_nothing(api: Api) -> None:
    token = api.token("victor", "viewer-pw")
    assert api.call("GET", "/api/v2/dags/api_flaky", token=token)[0] == 200
    for method, path, body in (
        ("PATCH", "/api/v2/dags/api_flaky", {"is_paused": True}),
        ("POST", "/api/v2/dags/api_flaky/dagRuns", {}),
        ("POST", "/api/v2/dags/api_flaky/clearTaskInstances", {"dry_run": False}),
    ):
        status, answer = api.call(method, path, body, token=token)
        assert (status, answer) == (403, {"detail": "Forbidden"}), (method, path)
    status, dag = api.call("GET", "/api/v2/dags/api_flaky", token=token)
    assert dag["is_paused"] is False


def test_bad_requests_name_the_field(api: Api) -> None:
    token = api.token()
    status, body = api.call("POST", "/api/v2/dags/api_flaky/dagRuns", {"conf": "x"}, token=token)
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "conf"]
    status, body = api.call(
        "POST", "/api/v2/dags/api_flaky/dagRuns", {"logical_date": "tuesday"}, token=token
    )
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "logical_date"]
    status, body = api.call("POST", "/api/v2/dags/api_flaky/dagRuns", {"colour": 1}, token=token)
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "colour"]
    status, body = api.call("GET", "/api/v2/dags?limit=-1", token=token)
    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "limit"]
    status, body = api.call("POST", "/api/v2/dags/api_flaky/dagRuns", raw=b"{", token=token)
    assert status == 422
    assert body["detail"][0]["loc"] == ["body"]
    status, body = api.call("GET", "/api/v2/dags/nope", token=token)
    assert status == 404
    assert "nope" in body["detail"]
    status, _ = api.call(
        "POST", "/api/v2/dags/api_flaky/dagRuns", {"dag_run_id": "dup"}, token=token
    )
    assert status == 200
    status, body = api.call(
        "POST", "/api/v2/dags/api_flaky/dagRuns", {"dag_run_id": "dup"}, token=token
    )
    assert status == 409
    assert "dup" in body["detail"]
    big = b'{"conf": {"x": "' + b"a" * (2 * 1024 * 1024) + b'"}}'
    status, body = api.call("POST", "/api/v2/dags/api_flaky/dagRuns", raw=big, token=token)
    assert status == 413
    assert "detail" in body


def test_a_run_triggered_for_later_shows_its_run_after_and_stays_queued(api: Api) -> None:
    """Airflow 3's trigger body: ``run_after`` to come keeps the run queued until then."""
    token = api.token()
    body = {"dag_run_id": "for_later", "logical_date": None, "run_after": "2999-01-01T00:00:00Z"}
    status, run = api.call("POST", "/api/v2/dags/api_chain/dagRuns", body, token=token)
    assert status == 200, run
    assert run["run_after"] == "2999-01-01T00:00:00+00:00"
    assert run["state"] == "queued"
    # setting it queued again (a clear of the whole run) does not start it before its time
    patched = api.call(
        "PATCH", "/api/v2/dags/api_chain/dagRuns/for_later", {"state": "queued"}, token=token
    )
    assert patched[0] == 200, patched
    api.call("POST", "/api/v2/dags/api_chain/dagRuns", {"dag_run_id": "not_held"}, token=token)
    api.cluster.wait_run("api_chain", "not_held", timeout_s=60)  # not held back by it
    status, run = api.call("GET", "/api/v2/dags/api_chain/dagRuns/for_later", token=token)
    assert (status, run["state"]) == (200, "queued")


def test_a_dag_that_allows_scheduled_runs_only_refuses_manual_runs_and_backfills(
    api: Api,
) -> None:
    """Airflow 3.2's ``allowed_run_types``, with Airflow's statuses and messages."""
    token = api.token()
    dag_id = "run_types_scheduled_only"
    status, dag = api.call("GET", f"/api/v2/dags/{dag_id}", token=token)
    assert status == 200
    assert (dag["allowed_run_types"], dag["is_backfillable"]) == (["scheduled"], False)
    status, body = api.call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {}, token=token)
    assert (status, body["detail"]) == (
        400,
        f"Dag with dag_id: '{dag_id}' does not allow manual runs",
    )
    days = {
        "dag_id": dag_id,
        "from_date": "2026-01-01T00:00:00Z",
        "to_date": "2026-01-03T00:00:00Z",
    }
    for path in ("/api/v2/backfills", "/api/v2/backfills/dry_run"):
        status, body = api.call("POST", path, days, token=token)
        assert status == 400, (path, body)
        assert body["detail"] == f"Dag with dag_id: '{dag_id}' does not allow backfill runs"
    status, dag = api.call("GET", "/api/v2/dags/api_chain", token=token)
    assert (dag["allowed_run_types"], status) == (None, 200)
    keyed = {"partition_key": "2026-01"}  # (no partitioned DAGs here: Airflow's 400 for those)
    status, body = api.call("POST", "/api/v2/dags/api_chain/dagRuns", keyed, token=token)
    assert (status, body["detail"]) == (
        400,
        "Dag 'api_chain' is not a partitioned Dag and does not accept a partition_key.",
    )
    cli = run_cli("dags", "trigger", dag_id, env={"AIRLANE_REDIS_URL": api.cluster.redis_url})
    assert cli.code != 0
    assert f"Dag with dag_id: '{dag_id}' does not allow manual runs" in cli.stderr


def test_values_of_the_wrong_kind_are_4xx_naming_the_field_not_500(api: Api) -> None:
    token = api.token()
    for path in ("/ui/%00", "/ui/" + "a" * 300, "/ui/x%00.js"):
        assert api.call("GET", path) == (404, {"detail": "Not Found"}), path
    for method, path, body, field in (
        (
            "POST",
            "/api/v2/backfills/dry_run",
            {
                "dag_id": "api_chain",
                "from_date": "2024-01-01T00:00:00Z",
                "to_date": "2024-01-02T00:00:00Z",
                "reprocess_behavior": ["x"],
            },
            "reprocess_behavior",
        ),
        ("PATCH", "/api/v2/dags/api_flaky/dagRuns/dup", {"state": ["x"]}, "state"),
        (
            "PATCH",
            "/api/v2/dags/api_flaky/dagRuns/dup/taskInstances/extract/dry_run",
            {"new_state": {"a": 1}},
            "new_state",
        ),
    ):
        api.call("POST", "/api/v2/dags/api_flaky/dagRuns", {"dag_run_id": "dup"}, token=token)
        status, answer = api.call(method, path, body, token=token)
        assert (status, answer["detail"][0]["loc"]) == (422, ["body", field]), (path, answer)


def test_task_instances_are_listed_across_dags_and_runs(api: Api) -> None:
    token = api.token()
    for run_id in ("across_1", "across_2"):
        status, _ = api.call(
            "POST", "/api/v2/dags/api_chain/dagRuns", {"dag_run_id": run_id}, token=token
        )
        assert status == 200
        assert _wait_run(api, token, "api_chain", run_id) == "success"
    _, one_run = api.call(
        "GET", "/api/v2/dags/api_chain/dagRuns/across_1/taskInstances", token=token
    )
    tasks = sorted(ti["task_id"] for ti in one_run["task_instances"])

    path = "/api/v2/dags/~/dagRuns/~/taskInstances?run_id_prefix_pattern=across_1"
    status, body = api.call("GET", path, token=token)
    assert status == 200
    assert body["total_entries"] == len(tasks)
    assert sorted(ti["task_id"] for ti in body["task_instances"]) == tasks
    assert {(ti["dag_id"], ti["dag_run_id"]) for ti in body["task_instances"]} == {
        ("api_chain", "across_1")
    }
    query = f"task_id={tasks[0]}&state=success&limit=1000"
    status, body = api.call("GET", f"/api/v2/dags/~/dagRuns/~/taskInstances?{query}", token=token)
    assert status == 200
    runs = {(ti["dag_id"], ti["dag_run_id"]) for ti in body["task_instances"]}
    assert {("api_chain", "across_1"), ("api_chain", "across_2")} <= runs
    assert {ti["task_id"] for ti in body["task_instances"]} == {tasks[0]}
    assert body["total_entries"] == len(body["task_instances"])
    path = "/api/v2/dags/api_chain/dagRuns/~/taskInstances"
    paged = f"task_id={tasks[0]}&state=success&limit=1&offset=1"
    status, page = api.call("GET", f"{path}?{paged}", token=token)
    assert status == 200
    assert (len(page["task_instances"]), page["total_entries"]) == (1, body["total_entries"])
    assert (
        api.call("GET", "/api/v2/dags/api_chain/dagRuns/nope/taskInstances", token=token)[0] == 404
    )
    assert api.call("GET", "/api/v2/dags/nope/dagRuns/~/taskInstances", token=token)[0] == 404


def test_the_run_listing_filters_orders_and_pages_by_cursor(api: Api) -> None:
    """GET .../dagRuns takes Airflow 3.3's filters, several order_by fields and cursor
    (api/run_filters.py)."""
    token = api.token()
    runs = "/api/v2/dags/api_listing/dagRuns"
    for run_id, conf in (("conf_a", {"size": 1}), ("conf_b", {"size": 22}), ("conf_c", {})):
        body = {"dag_run_id": run_id, "conf": conf}
        assert api.call("POST", runs, body, token=token)[0] == 200
        assert _wait_run(api, token, "api_listing", run_id) == "success"

    def ids(query: str, where: str = runs) -> list[str]:
        status, answer = api.call("GET", f"{where}?{query}", token=token)
        assert status == 200, (query, answer)
        return [run["dag_run_id"] for run in answer["dag_runs"]]

    mine = "run_id_prefix_pattern=conf_"
    assert ids(mine) == ["conf_c", "conf_b", "conf_a"]  # (Airlane's order: newest first)
    assert ids(f"{mine}&order_by=dag_run_id") == ["conf_a", "conf_b", "conf_c"]
    assert ids("conf_contains=%22size%22%3A%202") == ["conf_b"]  # ("size": 2 of its JSON text)
    assert ids("run_id_pattern=CONF_A|conf_c&order_by=-run_id") == ["conf_c", "conf_a"]
    (version,) = api.call("GET", "/api/v2/dags/api_listing/dagVersions", token=token)[1][
        "dag_versions"
    ]
    assert len(ids(f"{mine}&dag_version={version['version_number']}")) == 3
    assert ids(f"{mine}&dag_version={version['version_number'] + 1}") == []
    assert ids(f"{mine}&duration_gte=0&updated_at_gte=2000-01-01T00:00:00Z") != []
    assert ids(f"{mine}&updated_at_lt=2000-01-01T00:00:00Z") == []
    assert ids(f"{mine}&bundle_version=v1") == []  # (Airlane's runs have no bundle version)
    assert ids(f"{mine}&partition_key_pattern=~") == []  # (nor partition keys)
    assert ids("dag_id_prefix_pattern=api_list&" + mine, "/api/v2/dags/~/dagRuns") == ids(mine)
    assert ids("triggering_user_name_pattern=nobody-such") == []
    # the batch listing (POST /dags/~/dagRuns/list, Airflow's DAGRunsBatchBody)
    batch = {"dag_ids": ["api_listing"], "conf_contains": '"size": 2', "states": ["success"]}
    status, answer = api.call("POST", "/api/v2/dags/~/dagRuns/list", batch, token=token)
    assert status == 200, answer
    assert [r["dag_run_id"] for r in answer["dag_runs"]] == ["conf_b"]
    batch = {"dag_ids": ["api_listing"], "order_by": "-run_id", "page_limit": 2}
    status, answer = api.call("POST", "/api/v2/dags/~/dagRuns/list", batch, token=token)
    assert answer["total_entries"] >= 3
    page_ids = [r["dag_run_id"] for r in answer["dag_runs"]]
    assert len(page_ids) == 2
    assert page_ids == sorted(page_ids, reverse=True)
    status, answer = api.call("POST", f"{runs}/list", {}, token=token)
    assert (status, answer["detail"][0]["loc"]) == (422, ["path", "dag_id"])
    # cursor pages, forward then back
    pages, cursor, answer = [], "", {}
    while cursor is not None:
        status, answer = api.call(
            "GET", f"{runs}?{mine}&order_by=-start_date&limit=2&cursor={cursor}", token=token
        )
        assert status == 200, answer
        assert answer["total_entries_limit"] == 50_000
        pages.append([run["dag_run_id"] for run in answer["dag_runs"]])
        cursor = answer["next_cursor"]
    assert pages == [["conf_c", "conf_b"], ["conf_a"]]
    back = f"{mine}&order_by=-start_date&limit=2&cursor={answer['previous_cursor']}"
    assert ids(back) == ["conf_c", "conf_b"]
    # Airflow's refusals
    for query, expected in (
        ("partition_date_gte=2026-01-01", 400),  # (not a partitioned DAG)
        ("partition_date_lte=someday", 422),
        ("order_by=note", 400),
        ("cursor=x", 400),
        ("dag_version=one", 422),
        ("duration_lt=short", 422),
    ):
        assert api.call("GET", f"{runs}?{query}", token=token)[0] == expected, query
    across = "/api/v2/dags/~/dagRuns?partition_date_gte=2026-01-01"
    assert api.call("GET", across, token=token)[0] == 400


def test_update_masks_limit_what_a_patch_changes(api: Api) -> None:
    """``update_mask`` on PATCH of variables, runs, DAGs and task instances, as Airflow's."""
    token = api.token()
    body = {"key": "masked_var", "value": "kept", "description": "first"}
    assert api.call("POST", "/api/v2/variables", body, token=token)[0] == 201
    path = "/api/v2/variables/masked_var"
    # the description alone changes: a value sent beside it (a sensitive variable's ***,
    # read back and sent again) is not written
    changed = {**body, "value": "***", "description": "second"}
    status, answer = api.call("PATCH", f"{path}?update_mask=description", changed, token=token)
    assert (status, answer["value"], answer["description"]) == (200, "kept", "second")
    status, answer = api.call("PATCH", f"{path}?update_mask=key", changed, token=token)
    assert status == 400
    assert "immutable" in answer["detail"]
    # a run: the mask keeps the state from changing
    assert (
        api.call("POST", "/api/v2/dags/api_listing/dagRuns", {"dag_run_id": "masked"}, token=token)[
            0
        ]
        == 200
    )
    assert _wait_run(api, token, "api_listing", "masked") == "success"
    run = "/api/v2/dags/api_listing/dagRuns/masked"
    patch = {"state": "failed", "note": "looked at"}
    status, answer = api.call("PATCH", f"{run}?update_mask=note", patch, token=token)
    assert (status, answer["state"], answer["note"]) == (200, "success", "looked at")
    # a DAG: only is_paused may be masked
    dag = "/api/v2/dags/api_listing"
    status, _ = api.call("PATCH", f"{dag}?update_mask=tags", {"is_paused": False}, token=token)
    assert status == 400
    status, answer = api.call(
        "PATCH", f"{dag}?update_mask=is_paused", {"is_paused": False}, token=token
    )
    assert (status, answer["is_paused"]) == (200, False)
    # a task instance: no map index marks every instance of a mapped task; the mask can
    # leave the state out
    tis = f"{run}/taskInstances/doubled"
    status, answer = api.call("PATCH", f"{tis}/dry_run", {"new_state": "failed"}, token=token)
    assert status == 200, answer
    assert sorted(ti["map_index"] for ti in answer["task_instances"]) == [0, 1, 2]
    status, answer = api.call(
        "PATCH", f"{tis}/dry_run?map_index=1", {"new_state": "failed"}, token=token
    )
    assert [ti["map_index"] for ti in answer["task_instances"]] == [1]
    status, answer = api.call(
        "PATCH", f"{tis}?update_mask=note", {"new_state": "failed"}, token=token
    )
    assert status == 200, answer
    assert {ti["state"] for ti in answer["task_instances"]} == {"success"}


def test_a_task_groups_instances_are_marked_together(api: Api) -> None:
    """PATCH .../taskGroupInstances/{group_id} (and its dry run) marks every instance of the
    group, nested groups' too, with Airflow's 404s and 409; a mapped instance's tries."""
    token = api.token()
    body = {"dag_run_id": "grouped"}
    assert api.call("POST", "/api/v2/dags/api_listing/dagRuns", body, token=token)[0] == 200
    assert _wait_run(api, token, "api_listing", "grouped") == "success"
    run = "/api/v2/dags/api_listing/dagRuns/grouped"
    groups = f"{run}/taskGroupInstances"

    def listed(answer: dict[str, Any]) -> list[tuple[str, int]]:
        return sorted((ti["task_id"], ti["map_index"]) for ti in answer["task_instances"])

    status, answer = api.call(
        "PATCH", f"{groups}/outer/dry_run", {"new_state": "failed"}, token=token
    )
    assert status == 200, answer
    assert listed(answer) == [("outer.first", -1), ("outer.inner.deep", -1)]
    assert {ti["state"] for ti in answer["task_instances"]} == {"success"}
    downstream = {"new_state": "failed", "include_downstream": True}
    status, answer = api.call("PATCH", f"{groups}/outer.inner/dry_run", downstream, token=token)
    assert listed(answer) == [("doubled", i) for i in range(3)] + [("outer.inner.deep", -1)]
    status, answer = api.call("PATCH", f"{groups}/outer", {"new_state": "success"}, token=token)
    assert status == 409
    assert answer["detail"] == "All task instances in the group are already in success state"
    status, answer = api.call(
        "PATCH", f"{groups}/outer.inner", {"new_state": "failed"}, token=token
    )
    assert status == 200, answer
    assert [(ti["task_id"], ti["state"]) for ti in answer["task_instances"]] == [
        ("outer.inner.deep", "failed")
    ]

    def deep_state() -> str | None:
        state = api.call("GET", f"{run}/taskInstances/outer.inner.deep", token=token)[1]["state"]
        return state if state == "failed" else None

    wait_until(deep_state, 30, "the group's mark to apply")
    status, answer = api.call("PATCH", f"{groups}/nowhere", {"new_state": "failed"}, token=token)
    assert status == 404
    assert answer["detail"] == "Task group 'nowhere' not found in DAG 'api_listing'"
    status, answer = api.call("GET", f"{run}/taskInstances/doubled/1/tries", token=token)
    assert status == 200, answer
    assert [(t["map_index"], t["try_number"]) for t in answer["task_instances"]] == [(1, 1)]


def test_several_runs_are_cleared_at_once(api: Api) -> None:
    """POST /dags/{dag_id}/clearDagRuns (Airflow 3.3): a dry run lists every run's instances,
    a clear clears them all and answers with the runs; Airflow's 400s and 422s."""
    token = api.token()
    for run_id in ("bulk_a", "bulk_b"):
        body = {"dag_run_id": run_id}
        assert api.call("POST", "/api/v2/dags/api_listing/dagRuns", body, token=token)[0] == 200
        assert _wait_run(api, token, "api_listing", run_id) == "success"
    path = "/api/v2/dags/api_listing/clearDagRuns"
    both = [{"dag_run_id": "bulk_a"}, {"dag_run_id": "bulk_b", "dag_id": "api_listing"}]
    status, answer = api.call("POST", path, {"dag_runs": both}, token=token)
    assert status == 200, answer
    assert answer["total_entries"] == 10
    assert {ti["dag_run_id"] for ti in answer["task_instances"]} == {"bulk_a", "bulk_b"}
    failed_only = {"dag_runs": both, "only_failed": True}
    status, answer = api.call("POST", path, failed_only, token=token)
    assert (status, answer["total_entries"]) == (200, 0)
    status, answer = api.call("POST", path, {"dag_runs": both, "dry_run": False}, token=token)
    assert status == 200, answer
    assert [run["dag_run_id"] for run in answer["dag_runs"]] == ["bulk_a", "bulk_b"]

    def rerun_of_b() -> bool:
        path_b = "/api/v2/dags/api_listing/dagRuns/bulk_b/taskInstances/outer.first"
        return api.call("GET", path_b, token=token)[1]["try_number"] == 2

    wait_until(rerun_of_b, 30, "the cleared run to run again")
    assert _wait_run(api, token, "api_listing", "bulk_b") == "success"
    any_dag = "/api/v2/dags/~/clearDagRuns"
    status, answer = api.call(
        "POST", any_dag, {"dag_runs": [{"dag_run_id": "bulk_a"}]}, token=token
    )
    assert status == 400
    assert "every entry must provide a concrete dag_id" in answer["detail"]
    other = {"dag_runs": [{"dag_run_id": "bulk_a", "dag_id": "elsewhere"}]}
    assert api.call("POST", path, other, token=token)[0] == 400
    status, answer = api.call("POST", path, {}, token=token)
    assert status == 422
    assert "Exactly one of dag_runs" in answer["detail"][0]["msg"]
    status, answer = api.call("POST", path, {"partition_key": "2026-01"}, token=token)
    assert (status, answer["total_entries"]) == (200, 0)
    # clearPartitions: Airlane's runs have no partition fields; a run chosen by id has its
    # instances counted (dry run) or cleared when asked
    partitions = "/api/v2/dags/api_listing/clearPartitions"
    body = {"run_id": "bulk_a", "clear_task_instances": True}
    status, answer = api.call("POST", partitions, body, token=token)
    assert (status, answer) == (
        200,
        {"dag_runs_cleared": 0, "task_instances_cleared": 5, "dry_run": True},
    )
    status, answer = api.call("POST", partitions, {"partition_key": "k"}, token=token)
    assert (status, answer["task_instances_cleared"]) == (200, 0)
    status, answer = api.call("POST", partitions, {}, token=token)
    assert status == 422
    marked = {"dag_runs": [{"dag_run_id": "bulk_a", "state": "failed"}]}
    status, answer = api.call("POST", path, marked, token=token)
    assert (status, answer["detail"][0]["loc"]) == (422, ["body", "dag_runs", 0, "state"]), answer


def test_runs_are_updated_and_deleted_in_bulk(api: Api) -> None:
    """PATCH /dags/{dag_id}/dagRuns (Airflow 3.3's bulk body): update a run's state and note,
    delete runs, each action's errors in Airflow's words."""
    token = api.token()
    body = {"dag_run_id": "bulk_c"}
    assert api.call("POST", "/api/v2/dags/api_listing/dagRuns", body, token=token)[0] == 200
    assert _wait_run(api, token, "api_listing", "bulk_c") == "success"
    path = "/api/v2/dags/api_listing/dagRuns"
    update = {"dag_run_id": "bulk_c", "state": "failed", "note": "by hand"}
    actions = {
        "actions": [
            {"action": "update", "entities": [update]},
            {"action": "create", "entities": [{"dag_run_id": "new"}]},
        ]
    }
    status, answer = api.call("PATCH", path, actions, token=token)
    assert status == 200, answer
    assert answer["update"] == {"success": ["api_listing.bulk_c"], "errors": []}
    assert answer["create"]["errors"][0]["status_code"] == 405

    def failed() -> bool:  # (the coordinator applies the mark; every task had succeeded)
        return api.call("GET", f"{path}/bulk_c", token=token)[1]["state"] == "failed"

    wait_until(failed, 30, "the run marked failed")
    status, run = api.call("GET", f"{path}/bulk_c", token=token)
    assert run["note"] == "by hand"
    masked = {**update, "state": "success", "note": None}
    mask = {"action": "update", "entities": [masked], "update_mask": ["note"]}
    assert api.call("PATCH", path, {"actions": [mask]}, token=token)[0] == 200
    status, run = api.call("GET", f"{path}/bulk_c", token=token)
    assert (run["state"], run["note"]) == ("failed", None)
    missing = {"action": "delete", "entities": ["bulk_c", "nowhere"]}
    status, answer = api.call("PATCH", path, {"actions": [missing]}, token=token)
    assert answer["delete"]["errors"][0]["status_code"] == 404
    assert api.call("GET", f"{path}/bulk_c", token=token)[0] == 200
    anywhere = {"action": "delete", "entities": ["bulk_c"]}
    status, answer = api.call(
        "PATCH", "/api/v2/dags/~/dagRuns", {"actions": [anywhere]}, token=token
    )
    assert answer["delete"]["errors"][0]["status_code"] == 400
    skip = {**missing, "action_on_non_existence": "skip"}
    status, answer = api.call("PATCH", path, {"actions": [skip]}, token=token)
    assert answer["delete"] == {"success": ["api_listing.bulk_c"], "errors": []}
    assert api.call("GET", f"{path}/bulk_c", token=token)[0] == 404


def test_task_instances_are_marked_in_bulk(api: Api) -> None:
    """PATCH .../taskInstances (Airflow 3.3's bulk body): an update marks as PATCH of one
    instance does (no map index: all of a mapped task's); deleting an instance is refused."""
    token = api.token()
    body = {"dag_run_id": "bulk_t"}
    assert api.call("POST", "/api/v2/dags/api_listing/dagRuns", body, token=token)[0] == 200
    assert _wait_run(api, token, "api_listing", "bulk_t") == "success"
    path = "/api/v2/dags/api_listing/dagRuns/bulk_t/taskInstances"
    update = {
        "action": "update",
        "entities": [
            {"task_id": "outer.first", "new_state": "failed"},
            {"task_id": "doubled", "new_state": "skipped"},
        ],
    }
    status, answer = api.call("PATCH", path, {"actions": [update]}, token=token)
    assert status == 200, answer
    assert answer["update"]["success"] == [
        "api_listing.bulk_t.outer.first[-1]",
        *(f"api_listing.bulk_t.doubled[{i}]" for i in range(3)),
    ]

    def marked() -> bool:
        tis = api.call("GET", path, token=token)[1]["task_instances"]
        states = {(ti["task_id"], ti["state"]) for ti in tis}
        return {("outer.first", "failed"), ("doubled", "skipped")} <= states and len(
            [s for s in states if s[0] == "doubled"]
        ) == 1

    wait_until(marked, 30, "the bulk marks to apply")
    again = {"action": "update", "entities": [{"task_id": "outer.first", "new_state": "failed"}]}
    status, answer = api.call("PATCH", path, {"actions": [again]}, token=token)
    assert answer["update"]["errors"][0]["status_code"] == 409
    absent = {"action": "update", "entities": [{"task_id": "nowhere", "new_state": "failed"}]}
    status, answer = api.call("PATCH", path, {"actions": [absent]}, token=token)
    assert answer["update"]["errors"][0]["status_code"] == 404
    delete = {"action": "delete", "entities": ["outer.first"]}
    status, answer = api.call("PATCH", path, {"actions": [delete]}, token=token)
    assert answer["delete"]["errors"][0]["status_code"] == 405
    status, answer = api.call("DELETE", f"{path}/outer.first", token=token)
    assert status == 405
    assert "clear it" in answer["detail"]
    noted = {"action": "update", "entities": [{"task_id": "outer.first", "note": "x"}]}
    assert api.call("PATCH", path, {"actions": [noted]}, token=token)[0] == 422


def test_an_instance_says_what_it_waits_for(api: Api) -> None:
    """GET .../dependencies: the dependencies an instance not queued yet fails (Airflow's
    names); a finished instance has none; Airflow's 404 for one that does not exist."""
    token = api.token()
    dag = "/api/v2/dags/api_listing"
    assert api.call("PATCH", dag, {"is_paused": True}, token=token)[0] == 200
    assert api.call("POST", f"{dag}/dagRuns", {"dag_run_id": "held"}, token=token)[0] == 200
    deps = f"{dag}/dagRuns/held/taskInstances/outer.first/dependencies"
    status, answer = api.call("GET", deps, token=token)
    assert status == 200, answer
    names = [d["name"] for d in answer["dependencies"]]
    assert names == ["Dag Not Paused", "Dagrun Running"], answer
    status, answer = api.call(
        "GET", f"{dag}/dagRuns/held/taskInstances/nowhere/dependencies", token=token
    )
    assert status == 404
    # a queued run marked failed ends without starting, as Airflow sets its state
    assert api.call("POST", f"{dag}/dagRuns", {"dag_run_id": "held_2"}, token=token)[0] == 200
    marked = api.call("PATCH", f"{dag}/dagRuns/held_2", {"state": "failed"}, token=token)
    assert marked[0] == 200, marked
    assert _wait_run(api, token, "api_listing", "held_2") == "failed"
    run = api.call("GET", f"{dag}/dagRuns/held_2", token=token)[1]
    assert run["start_date"] is None
    listed = api.call("GET", f"{dag}/dagRuns/held_2/taskInstances", token=token)[1]
    assert listed["total_entries"] == 0
    assert api.call("PATCH", dag, {"is_paused": False}, token=token)[0] == 200
    assert _wait_run(api, token, "api_listing", "held") == "success"
    assert api.call("GET", f"{dag}/dagRuns/held_2", token=token)[1]["state"] == "failed"
    assert api.call("GET", deps, token=token)[1] == {"dependencies": []}
    mapped = f"{dag}/dagRuns/held/taskInstances/doubled/1/dependencies"
    assert api.call("GET", mapped, token=token)[1] == {"dependencies": []}


def test_changes_made_through_the_api_are_in_the_event_log(api: Api) -> None:
    """GET /eventLogs: each change request, its user, what it named and its fields (a
    variable's value masked; reads and dry runs are not logged), and each task instance's
    start and end, as Airflow's execution API logs them."""
    token = api.token()
    body = {"dag_run_id": "logged", "conf": {"size": 1}}
    assert api.call("POST", "/api/v2/dags/api_listing/dagRuns", body, token=token)[0] == 200
    assert _wait_run(api, token, "api_listing", "logged") == "success"
    secret = {"key": "logged_var", "value": "s3cret"}
    assert api.call("POST", "/api/v2/variables", secret, token=token)[0] == 201
    clear = "/api/v2/dags/api_listing/dagRuns/logged/clear"
    assert api.call("POST", clear, {"dry_run": True}, token=token)[0] == 200
    logs = "/api/v2/eventLogs?run_id=logged"
    status, answer = api.call("GET", f"{logs}&event=trigger_dag_run", token=token)
    assert status == 200, answer
    (trigger,) = answer["event_logs"]
    assert (trigger["event"], trigger["dag_id"], trigger["owner"]) == (
        "trigger_dag_run",
        "api_listing",
        "alice",
    )
    # (as Airflow's: the body's fields, the path's and query's but their ids)
    extra = orjson.loads(trigger["extra"])
    assert extra == {"dag_run_id": "logged", "conf": {"size": 1}, "method": "POST"}
    assert trigger["dag_display_name"] == "Listing DAG"
    one = f"/api/v2/eventLogs/{trigger['event_log_id']}"
    assert api.call("GET", one, token=token)[1] == trigger
    # the task instances' starts and ends: the task's owner, its try, where it ran (a start
    # the coordinator learns of together with its end shows only the end: the live stream's)
    status, answer = api.call("GET", f"{logs}&task_id=outer.inner.deep", token=token)
    events = answer["event_logs"]
    assert [e["event"] for e in events] in (["running", "success"], ["success"]), answer
    ended = events[-1]
    assert (ended["owner"], ended["try_number"], ended["map_index"]) == ("listing_owner", 1, -1)
    for started in events[:-1]:
        assert orjson.loads(started["extra"])["host_name"]
    assert api.call("GET", f"/api/v2/eventLogs/{ended['event_log_id']}", token=token)[1] == ended
    query = "/api/v2/eventLogs?event=post_variable&order_by=-when&limit=1"
    (variable,) = api.call("GET", query, token=token)[1]["event_logs"]
    assert orjson.loads(variable["extra"])["value"] == "***"
    assert "s3cret" not in variable["extra"]
    status, answer = api.call("GET", "/api/v2/eventLogs?event_pattern=clear", token=token)
    assert all(e["run_id"] != "logged" for e in answer["event_logs"])
    assert api.call("GET", "/api/v2/eventLogs/1", token=token)[0] == 404
    only_tasks = "excluded_events=trigger_dag_run&excluded_events=running&excluded_events=success"
    excluded = api.call("GET", f"{logs}&{only_tasks}", token=token)[1]
    assert excluded["total_entries"] == 0


def test_a_run_marked_failed_right_after_its_trigger_ends_failed(api: Api) -> None:
    """Whether the coordinator sees the mark before or after the run starts (or even ends),
    the run ends failed: the coordinator works the marks out from its own view."""
    token = api.token()
    runs = "/api/v2/dags/api_listing/dagRuns"
    for run_id in ("quick_fail_1", "quick_fail_2", "quick_fail_3"):
        assert api.call("POST", runs, {"dag_run_id": run_id}, token=token)[0] == 200
        marked = api.call("PATCH", f"{runs}/{run_id}", {"state": "failed"}, token=token)
        assert marked[0] == 200, marked

        def failed(run_id: str = run_id) -> bool:
            return api.call("GET", f"{runs}/{run_id}", token=token)[1]["state"] == "failed"

        wait_until(failed, 30, f"{run_id} to end failed")


def test_a_team_name_is_refused_as_airflow_refuses_it_without_multi_team(api: Api) -> None:
    token = api.token()
    message = "team_name cannot be set when multi_team mode is disabled"
    for path, body in (
        ("/api/v2/pools", {"name": "team_pool", "slots": 1}),
        ("/api/v2/variables", {"key": "team_var", "value": "v"}),
        ("/api/v2/connections", {"connection_id": "team_conn", "conn_type": "http"}),
    ):
        status, answer = api.call("POST", path, {**body, "team_name": "blue"}, token=token)
        assert (status, answer["detail"][0]["loc"]) == (422, ["body", "team_name"]), answer
        assert answer["detail"][0]["msg"].startswith(message)
        status, answer = api.call("POST", path, {**body, "team_name": None}, token=token)
        assert status == 201, answer
        made = f"{path}/{next(iter(body.values()))}"
        assert api.call("DELETE", made, token=token)[0] == 204  # (the pool list is checked)
    bulk = {
        "actions": [
            {"action": "create", "entities": [{"key": "v2", "value": "x", "team_name": "blue"}]}
        ]
    }
    status, answer = api.call("PATCH", "/api/v2/variables", bulk, token=token)
    assert status == 422, answer


def test_the_dag_listing_takes_airflows_filters_and_orders(api: Api) -> None:
    token = api.token()
    body = {"dag_run_id": "latest_of_listing"}
    assert api.call("POST", "/api/v2/dags/api_listing/dagRuns", body, token=token)[0] == 200
    assert _wait_run(api, token, "api_listing", "latest_of_listing") == "success"

    def ids(query: str) -> list[str]:
        status, answer = api.call("GET", f"/api/v2/dags?limit=100&{query}", token=token)
        assert status == 200, (query, answer)
        return [dag["dag_id"] for dag in answer["dags"]]

    every = ids("")
    assert "api_listing" in every
    assert ids("owners=LISTING_own") == ["api_listing"]
    assert ids("dag_display_name_pattern=listing%20dag") == ["api_listing"]
    assert ids("dag_display_name_prefix_pattern=Listing") == ["api_listing"]
    assert ids("dag_id_prefix_pattern=api_list") == ["api_listing"]
    assert ids("timetable_type=CronTriggerTimetable") == ["run_types_scheduled_only"]
    assert "api_listing" in ids("timetable_type=NullTimetable")
    assert (ids("is_favorite=true"), ids("is_favorite=false")) == ([], every)
    # favourites are the asking user's
    dag = "/api/v2/dags/api_listing"
    assert api.call("POST", f"{dag}/favorite", token=token)[0] == 204
    assert ids("is_favorite=true") == ["api_listing"]
    assert "api_listing" not in ids("is_favorite=false")
    assert api.call("GET", f"{dag}/details", token=token)[1]["is_favorite"] is True
    assert api.call("POST", f"{dag}/unfavorite", token=token)[0] == 204
    status, answer = api.call("POST", f"{dag}/unfavorite", token=token)
    assert (status, answer["detail"]) == (409, "Dag is not marked as favorite")
    status, answer = api.call("POST", "/api/v2/dags/nowhere/favorite", token=token)
    assert (status, answer["detail"]) == (404, "Dag with id 'nowhere' not found")
    # a parse asked for by the DAG's file token (the processor's side: test_dag_processor.py)
    file_token = api.call("GET", dag, token=token)[1]["file_token"]
    assert api.call("PUT", f"/api/v2/parseDagFile/{file_token}", token=token)[0] == 201
    assert api.call("PUT", "/api/v2/parseDagFile/unknown", token=token)[0] == 404
    assert (ids("bundle_name=dags-folder"), ids("bundle_name=other")) == (every, [])
    assert ids("bundle_version=1") == []
    assert ids("has_asset_schedule=true") == ids("asset_dependency=orders") == []
    assert ids("has_asset_schedule=false") == every
    assert ids("has_import_errors=true") == []
    # the latest run's state and dates
    assert "api_listing" in ids("last_dag_run_state=success&dag_run_state=success")
    assert "run_types_scheduled_only" not in ids("dag_run_state=success")  # (no run)
    assert "api_listing" in ids("dag_run_start_date_gte=2000-01-01T00:00:00Z")
    assert ids("dag_run_end_date_lt=2000-01-01T00:00:00Z") == []
    assert ids("order_by=-dag_id") == sorted(every, reverse=True)
    by_display = ids("order_by=-dag_display_name&order_by=dag_id")
    assert (
        by_display == sorted(every, key=lambda d: "Listing DAG" if d == "api_listing" else d)[::-1]
    )
    for query, expected in (("order_by=owners", 400), ("last_dag_run_state=done", 422)):
        assert api.call("GET", f"/api/v2/dags?{query}", token=token)[0] == expected, query
    # PATCH /dags: every DAG the filters match, none without a DAG id pattern
    pause = {"is_paused": True}
    status, answer = api.call("PATCH", "/api/v2/dags?owners=listing", pause, token=token)
    assert (status, answer["total_entries"]) == (200, 0)
    status, answer = api.call(
        "PATCH", "/api/v2/dags?dag_id_prefix_pattern=api_list", pause, token=token
    )
    assert status == 200, answer
    assert [(d["dag_id"], d["is_paused"]) for d in answer["dags"]] == [("api_listing", True)]
    unpause = {"is_paused": False}
    status, answer = api.call(
        "PATCH", "/api/v2/dags?dag_id_pattern=api_listing", unpause, token=token
    )
    assert [(d["dag_id"], d["is_paused"]) for d in answer["dags"]] == [("api_listing", False)]
    status, _ = api.call(
        "PATCH", "/api/v2/dags?dag_id_pattern=~&update_mask=tags", pause, token=token
    )
    assert status == 400


def test_simple_lists_take_airflows_searches_and_orders(api: Api) -> None:
    token = api.token()

    def got(path: str) -> Any:
        status, answer = api.call("GET", path, token=token)
        assert status == 200, (path, answer)
        return answer

    for name in ("search_pool_a", "search_pool_b"):
        body = {"name": name, "slots": 1}
        assert api.call("POST", "/api/v2/pools", body, token=token)[0] == 201
    for key in ("search_var_1", "search_var_2"):
        body = {"key": key, "value": key[-1]}
        assert api.call("POST", "/api/v2/variables", body, token=token)[0] == 201
    try:
        pools = got("/api/v2/pools?pool_name_pattern=SEARCH_POOL&order_by=-name")["pools"]
        assert [p["name"] for p in pools] == ["search_pool_b", "search_pool_a"]
        pools = got("/api/v2/pools?pool_name_prefix_pattern=search_pool_a")["pools"]
        assert [p["name"] for p in pools] == ["search_pool_a"]
        found = got("/api/v2/variables?variable_key_pattern=search_var&order_by=-_val")
        assert [v["key"] for v in found["variables"]] == ["search_var_2", "search_var_1"]
        found = got("/api/v2/variables?variable_key_prefix_pattern=search_var_1")
        assert [v["key"] for v in found["variables"]] == ["search_var_1"]
    finally:
        for name in ("search_pool_a", "search_pool_b"):
            api.call("DELETE", f"/api/v2/pools/{name}", token=token)
        for key in ("search_var_1", "search_var_2"):
            api.call("DELETE", f"/api/v2/variables/{key}", token=token)
    assert got("/api/v2/importErrors?filename_pattern=no-such-file")["import_errors"] == []
    assert got("/api/v2/importErrors?order_by=-timestamp")["total_entries"] >= 0
    assert got("/api/v2/dagTags?tag_name_prefix_pattern=ap")["tags"] == ["api"]
    assert got("/api/v2/backfills?order_by=-id")["total_entries"] >= 0
    body = {"connection_id": "search_conn", "conn_type": "http"}
    assert api.call("POST", "/api/v2/connections", body, token=token)[0] == 201
    conns = got("/api/v2/connections?connection_id_prefix_pattern=search_co")["connections"]
    assert [c["connection_id"] for c in conns] == ["search_conn"]
    assert api.call("DELETE", "/api/v2/connections/search_conn", token=token)[0] == 204
    for path in (
        "/api/v2/pools?order_by=slots",
        "/api/v2/variables?order_by=value",
        "/api/v2/importErrors?order_by=dag_id",
        "/api/v2/backfills?order_by=dag_id",
        "/api/v2/dags/api_listing/tasks?order_by=owner",
        "/api/v2/jobs?order_by=id&order_by=nope",
    ):
        assert api.call("GET", path, token=token)[0] == 400, path


def test_a_dag_source_is_its_latest_version_s_in_json_or_text(api: Api) -> None:
    token = api.token()
    path = "/api/v2/dagSources/api_listing"
    status, source = api.call("GET", path, token=token)
    assert status == 200, source
    assert 'with DAG(\n    "api_listing"' in source["content"]
    (version,) = api.call("GET", "/api/v2/dags/api_listing/dagVersions", token=token)[1][
        "dag_versions"
    ]
    assert source["version_number"] == version["version_number"]
    number = version["version_number"]
    assert api.call("GET", f"{path}?version_number={number}", token=token)[1] == source
    status, answer = api.call("GET", f"{path}?version_number={number + 1}", token=token)
    assert status == 404
    assert "was not found" in answer["detail"]
    request = urllib.request.Request(
        api.url + path, headers={"Authorization": f"Bearer {token}", "Accept": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.read().decode() == source["content"]


def test_pause_and_unpause_through_patch(api: Api) -> None:
    token = api.token()
    status, dag = api.call("PATCH", "/api/v2/dags/api_flaky", {"is_paused": True}, token=token)
    assert status == 200
    assert dag["is_paused"] is True
    status, dag = api.call("PATCH", "/api/v2/dags/api_flaky", {"is_paused": False}, token=token)
    assert status == 200
    assert dag["is_paused"] is False


def test_health_reports_each_component(api: Api) -> None:
    status, body = api.call("GET", "/api/v2/monitor/health")
    assert status == 200
    assert body["metadatabase"]["status"] == "healthy"
    wait_until(
        lambda: api.call("GET", "/api/v2/monitor/health")[1]["scheduler"]["status"] == "healthy",
        10,
        "the coordinator's heartbeat",
    )
    assert body["workers"]["alive"] == 2


async def _read_events(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    stop: Any,
    started: asyncio.Event | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """(id, data) of each event until ``stop(events)`` says enough."""
    events: list[tuple[str, dict[str, Any]]] = []
    async with session.get(url, headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith(": connected") and started is not None:
                started.set()
            if line == "":
                if "data" in fields:
                    events.append((fields.get("id", ""), orjson.loads(fields["data"])))
                    if stop(events):
                        return events
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
    return events


def test_a_subscriber_that_reconnects_gets_every_event_once_in_order(api: Api) -> None:
    token = api.token()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{api.url}/api/v2/events?dag_id=api_chain"
    run_id = f"sse_{time.time_ns()}"

    async def scenario() -> tuple[list[Any], list[Any]]:
        async with aiohttp.ClientSession() as session:
            started = asyncio.Event()
            first_task = asyncio.create_task(
                _read_events(session, url, headers, lambda evs: len(evs) >= 6, started)
            )
            await asyncio.wait_for(started.wait(), 10)
            status, _ = await asyncio.to_thread(
                api.call,
                "POST",
                "/api/v2/dags/api_chain/dagRuns",
                {"dag_run_id": run_id},
                token,
            )
            assert status == 200
            first = await asyncio.wait_for(first_task, 30)
            await asyncio.sleep(0.4)  # the run goes on while nobody listens
            resume = {**headers, "Last-Event-ID": first[-1][0]}

            def finished(evs: list[Any]) -> bool:
                last = evs[-1][1]
                return last["kind"] == "run" and last["state"] in ("success", "failed")

            second = await asyncio.wait_for(_read_events(session, url, resume, finished), 60)
            return first, second

    first, second = asyncio.run(scenario())
    received = [(i, e) for i, e in first + second if e.get("run_id") == run_id]
    client = api.cluster.redis()
    stored = [
        entry_id
        for entry_id, fields in client.xrange(api.cluster.keys.events)
        if fields.get("run") == f"api_chain|{run_id}"
    ]
    client.close()
    assert [i for i, _ in received] == stored  # each once, in the stream's order
    assert len({i for i, _ in first} & {i for i, _ in second}) == 0
    kinds = [(e["kind"], e.get("task_id"), e.get("state")) for _, e in received]
    assert kinds[0] == ("run", None, "queued")
    assert kinds[-1] == ("run", None, "success")
    assert ("ti", "step_11", "success") in kinds
    running = [e for _, e in received if e["kind"] == "ti" and e.get("state") == "running"]
    assert all(e["worker"] and e["try_number"] == 1 for e in running)


def _wait_run(api: Api, token: str, dag_id: str, run_id: str) -> str:
    def ended() -> str | None:
        state = api.call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", token=token)[1]["state"]
        return state if state in ("success", "failed") else None

    return str(wait_until(ended, 60, f"run {run_id} to end"))


def _log_text(api: Api, token: str, dag_id: str, run_id: str, task_id: str) -> str:
    path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1"
    status, body = api.call("GET", path, token=token)
    assert status == 200
    return "\n".join(m["event"] for m in body["content"])


def test_variables_set_through_the_api_reach_tasks(api: Api) -> None:
    token = api.token()
    status, created = api.call(
        "POST", "/api/v2/variables", {"key": "greeting", "value": "hello there"}, token=token
    )
    assert status == 201
    assert created["value"] == "hello there"
    status, _ = api.call(
        "POST", "/api/v2/variables", {"key": "greeting", "value": "x"}, token=token
    )
    assert status == 409
    api.cluster.wait_for_dags("api_variables")
    status, _run = api.call(
        "POST", "/api/v2/dags/api_variables/dagRuns", {"dag_run_id": "vars"}, token=token
    )
    assert status == 200
    assert _wait_run(api, token, "api_variables", "vars") == "success"
    assert "greeting is hello there" in _log_text(api, token, "api_variables", "vars", "python")
    assert "templated hello there" in _log_text(api, token, "api_variables", "vars", "bash")
    # The worker stored what the template rendered to (Airflow's rendered template fields).
    status, ti = api.call(
        "GET", "/api/v2/dags/api_variables/dagRuns/vars/taskInstances/bash", token=token
    )
    assert ti["rendered_fields"]["bash_command"] == "echo templated hello there"
    status, patched = api.call(
        "PATCH", "/api/v2/variables/greeting", {"key": "greeting", "value": "bye"}, token=token
    )
    assert (status, patched["value"]) == (200, "bye")
    assert api.call("DELETE", "/api/v2/variables/greeting", token=token)[0] == 204
    assert api.call("GET", "/api/v2/variables/greeting", token=token)[0] == 404


def test_pools_are_created_resized_and_deleted(api: Api) -> None:
    token = api.token()
    status, pool = api.call(
        "POST", "/api/v2/pools", {"name": "tiny", "slots": 1, "description": "one"}, token=token
    )
    assert status == 201
    assert (pool["slots"], pool["open_slots"]) == (1, 1)
    status, body = api.call("POST", "/api/v2/pools", {"name": "bad", "slots": "x"}, token=token)
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "slots"]
    status, pool = api.call("PATCH", "/api/v2/pools/tiny", {"slots": 3}, token=token)
    assert (status, pool["slots"], pool["description"]) == (200, 3, "one")
    names = [p["name"] for p in api.call("GET", "/api/v2/pools", token=token)[1]["pools"]]
    assert names == ["default_pool", "tiny"]
    assert api.call("DELETE", "/api/v2/pools/default_pool", token=token)[0] == 400
    assert api.call("DELETE", "/api/v2/pools/tiny", token=token)[0] == 204
    assert api.call("GET", "/api/v2/pools/tiny", token=token)[0] == 404


def test_metrics_for_prometheus(api: Api) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    token = api.token()
    request = urllib.request.Request(
        api.url + "/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("airlane_task_instances_finished_total", (("state", "success"),))] >= 3
    assert samples[("airlane_task_instances_finished_total", (("state", "failed"),))] >= 1
    assert samples[("airlane_dag_runs_finished_total", (("state", "success"),))] >= 2
    assert samples[("airlane_hop_latency_seconds_count", ())] >= 2
    assert samples[("airlane_worker_slots_total", ())] == 32
    assert samples[("airlane_workers", ())] == 2
    assert ("airlane_queue_depth", (("queue", "default"),)) in samples
    assert ("airlane_queue_oldest_message_age_seconds", (("queue", "default"),)) in samples
    assert ("airlane_dag_runs", (("state", "running"),)) in samples
    assert ("airlane_coordinator_event_lag_seconds", ()) in samples
    status, _ = api.call("GET", "/metrics")
    assert status == 401


def test_a_resume_point_older_than_the_stream_is_reported_as_a_gap(api: Api) -> None:
    token = api.token()
    client = api.cluster.redis()
    oldest = client.xrange(api.cluster.keys.events, count=1)[0][0]
    client.xtrim(api.cluster.keys.events, maxlen=1, approximate=False)  # as the cap does
    client.close()

    async def first_event() -> list[Any]:
        async with aiohttp.ClientSession() as session:
            return await asyncio.wait_for(
                _read_events(
                    session,
                    f"{api.url}/api/v2/events",
                    {"Authorization": f"Bearer {token}", "Last-Event-ID": oldest},
                    lambda evs: len(evs) >= 1,
                ),
                30,
            )

    (entry_id, data), *_ = asyncio.run(first_event())
    assert entry_id == ""
    assert data["kind"] == "gap"
    assert data["since"] == oldest
    status, body = api.call("GET", "/api/v2/events?last_event_id=yesterday", token=token)
    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "last_event_id"]


def test_workers_and_queues_are_listed(api: Api) -> None:
    token = api.token()
    status, body = api.call("GET", "/api/v2/workers", token=token)
    assert status == 200
    assert body["total_entries"] == 2
    assert all(
        w["alive"] and w["slots"] == 16 and w["queues"] == ["default"] for w in body["workers"]
    )
    status, body = api.call("GET", "/api/v2/queues", token=token)
    assert status == 200
    assert [q["name"] for q in body["queues"]] == ["default"]
    assert body["queues"][0]["depth"] >= 0


def test_batch_list_dry_run_mark_and_dag_structure(api: Api) -> None:
    token = api.token()
    for run_id in ("batch_a", "batch_b"):
        status, _ = api.call(
            "POST", "/api/v2/dags/api_chain/dagRuns", {"dag_run_id": run_id}, token=token
        )
        assert status == 200
        assert _wait_run(api, token, "api_chain", run_id) == "success"
    status, body = api.call(
        "POST",
        "/api/v2/dags/~/dagRuns/~/taskInstances/list",
        {
            "dag_ids": ["api_chain"],
            "dag_run_ids": ["batch_a", "batch_b"],
            "task_ids": ["step_00", "step_11"],
            "page_limit": 3,
        },
        token=token,
    )
    assert status == 200
    assert body["total_entries"] == 4
    assert len(body["task_instances"]) == 3
    assert {t["state"] for t in body["task_instances"]} == {"success"}
    status, body = api.call(
        "POST", "/api/v2/dags/api_chain/dagRuns/~/taskInstances/list", {"page_limit": -1}, token
    )
    assert (status, body["detail"][0]["loc"]) == (422, ["body", "page_limit"])

    path = "/api/v2/dags/api_chain/dagRuns/batch_a/taskInstances/step_10"
    body_in = {"new_state": "failed", "include_downstream": True}
    status, dry = api.call("PATCH", path + "/dry_run", body_in, token)
    assert status == 200
    assert sorted(t["task_id"] for t in dry["task_instances"]) == ["step_10", "step_11"]
    status, ti = api.call("GET", path, token=token)
    assert ti["state"] == "success"  # a dry run changes nothing

    status, details = api.call("GET", "/api/v2/dags/api_chain/details", token=token)
    assert status == 200
    assert details["task_groups"] == []
    assert details["next_dagrun_run_after"] is None  # no schedule, no next run


def test_a_mark_answers_the_task_with_its_new_state_as_airflow_does(api: Api) -> None:
    """Airflow 3.1.8's patch_task_instance: the path's task instances, in their new state (not
    the relatives marked with them); 409 when nothing would change; notes are refused."""
    token = api.token()
    status, _ = api.call("POST", "/api/v2/dags/api_chain/dagRuns", {"dag_run_id": "mk"}, token)
    assert status == 200
    assert _wait_run(api, token, "api_chain", "mk") == "success"
    path = "/api/v2/dags/api_chain/dagRuns/mk/taskInstances/step_10"
    body = {"new_state": "failed", "include_downstream": True}
    status, marked = api.call("PATCH", path, body, token)
    assert status == 200
    assert [(t["task_id"], t["state"]) for t in marked["task_instances"]] == [("step_10", "failed")]
    wait_until(lambda: api.call("GET", path, token=token)[1]["state"] == "failed", 30, "mark")
    status, answer = api.call("PATCH", path, body, token)
    assert (status, answer["detail"]) == (409, "Task id step_10 is already in failed state")
    status, answer = api.call("PATCH", path, {"new_state": "success", "note": "n"}, token)
    assert (status, answer["detail"][0]["loc"]) == (422, ["body", "note"])
    assert api.call("GET", path, token=token)[1]["state"] == "failed"  # refused: no change


def test_following_one_task_streams_its_log_lines_named_by_try(api: Api) -> None:
    token = api.token()
    status, _ = api.call(
        "POST", "/api/v2/dags/api_flaky/dagRuns", {"dag_run_id": "follow"}, token=token
    )
    assert status == 200
    url = f"{api.url}/api/v2/events?dag_id=api_flaky&run_id=follow&task_id=extract&logs=true"

    async def follow() -> list[tuple[str, dict[str, Any]]]:
        async with aiohttp.ClientSession() as session:
            return await asyncio.wait_for(
                _read_events(
                    session,
                    url,
                    {"Authorization": f"Bearer {token}"},
                    lambda evs: any("extracted 42 rows" in e.get("line", "") for _, e in evs),
                ),
                30,
            )

    events = [data for _, data in asyncio.run(follow())]
    assert {e.get("task_id") for e in events if e["kind"] == "ti"} == {"extract"}
    line = next(e for e in events if e["kind"] == "log" and "extracted" in e["line"])
    assert (line["task_id"], line["try_number"], line["map_index"]) == ("extract", 1, -1)
    status, body = api.call("GET", "/api/v2/events?task_id=extract", token=token)
    assert (status, body["detail"][0]["loc"]) == (422, ["query", "task_id"])


def test_clear_options_choose_runs_by_date_and_refuse_what_airlane_cannot_do(api: Api) -> None:
    """clearTaskInstances' start_date/end_date and include_past/include_future choose runs by
    logical date, as Airflow's; a run clear's note is the run's; what Airlane cannot do is a
    422 naming the field (api/clear_options.py has the rest)."""
    token = api.token()
    for day in (1, 2, 3):
        body = {"dag_run_id": f"win_{day}", "logical_date": f"2026-01-0{day}T00:00:00Z"}
        assert api.call("POST", "/api/v2/dags/api_chain/dagRuns", body, token=token)[0] == 200
        assert _wait_run(api, token, "api_chain", f"win_{day}") == "success"
    # the run listing's filters (Airflow's query parameters)
    runs = "/api/v2/dags/api_chain/dagRuns?logical_date_gte=2026-01-02T00:00:00Z"
    status, listed = api.call("GET", f"{runs}&logical_date_lt=2026-01-03T00:00:00Z", token=token)
    assert [r["dag_run_id"] for r in listed["dag_runs"]] == ["win_2"]
    status, listed = api.call("GET", f"{runs}&run_type=manual&order_by=logical_date", token=token)
    assert [r["dag_run_id"] for r in listed["dag_runs"]][:2] == ["win_2", "win_3"]
    status, listed = api.call("GET", f"{runs}&run_type=operator_triggered", token=token)
    assert (status, listed["total_entries"]) == (200, 0)
    status, listed = api.call("GET", f"{runs[:-1]}x", token=token)
    assert (status, listed["detail"][0]["loc"]) == (422, ["query", "logical_date_gte"])
    status, listed = api.call("GET", f"{runs}&run_type=sometimes", token=token)
    assert (status, listed["detail"][0]["loc"]) == (422, ["query", "run_type"])
    path = "/api/v2/dags/api_chain/clearTaskInstances"

    def cleared_runs(**body: Any) -> set[str]:
        body = {"only_failed": False, "task_ids": ["step_00"], **body}
        status, answer = api.call("POST", path, body, token=token)
        assert status == 200, answer
        return {ti["dag_run_id"] for ti in answer["task_instances"]}

    window = {"start_date": "2026-01-02T00:00:00Z", "end_date": "2026-01-03T00:00:00Z"}
    assert cleared_runs(**window) == {"win_2", "win_3"}
    assert cleared_runs(dag_run_id="win_2", include_past=True) == {"win_1", "win_2"}
    later = cleared_runs(dag_run_id="win_2", include_future=True)
    assert {"win_2", "win_3"} <= later
    assert "win_1" not in later
    assert cleared_runs(dag_run_id="win_2") == {"win_2"}
    for body, field in (
        ({"dag_run_id": "win_2", "start_date": "2026-01-02T00:00:00Z"}, "start_date"),
        ({"note": "why"}, "note"),
        ({"dag_run_id": "win_1", "dry_run": False, "reset_dag_runs": False}, "reset_dag_runs"),
    ):
        status, answer = api.call("POST", path, {"only_failed": False, **body}, token=token)
        assert (status, answer["detail"][0]["loc"]) == (422, ["body", field]), answer
    run_clear = "/api/v2/dags/api_chain/dagRuns/win_1/clear"
    status, answer = api.call("POST", run_clear, {"only_new": True}, token=token)
    assert (status, answer["total_entries"]) == (200, 0)  # the run has the latest version
    status, answer = api.call(
        "POST", run_clear, {"only_new": True, "only_failed": True}, token=token
    )
    assert (status, answer["detail"][0]["loc"]) == (422, ["body", "only_new"])
    status, run = api.call("POST", run_clear, {"dry_run": False, "note": "again"}, token=token)
    assert (status, run["note"]) == (200, "again")

    def rerun_ended() -> bool:  # (the clear is applied by the coordinator after the answer)
        path = "/api/v2/dags/api_chain/dagRuns/win_1/taskInstances/step_00"
        ti = api.call("GET", path, token=token)[1]
        return bool(ti["try_number"] == 2 and ti["state"] == "success")

    wait_until(rerun_ended, 60, "win_1's rerun")
    assert _wait_run(api, token, "api_chain", "win_1") == "success"
    # a mark with include_past takes the same instance of the earlier runs (by logical date)
    patch = "/api/v2/dags/api_chain/dagRuns/win_2/taskInstances/step_01"
    body = {"new_state": "failed", "include_past": True}
    status, answer = api.call("PATCH", f"{patch}/dry_run", body, token=token)
    assert status == 200, answer
    assert {ti["dag_run_id"] for ti in answer["task_instances"]} == {"win_1", "win_2"}
    assert api.call("PATCH", patch, body, token=token)[0] == 200

    def step_01_state(run_id: str) -> str:
        path = f"/api/v2/dags/api_chain/dagRuns/{run_id}/taskInstances/step_01"
        return str(api.call("GET", path, token=token)[1]["state"])

    wait_until(lambda: step_01_state("win_1") == "failed", 30, "win_1's step_01 marked")
    assert step_01_state("win_3") == "success"


def test_the_batch_listing_filters_by_range_pool_and_orders(api: Api) -> None:
    """TaskInstancesBatchBody's ranges, lists and order_by act (api/ti_filters.py)."""
    token = api.token()
    body = {"dag_run_id": "filtered"}
    assert api.call("POST", "/api/v2/dags/api_chain/dagRuns", body, token=token)[0] == 200
    assert _wait_run(api, token, "api_chain", "filtered") == "success"
    path = "/api/v2/dags/~/dagRuns/~/taskInstances/list"
    mine = {"dag_ids": ["api_chain"], "dag_run_ids": ["filtered"]}

    def listed(**extra: Any) -> list[dict[str, Any]]:
        status, answer = api.call("POST", path, {**mine, **extra}, token=token)
        assert status == 200, answer
        assert answer["total_entries"] == len(answer["task_instances"])
        return list(answer["task_instances"])

    every = listed()
    newest_first = listed(order_by="-start_date")
    starts = [ti["start_date"] for ti in newest_first]
    assert starts == sorted(starts, reverse=True)
    assert len(newest_first) == len(every) > 1
    middle = sorted(starts)[len(starts) // 2]
    later = listed(start_date_gte=middle)
    assert 0 < len(later) < len(every)
    assert all(ti["start_date"] >= middle for ti in later)
    assert len(listed(pool=["default_pool"], duration_gte=0)) == len(every)
    assert listed(executor=["celery"]) == []
    status, answer = api.call("POST", path, {**mine, "order_by": "-pool"}, token=token)
    assert status == 400  # (Airflow's SortParam)
    assert answer["detail"].startswith("Ordering with 'pool' is disallowed")
    assert all(ti["dag_version"]["version_number"] >= 1 for ti in every)
    one_dag = "/api/v2/dags/api_chain/dagRuns/~/taskInstances/list"
    status, answer = api.call("POST", one_dag, {"dag_ids": ["api_flaky"]}, token=token)
    assert (status, answer["detail"][0]["loc"]) == (422, ["body", "dag_ids"])


def test_the_task_instance_listing_filters_orders_and_pages_by_cursor(api: Api) -> None:
    """GET .../taskInstances takes Airflow 3.3's filters, order_by and cursor
    (api/ti_filters.py), on a run's and across DAGs and runs."""
    token = api.token()
    body = {"dag_run_id": "listed"}
    assert api.call("POST", "/api/v2/dags/api_listing/dagRuns", body, token=token)[0] == 200
    assert _wait_run(api, token, "api_listing", "listed") == "success"
    path = "/api/v2/dags/api_listing/dagRuns/listed/taskInstances"

    def got(query: str, where: str = path) -> dict[str, Any]:
        status, answer = api.call("GET", f"{where}?{query}", token=token)
        assert status == 200, (query, answer)
        return dict(answer)

    def ids(query: str, where: str = path) -> list[tuple[str, int]]:
        return [(ti["task_id"], ti["map_index"]) for ti in got(query, where)["task_instances"]]

    deep, first = ("outer.inner.deep", -1), ("outer.first", -1)
    mapped = [("doubled", index) for index in range(3)]
    assert ids("") == [*mapped, first, deep]
    (version,) = got("", "/api/v2/dags/api_listing/dagVersions")["dag_versions"]
    assert {ti["dag_version"]["id"] for ti in got("")["task_instances"]} == {version["id"]}
    # a task group, a nested one; Airflow's 404 for one the DAG has not
    assert ids("task_group_id=outer") == [first, deep]
    assert ids("task_group_id=outer.inner") == [deep]
    status, answer = api.call("GET", f"{path}?task_group_id=nope", token=token)
    assert (status, answer["detail"]["message"]) == (404, "Task group nope not found")
    # lists, searches (SQL ILIKE with | for or; prefixes case-sensitive)
    assert ids("operator=EmptyOperator") == [first]
    assert ids("map_index=0&map_index=2") == [mapped[0], mapped[2]]
    assert ids("try_number=7") == []
    assert len(ids(f"version_number={version['version_number']}")) == 5
    assert ids(f"version_number={version['version_number'] + 1}") == []
    assert ids("task_display_name_pattern=DEEP|fir_t") == [first, deep]
    assert ids("task_display_name_prefix_pattern=outer.inner.") == [deep]
    assert ids("task_display_name_prefix_pattern=OUTER") == []
    assert ids("rendered_map_index_pattern=~") == []  # (no instance renders a map index)
    assert ids("updated_at_lt=2000-01-01T00:00:00Z") == []
    assert ids("updated_at_gte=2000-01-01T00:00:00Z&duration_gte=0") == [*mapped, first, deep]
    # (the EmptyOperator started and ended as it was finished, as Airflow's scheduler does)
    assert ids("duration_lte=0") == [first]
    # order_by: several fields, each either way
    assert ids("order_by=-map_index&order_by=-operator") == [*mapped[::-1], deep, first]
    # the cursor: pages forward to the end, then back; the same order as offsets give
    order = "order_by=-map_index&order_by=-operator"
    pages, cursor, answer = [], "", {}
    while cursor is not None:
        answer = got(f"{order}&limit=2&cursor={cursor}")
        assert (answer["total_entries"], answer["total_entries_limit"]) == (5, 50_000)
        assert (answer["previous_cursor"] is None) == (not pages)
        pages.append([(ti["task_id"], ti["map_index"]) for ti in answer["task_instances"]])
        cursor = answer["next_cursor"]
    assert pages == [[mapped[2], mapped[1]], [mapped[0], deep], [first]]
    assert ids(f"{order}&limit=2&cursor={answer['previous_cursor']}") == pages[1]
    # across DAGs and runs, with the run and DAG searches
    across = "/api/v2/dags/~/dagRuns/~/taskInstances"
    assert ids("dag_id_prefix_pattern=api_list&run_id_pattern=LISTED&limit=100", across) == ids("")
    # refusals, each Airflow's
    for query, expected in (
        ("cursor=not-a-token", 400),
        ("order_by=pool", 400),
        ("map_index=first", 422),
        ("duration_gt=long", 422),
    ):
        assert api.call("GET", f"{path}?{query}", token=token)[0] == expected, query
    status, _ = api.call("GET", "/api/v2/dags/~/dagRuns/listed/taskInstances", token=token)
    assert status == 400  # (dag_id is required when dag_run_id is specified)
    # a mapped task's instances (listMapped), and one try of an instance
    mapped_path = f"{path}/doubled/listMapped"
    assert ids("", mapped_path) == mapped
    assert ids("order_by=-map_index&limit=2", mapped_path) == mapped[::-1][:2]
    assert got("state=failed", mapped_path)["total_entries"] == 0
    for task_id, message in (("outer.first", "is not mapped"), ("nope", "not found")):
        status, answer = api.call("GET", f"{path}/{task_id}/listMapped", token=token)
        assert (status, answer["detail"]) == (404, f"Task id {task_id} {message}")
    status, one_try = api.call("GET", f"{path}/doubled/1/tries/1", token=token)
    assert (status, one_try["map_index"], one_try["try_number"]) == (200, 1, 1)
    assert api.call("GET", f"{path}/outer.inner.deep/tries/2", token=token)[0] == 404
    status, answer = api.call("GET", f"{path}/outer.first/externalLogUrl/1", token=token)
    assert (status, answer["detail"]) == (400, "Task log handler does not support external logs.")
    upstream = "/api/v2/dags/api_listing/dagRuns/listed/upstreamAssetEvents"
    assert api.call("GET", upstream, token=token)[1] == {"asset_events": [], "total_entries": 0}
