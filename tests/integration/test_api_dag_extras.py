"""The operations airflowctl calls beyond the basics (issue 20), over HTTP on one cluster: DAG
tags, warnings, stats, versions and delete; XCom add, edit and delete; bulk connections,
pools and variables; default connections; backfill pause/unpause/cancel by POST."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until

pytestmark = pytest.mark.timeout(120)

PUSH = """
from airflow import DAG
from airflow.operators.python import PythonOperator


def push():
    return {{"answer": 42}}


with DAG("extras_push", schedule=None, tags=["extras", "alpha"], description="{description}"):
    PythonOperator(task_id="push", python_callable=push)
"""
TYPED = """
import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator


def typed():
    return {"pair": (1, 2), "day": datetime.date(2024, 1, 2)}


with DAG("extras_typed", schedule=None):
    PythonOperator(task_id="typed", python_callable=typed)
"""
LINKED = """
from airflow.sdk import DAG, BaseOperatorLink
from airflow.operators.python import PythonOperator


class RunbookLink(BaseOperatorLink):
    name = "Runbook"

    def get_link(self, operator, *, ti_key):
        return f"https://runbooks.example/{ti_key.dag_id}/{ti_key.task_id}/{ti_key.try_number}"


class Linked(PythonOperator):
    operator_extra_links = (RunbookLink(),)


with DAG("extras_linked", schedule=None):
    Linked(task_id="linked", python_callable=lambda: None)
"""
POOLED = """
import os
import time

import pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator


def wait_for_the_end():  # its runs stay active for the module's tests (stopped with the cluster)
    while not os.path.exists("/nonexistent/marker"):
        time.sleep(0.2)


with DAG(
    "extras_pooled",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["extras", "beta"],
):
    PythonOperator(task_id="waits", python_callable=wait_for_the_end, pool="missing_pool")
"""
GONE = """
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("extras_gone", schedule=None):
    EmptyOperator(task_id="only")
