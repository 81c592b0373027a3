"""airflowctl (apache-airflow-ctl 0.1.5) against Airlane: its ``assets`` group (list, get,
aliases, events, queued events per asset and per DAG, materialize), ``dagrun`` with the version
each run was created with, and the commands the other airflowctl tests leave out (``dags
trigger``, ``pause``, ``unpause``, ``next-execution``, ``pools export``, ``variables list``,
``connections test``, ``auth token`` and ``list-envs``). Each answers without a server error and
with the data the API holds; the commands run in batches in one airflowctl process each.

airflowctl's own faults, after a good answer or before any request: ``assets materialize``
prints with an ``--output`` it lacks; ``assets create-event --extra`` cannot parse any value
(argparse's ``dict`` type), so events are created without extra. Its three deletes of queued
events go to paths Airflow 3.1.8 does not serve (a trailing slash, an ``assets/`` prefix);
Airlane answers them as the documented ones.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.conftest import TEST_DAGS
from tests.integration.airflowctl import Airflowctl, CtlResult, installed
from tests.integration.cluster import Api, RedisServer, api_cluster, wait_until
from tests.integration.test_airflowctl_dags import failed_in_the_client, ok, run_batch

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not installed(), reason="make install-test installs airflowctl"),
]
DAGS = ("ctl_producer", "ctl_alias_producer", "ctl_consumer")
J = ("-o", "json")
#: the ``before`` airflowctl requires for a DAG's queued events: later than any event here
LATER = "2100-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class Setup:
    api: Api
    ctl: Airflowctl
    token: str
    work: Path
    #: asset name -> id
    ids: dict[str, int]

    def get(self, path: str) -> Any:
        status, body = self.api.call("GET", path, token=self.token)
        assert status == 200, (path, body)
        return body

    def queued(self, dag_id: str = "ctl_consumer") -> list[tuple[str, int]]:
        found = self.get(f"/api/v2/dags/{dag_id}/assets/queuedEvents")["queued_events"]
        return [(q["dag_id"], q["asset_id"]) for q in found]


@pytest.fixture(scope="module")
def setup(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    work = tmp_path_factory.mktemp("airflowctl-assets")
    shutil.copytree(TEST_DAGS / "ctl_assets", work / "dags")
    with api_cluster(redis_server, work, work / "dags", workers=1, concurrency=4) as api:
        api.cluster.wait_for_dags(*DAGS)
        token = api.token()

        def assets() -> list[dict[str, Any]]:
            status, body = api.call("GET", "/api/v2/assets", token=token)
            return list(body["assets"]) if status == 200 else []

        # the coordinator registers the DAGs' assets as it takes each DAG
        wait_until(lambda: len(assets()) == 2, 30, "the assets")
        ids = {a["name"]: a["id"] for a in assets()}
        ctl = Airflowctl.logged_in(api.url, work / "ctl-home")
        yield Setup(api, ctl, token, work, ids)


def _commands(setup: Setup) -> dict[str, tuple[str, ...]]:
    """Every command of this module but ``dagrun``'s, by name, in the order they run."""
    left, consumer = str(setup.ids["ctl_left"]), "ctl_consumer"
    (alias,) = setup.get("/api/v2/assets/aliases")["asset_aliases"]
    trigger = (consumer, "--dag-run-id", "from_ctl", "--note", "n")
    login = ("--api-url", setup.api.url, "--username", "alice", "--password", "wonderland")
    return {
        "listed": ("assets", "list", *J),
        "got": ("assets", "get", left, *J),
        "aliases": ("assets", "list-by-alias", *J),
        "by_alias": ("assets", "get-by-alias", str(alias["id"]), *J),
        "missing": ("assets", "get", "999999", *J),
        # the consumer waits for ctl_right too: each event stays queued for it
        "created": ("assets", "create-event", "--asset-id", left, *J),
        "per_asset": ("assets", "get-queued-events", left, *J),
        "per_dag": ("assets", "get-dag-queued-events", consumer, LATER, *J),
        "one": ("assets", "get-dag-queued-event", consumer, left, *J),
        "deleted_one": ("assets", "delete-queued-event", consumer, left, *J),
        "after_one": ("assets", "get-queued-events", left, *J),
        "again": ("assets", "create-event", "--asset-id", left, *J),
        "deleted_dag": ("assets", "delete-dag-queued-events", consumer, LATER, *J),
        "after_dag": ("assets", "get-dag-queued-events", consumer, LATER, *J),
        "third": ("assets", "create-event", "--asset-id", left, *J),
        "deleted_asset": ("assets", "delete-queued-events", left, *J),
        "after_asset": ("assets", "get-queued-events", left, *J),
        # these print a line of text (before their JSON)
        "paused": ("dags", "pause", consumer),
        "unpaused": ("dags", "unpause", consumer),
        "triggered": ("dags", "trigger", *trigger, *J),
        "upcoming": ("dags", "next-execution", consumer),
        "pools": ("pools", "export", str(setup.work / "pools-export.json")),
        "variables": ("variables", "list", *J),
        "tested": ("connections", "test", "--connection-id", "t", "--conn-type", "http"),
        "token": ("auth", "token", *login),
        "envs": ("auth", "list-envs", *J),
        "materialized": ("assets", "materialize", left),
    }


@pytest.fixture(scope="module")
def done(setup: Setup) -> dict[str, CtlResult]:
    """The commands' results: one airflowctl process for all."""
    status, body = setup.api.call(
        "POST", "/api/v2/variables", {"key": "v", "value": "x"}, setup.token
    )
    assert status == 201, body
    commands = _commands(setup)
    return dict(zip(commands, run_batch(setup.ctl, *commands.values()), strict=True))


def test_assets_list_get_and_aliases(setup: Setup, done: dict[str, CtlResult]) -> None:
    (alias,) = setup.get("/api/v2/assets/aliases")["asset_aliases"]
    api_assets = setup.get("/api/v2/assets")["assets"]
    assert [(a["id"], a["name"]) for a in ok(done["listed"])] == [
        (str(a["id"]), a["name"]) for a in api_assets
    ]
    asset = ok(done["got"])[0]
    assert (asset["name"], asset["uri"]) == ("ctl_left", "s3://ctl/left")
    assert [t["dag_id"] for t in asset["producing_tasks"]] == ["ctl_producer"]
    assert [d["dag_id"] for d in asset["scheduled_dags"]] == ["ctl_consumer"]
    assert asset["watchers"] == []
    expected = [{"id": str(alias["id"]), "name": "ctl_alias", "group": "asset"}]
    assert ok(done["aliases"]) == expected
    assert ok(done["by_alias"]) == expected
    assert done["missing"].rc != 0
    assert "was not found" in done["missing"].stdout + done["missing"].stderr


def test_events_and_queued_events_per_asset_and_per_dag(
    setup: Setup, done: dict[str, CtlResult]
) -> None:
    left, consumer = str(setup.ids["ctl_left"]), "ctl_consumer"
    event = ok(done["created"])[0]
    assert (event["asset_id"], event["source_dag_id"]) == (left, None)
    outside = [
        e
        for e in setup.get(f"/api/v2/assets/events?asset_id={left}")["asset_events"]
        if e["source_dag_id"] is None
    ]
    assert [str(e["id"]) for e in outside] == [
        ok(done[name])[0]["id"] for name in ("created", "again", "third")
    ]
    assert all(e["extra"] == {"from_rest_api": True} for e in outside)  # as Airflow marks them
    queued = [(consumer, left)]
    assert [(q["dag_id"], q["asset_id"]) for q in ok(done["per_asset"])] == queued
    assert [(q["dag_id"], q["asset_id"]) for q in ok(done["per_dag"])] == queued
    one = ok(done["one"])[0]
    assert (one["dag_id"], one["asset_id"]) == (consumer, left)
    assert ok(done["deleted_one"]) == [{"operation": "delete_queued_event", "entity": left}]
    assert ok(done["after_one"]) == []
    entity = {"operation": "delete_dag_queued_events", "entity": consumer}
    assert ok(done["deleted_dag"]) == [entity]
    assert ok(done["after_dag"]) == []
    assert ok(done["deleted_asset"]) == [{"operation": "delete_queued_events", "entity": left}]
    assert ok(done["after_asset"]) == []
    # no asset-triggered run: each event was deleted before ctl_right had one
    runs = setup.get(f"/api/v2/dags/{consumer}/dagRuns")["dag_runs"]
    assert "asset_triggered" not in [r["run_type"] for r in runs]