"""


@pytest.fixture(scope="module")
def api(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    work = tmp_path_factory.mktemp("dag-extras")
    dags = work / "dags"
    dags.mkdir()
    (dags / "extras_push.py").write_text(PUSH.format(description="first"))
    (dags / "extras_pooled.py").write_text(textwrap.dedent(POOLED))
    (dags / "extras_gone.py").write_text(GONE)
    (dags / "extras_typed.py").write_text(TYPED)
    (dags / "extras_linked.py").write_text(LINKED)
    with api_cluster(redis_server, work, dags, workers=1) as api:
        api.cluster.wait_for_dags(
            "extras_push", "extras_pooled", "extras_gone", "extras_typed", "extras_linked"
        )
        yield api


@pytest.fixture(scope="module")
def token(api: Api) -> str:
    return api.token()


def _ok(api: Api, token: str, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    code, answer = api.call(method, path, body, token=token)
    assert code == status, (method, path, code, answer)
    return answer


def _finished_run(api: Api, token: str, dag_id: str) -> str:
    run = _ok(api, token, "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})
    run_id = str(run["dag_run_id"])
    assert api.cluster.wait_run(dag_id, run_id)["state"] == "success"
    return run_id


def test_tags_warnings_and_stats(api: Api, token: str) -> None:
    tags = _ok(api, token, "GET", "/api/v2/dagTags")
    assert tags == {"tags": ["alpha", "beta", "extras"], "total_entries": 3}
    assert _ok(api, token, "GET", "/api/v2/dagTags?tag_name_pattern=al")["tags"] == ["alpha"]
    assert _ok(api, token, "GET", "/api/v2/dagTags?order_by=-name&limit=1")["tags"] == ["extras"]
    warnings = _ok(api, token, "GET", "/api/v2/dagWarnings")["dag_warnings"]
    assert [(w["dag_id"], w["warning_type"], w["message"]) for w in warnings] == [
        (
            "extras_pooled",
            "non-existent pool",
            "Dag 'extras_pooled' references non-existent pools: ['missing_pool']",
        )
    ]
    other = _ok(api, token, "GET", "/api/v2/dagWarnings?warning_type=asset%20conflict")
    assert other == {"dag_warnings": [], "total_entries": 0}
    _finished_run(api, token, "extras_push")
    stats = _ok(api, token, "GET", "/api/v2/dagStats?dag_ids=extras_push")
    assert stats["total_entries"] == 1
    counts = {s["state"]: s["count"] for s in stats["dags"][0]["stats"]}
    assert counts["success"] >= 1
    assert set(counts) == {"queued", "running", "success", "failed"}


def test_xcom_add_edit_and_delete(api: Api, token: str) -> None:
    run_id = _finished_run(api, token, "extras_push")
    base = f"/api/v2/dags/extras_push/dagRuns/{run_id}/taskInstances/push/xcomEntries"
    pushed = _ok(api, token, "GET", base)["xcom_entries"]
    assert [(x["key"], x["value"]) for x in pushed] == [("return_value", {"answer": 42})]
    added = _ok(api, token, "POST", base, {"key": "note", "value": [1, 2]}, status=201)
    assert (added["key"], added["value"], added["map_index"]) == ("note", [1, 2], -1)
    assert api.call("POST", base, {"key": "note", "value": 3}, token=token)[0] == 409
    # the listing: xcom_key, searches, order_by, paging, and ~ for any DAG, run or task
    keys = [x["key"] for x in _ok(api, token, "GET", base + "?order_by=-key")["xcom_entries"]]
    assert keys == ["return_value", "note"]
    assert [x["key"] for x in _ok(api, token, "GET", base + "?xcom_key=note")["xcom_entries"]] == [
        "note"
    ]
    assert _ok(api, token, "GET", base + "?xcom_key_pattern=RETURN")["total_entries"] == 1
    assert _ok(api, token, "GET", base + "?xcom_key_prefix_pattern=no")["total_entries"] == 1
    paged = _ok(api, token, "GET", base + "?order_by=key&limit=1&offset=1")
    assert ([x["key"] for x in paged["xcom_entries"]], paged["total_entries"]) == (
        ["return_value"],
        2,
    )
    anywhere = "/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries"
    found = _ok(api, token, "GET", f"{anywhere}?run_id_pattern={quote(run_id)}&xcom_key=note")
    assert [(x["dag_id"], x["task_id"]) for x in found["xcom_entries"]] == [("extras_push", "push")]
    assert (
        _ok(api, token, "GET", base + "?logical_date_lt=2000-01-01T00:00:00Z")["xcom_entries"] == []
    )
    assert api.call("GET", base + "?order_by=value", token=token)[0] == 400
    edited = _ok(api, token, "PATCH", base + "/note", {"value": "changed"})
    assert edited["value"] == "changed"
    assert _ok(api, token, "GET", base + "/note")["value"] == "changed"
    assert api.call("DELETE", base + "/note", token=token)[0] == 204
    assert api.call("GET", base + "/note", token=token)[0] == 404
    assert api.call("DELETE", base + "/note", token=token)[0] == 404
    assert api.call("PATCH", base + "/note", {"value": 1}, token=token)[0] == 404
    missing = base.replace("/push/", "/nope/")
    assert api.call("POST", missing, {"key": "k", "value": 1}, token=token)[0] == 404


def test_an_xcom_reads_as_stored_or_in_airflows_readable_forms(api: Api, token: str) -> None:
    run_id = _finished_run(api, token, "extras_typed")
    entry = (
        f"/api/v2/dags/extras_typed/dagRuns/{run_id}/taskInstances/typed/xcomEntries/return_value"
    )
    stored = {
        "pair": {"__classname__": "builtins.tuple", "__version__": 1, "__data__": [1, 2]},
        "day": {"__classname__": "datetime.date", "__version__": 2, "__data__": "2024-01-02"},
    }
    assert _ok(api, token, "GET", entry)["value"] == stored
    readable = {"pair": "(1,2)", "day": "datetime.date@version=2(2024-01-02)"}
    assert _ok(api, token, "GET", entry + "?deserialize=true")["value"] == readable
    assert _ok(api, token, "GET", entry + "?stringify=true")["value"] == str(stored)
    both = _ok(api, token, "GET", entry + "?deserialize=true&stringify=true")
    assert both["value"] == str(readable)
    code, answer = api.call("GET", entry + "?deserialize=maybe", token=token)
    assert code == 422
    assert answer["detail"][0]["loc"] == ["query", "deserialize"]


def test_a_task_s_extra_links_are_the_urls_its_try_pushed(api: Api, token: str) -> None:
    task = _ok(api, token, "GET", "/api/v2/dags/extras_linked/tasks/linked")
    assert task["extra_links"] == ["Runbook"]
    run_id = _finished_run(api, token, "extras_linked")
    base = f"/api/v2/dags/extras_linked/dagRuns/{run_id}/taskInstances"
    links = _ok(api, token, "GET", base + "/linked/links")
    url = "https://runbooks.example/extras_linked/linked/1"
    assert links == {"extra_links": {"Runbook": url}, "total_entries": 1}
    assert _ok(api, token, "GET", base + "/linked/links?try_number=1") == links
    status, answer = api.call("GET", base + "/linked/links?try_number=2", token=token)
    assert (status, answer["detail"]) == (404, "TaskInstanceHistory not found for try_number=2")
    assert api.call("GET", base + "/nope/links", token=token)[0] == 404
    assert api.call("GET", base + "/linked/links?map_index=3", token=token)[0] == 404


def test_dag_versions_number_each_parsed_form(api: Api, token: str) -> None:
    base = "/api/v2/dags/extras_push/dagVersions"
    first = _ok(api, token, "GET", base)
    assert first["total_entries"] == 1
    assert first["dag_versions"][0]["version_number"] == 1
    (api.cluster.dags_folder / "extras_push.py").write_text(PUSH.format(description="second"))
    wait_until(lambda: _ok(api, token, "GET", base)["total_entries"] == 2, 30, "a second version")
    second = _ok(api, token, "GET", base + "/2")
    assert (second["dag_id"], second["version_number"]) == ("extras_push", 2)
    assert second["id"] != _ok(api, token, "GET", base + "/1")["id"]
    assert api.call("GET", base + "/3", token=token)[0] == 404
    details = _ok(api, token, "GET", "/api/v2/dags/extras_push/details")
    assert details["latest_dag_version"] == second
    assert api.call("GET", "/api/v2/dags/nope/dagVersions", token=token)[0] == 404
    newest_first = _ok(api, token, "GET", base + "?order_by=-version_number")["dag_versions"]
    assert [v["version_number"] for v in newest_first] == [2, 1]
    every = _ok(api, token, "GET", "/api/v2/dags/~/dagVersions")["dag_versions"]
    assert {v["dag_id"] for v in every} == {
        "extras_push",
        "extras_pooled",
        "extras_gone",
        "extras_typed",
        "extras_linked",
    }


def test_delete_dag_removes_its_history_and_the_file_brings_it_back(api: Api, token: str) -> None:
    _finished_run(api, token, "extras_gone")
    assert api.call("DELETE", "/api/v2/dags/extras_gone", token=token)[0] == 204

    def back_without_runs() -> bool:
        code, _ = api.call("GET", "/api/v2/dags/extras_gone", token=token)
        runs = api.call("GET", "/api/v2/dags/extras_gone/dagRuns", token=token)[1]
        return code == 200 and runs["total_entries"] == 0

    wait_until(back_without_runs, 30, "the DAG parsed again, with no runs")
    assert api.call("DELETE", "/api/v2/dags/nope", token=token)[0] == 404
    # extras_pooled's scheduled run never ends: it is still running
    wait_until(
        lambda: (
            api.call("GET", "/api/v2/dags/extras_pooled/dagRuns", token=token)[1]["total_entries"]
            > 0
        ),
        30,
        "a scheduled run",
    )
    assert api.call("DELETE", "/api/v2/dags/extras_pooled", token=token)[0] == 409


def _bulk(api: Api, token: str, resource: str, *actions: dict[str, Any]) -> Any:
    return _ok(api, token, "PATCH", f"/api/v2/{resource}", {"actions": list(actions)})


def test_pools_keep_include_deferred_as_airflow_does(api: Api, token: str) -> None:
    """Stored with the pool, shown back; false unless given; a patch or a masked bulk update
    without it keeps it; a bulk update without a mask replaces the pool (PoolBody's default)."""
    pool = "/api/v2/pools/deferring"
    body = {"name": "deferring", "slots": 2, "include_deferred": True}
    assert _ok(api, token, "POST", "/api/v2/pools", body, status=201)["include_deferred"] is True
    assert _ok(api, token, "PATCH", pool, {"slots": 3})["include_deferred"] is True
    assert _ok(api, token, "GET", pool)["include_deferred"] is True
    plain = {"name": "plain", "slots": 1}
    assert _ok(api, token, "POST", "/api/v2/pools", plain, status=201)["include_deferred"] is False
    masked = {"name": "deferring", "slots": 4}
    _bulk(api, token, "pools", {"action": "update", "entities": [masked], "update_mask": ["slots"]})
    assert (
        _ok(api, token, "GET", pool)["slots"],
        _ok(api, token, "GET", pool)["include_deferred"],
    ) == (4, True)
    _bulk(api, token, "pools", {"action": "update", "entities": [masked]})
    assert _ok(api, token, "GET", pool)["include_deferred"] is False
    on = {"name": "plain", "slots": 1, "include_deferred": True}
    _bulk(api, token, "pools", {"action": "update", "entities": [on]})
    assert _ok(api, token, "GET", "/api/v2/pools/plain")["include_deferred"] is True
    for name in ("deferring", "plain"):
        _ok(api, token, "DELETE", f"/api/v2/pools/{name}", status=204)


def test_a_pool_patch_changes_only_the_masked_fields(api: Api, token: str) -> None:
    """Airflow 3.1.8's patch_pool: ``update_mask`` limits the change to the fields it names;
    the default pool takes a mask of slots and include_deferred only; a new pool's
    include_deferred is a boolean, never null."""
    body = {"name": "masked", "slots": 2, "description": "two", "include_deferred": True}
    _ok(api, token, "POST", "/api/v2/pools", body, status=201)
    change = {"slots": 5, "description": "five", "include_deferred": False}
    patched = _ok(api, token, "PATCH", "/api/v2/pools/masked?update_mask=slots", change)
    assert (patched["slots"], patched["description"], patched["include_deferred"]) == (
        5,
        "two",
        True,
    )
    both = "/api/v2/pools/masked?update_mask=description&update_mask=include_deferred"
    patched = _ok(api, token, "PATCH", both, change)
    assert (patched["slots"], patched["description"], patched["include_deferred"]) == (
        5,
        "five",
        False,
    )
    code, answer = api.call("PATCH", "/api/v2/pools/default_pool", {"slots": 7}, token=token)
    assert (code, answer["detail"]) == (
        400,
        "Only slots and included_deferred can be modified on Default Pool",
    )
    default = "/api/v2/pools/default_pool?update_mask=slots"
    assert _ok(api, token, "PATCH", default, {"slots": 7, "description": "x"})["slots"] == 7
    assert _ok(api, token, "GET", "/api/v2/pools/default_pool")["description"] != "x"
    _ok(api, token, "PATCH", default, {"slots": 128})
    refused = {"name": "masked", "slots": 1, "include_deferred": None}
    code, answer = api.call("POST", "/api/v2/pools", refused, token=token)
    assert (code, answer["detail"][0]["loc"]) == (422, ["body", "include_deferred"])
    kept = {"include_deferred": None}  # PoolPatchBody's field is optional: null keeps it
    assert _ok(api, token, "PATCH", "/api/v2/pools/masked", kept)["include_deferred"] is False
    code, answer = api.call(
        "PATCH", "/api/v2/pools/masked?update_mask=description", {"slots": "x"}, token=token
    )
    assert (code, answer["detail"][0]["loc"]) == (422, ["body", "slots"])
    _ok(api, token, "DELETE", "/api/v2/pools/masked", status=204)


def test_bulk_connections_and_defaults(api: Api, token: str) -> None:
    one = {"connection_id": "bulk_a", "conn_type": "http", "host": "a.example"}
    two = {"connection_id": "bulk_b", "conn_type": "http", "team_name": None}
    created = _bulk(api, token, "connections", {"action": "create", "entities": [one, two]})
    assert created == {
        "create": {"success": ["bulk_a", "bulk_b"], "errors": []},
        "update": None,
        "delete": None,
    }
    again = _bulk(api, token, "connections", {"action": "create", "entities": [one]})
    assert again["create"]["errors"][0]["status_code"] == 409
    skipped = {"action": "create", "entities": [one], "action_on_existence": "skip"}
    assert _bulk(api, token, "connections", skipped)["create"]["success"] == []
    changed = {**one, "host": "b.example", "login": "ignored"}
    update = {"action": "update", "entities": [changed], "update_mask": ["host"]}
    assert _bulk(api, token, "connections", update)["update"]["success"] == ["bulk_a"]
    stored = _ok(api, token, "GET", "/api/v2/connections/bulk_a")
    assert (stored["host"], stored["login"]) == ("b.example", None)
    delete = {"action": "delete", "entities": ["bulk_a", "bulk_zz"]}
    assert _bulk(api, token, "connections", delete)["delete"]["errors"][0]["status_code"] == 404
    delete["action_on_non_existence"] = "skip"
    assert _bulk(api, token, "connections", delete)["delete"]["success"] == ["bulk_a"]
    assert api.call("GET", "/api/v2/connections/bulk_a", token=token)[0] == 404
    bad = {"actions": [{"action": "create", "entities": [{"conn_type": "http"}]}]}
    assert api.call("PATCH", "/api/v2/connections", bad, token=token)[0] == 422

    _ok(api, token, "PATCH", "/api/v2/connections/bulk_b", {**two, "host": "mine"})
    _ok(api, token, "POST", "/api/v2/connections/defaults", status=204)
    assert _ok(api, token, "GET", "/api/v2/connections/http_default")["host"] == (
        "https://www.httpbin.org/"
    )
    _ok(
        api,
        token,
        "PATCH",
        "/api/v2/connections/http_default",
        {"connection_id": "http_default", "conn_type": "http", "host": "kept"},
    )
    _ok(api, token, "POST", "/api/v2/connections/defaults", status=204)
    assert _ok(api, token, "GET", "/api/v2/connections/http_default")["host"] == "kept"


def test_bulk_pools_and_variables(api: Api, token: str) -> None:
    pools = _bulk(
        api,
        token,
        "pools",
        {"action": "create", "entities": [{"name": "bulk_pool", "slots": 3}]},
        {"action": "update", "entities": [{"name": "bulk_pool", "slots": 5}]},
    )
    assert pools["create"]["success"] == pools["update"]["success"] == ["bulk_pool"]
    assert _ok(api, token, "GET", "/api/v2/pools/bulk_pool")["slots"] == 5
    refused = _bulk(api, token, "pools", {"action": "delete", "entities": ["default_pool"]})
    assert refused["delete"]["errors"][0]["status_code"] == 400
    assert _bulk(api, token, "pools", {"action": "delete", "entities": ["bulk_pool"]})["delete"][
        "success"
    ] == ["bulk_pool"]

    variables = [{"key": "bulk_v", "value": "one", "description": None}]
    assert _bulk(api, token, "variables", {"action": "create", "entities": variables})["create"][
        "success"
    ] == ["bulk_v"]
    overwrite = {"action": "create", "entities": [{"key": "bulk_v", "value": {"n": 2}}]}
    overwrite["action_on_existence"] = "overwrite"
    _bulk(api, token, "variables", overwrite)
    assert json.loads(_ok(api, token, "GET", "/api/v2/variables/bulk_v")["value"]) == {"n": 2}


def test_backfill_pause_unpause_and_cancel_by_post(api: Api, token: str) -> None:
    body = {
        "dag_id": "extras_pooled",
        "from_date": "2024-01-01T00:00:00Z",
        "to_date": "2024-01-03T00:00:00Z",
        "max_active_runs": 1,
    }
    backfill = _ok(api, token, "POST", "/api/v2/backfills", body)
    base = f"/api/v2/backfills/{backfill['id']}"
    assert _ok(api, token, "POST", base + "/pause")["is_paused"] is True
    assert _ok(api, token, "POST", base + "/unpause")["is_paused"] is False
    assert _ok(api, token, "POST", base + "/cancel")["completed_at"] is not None
    dry = _ok(api, token, "POST", "/api/v2/backfills/dry_run", body)
    assert dry["total_entries"] == 3