def test_materialize_runs_the_producer_and_dagrun_shows_its_version(
    setup: Setup, done: dict[str, CtlResult]
) -> None:
    left = setup.ids["ctl_left"]
    failed_in_the_client(done["materialized"], "has no attribute 'output'")
    (run,) = setup.get("/api/v2/dags/ctl_producer/dagRuns")["dag_runs"]
    run_id = run["dag_run_id"]
    assert run["run_type"] == "asset_materialization"  # (Airflow 3.2+'s type and run id)
    assert run_id.startswith("asset_materialization__")
    assert setup.api.cluster.wait_run("ctl_producer", run_id)["state"] == "success"
    wait_until(lambda: setup.queued() == [("ctl_consumer", left)], 10, "the producer's event")
    events = setup.get(f"/api/v2/assets/events?asset_id={left}&source_dag_id=ctl_producer")
    assert [e["source_run_id"] for e in events["asset_events"]] == [run_id]
    got, listed = run_batch(
        setup.ctl,
        ("dagrun", "get", "ctl_producer", run_id, *J),
        ("dagrun", "list", "--dag-id", "ctl_producer", "--limit", "10", *J),
    )
    (version,) = setup.get("/api/v2/dags/ctl_producer/dagVersions")["dag_versions"]
    shown = ok(got)[0]["dag_versions"]
    assert [(v["id"], v["version_number"]) for v in shown] == [(version["id"], "1")]
    assert setup.get(f"/api/v2/dags/ctl_producer/dagRuns/{run_id}")["dag_versions"] == [version]
    (one,) = ok(listed)[0]["dag_runs"]
    assert [v["id"] for v in one["dag_versions"]] == [version["id"]]


def _printed(result: CtlResult) -> Any:
    """The JSON airflowctl printed last (after its lines of text)."""
    ok(result)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_dags_trigger_pause_unpause_and_next_execution(
    setup: Setup, done: dict[str, CtlResult]
) -> None:
    assert _printed(done["paused"])[0]["is_paused"] == "True"
    assert _printed(done["unpaused"])[0]["is_paused"] == "False"
    assert setup.get("/api/v2/dags/ctl_consumer")["is_paused"] is False
    run = ok(done["triggered"])[0]
    assert (run["dag_run_id"], run["run_type"], run["note"]) == ("from_ctl", "manual", "n")
    assert setup.get("/api/v2/dags/ctl_consumer/dagRuns/from_ctl")["note"] == "n"
    # an asset-scheduled DAG has no next run time
    upcoming = done["upcoming"]
    assert upcoming.rc == 0, upcoming.describe()
    assert "No upcoming run scheduled" in upcoming.stdout


def test_pools_export_variables_list_connections_test_and_auth(
    setup: Setup, done: dict[str, CtlResult]
) -> None:
    ok(done["pools"])
    exported = json.loads((setup.work / "pools-export.json").read_text())
    api_pools = setup.get("/api/v2/pools")["pools"]
    assert {p["name"] for p in exported} == {p["name"] for p in api_pools}
    api_variables = setup.get("/api/v2/variables")["variables"]
    assert [(v["key"], v["value"]) for v in ok(done["variables"])] == [
        (v["key"], v["value"]) for v in api_variables
    ]
    # as Airflow's default ([core] test_connection Disabled): a 403 that says so
    tested = done["tested"]
    assert tested.rc != 0
    assert "Testing connections is disabled" in tested.stdout + tested.stderr
    token = done["token"]
    assert token.rc == 0, token.describe()
    assert jwt.decode(token.stdout.strip(), options={"verify_signature": False})["sub"] == "alice"
    (env,) = ok(done["envs"])
    assert env["api_url"] == setup.api.url
