"""airflowctl (apache-airflow-ctl 0.1.5) against Airlane for the groups of issue 20's second
part: dags (with versions, tags, warnings, stats, import errors, update and delete), dagrun,
xcom, backfill, the bulk imports of connections, pools and variables, connections'
create-defaults, and the one-by-one commands of pools, variables and connections. Each command
answers without a server error and with the API's data.

airflowctl takes over a second to start, so the commands run in batches in one process of its
venv (:func:`run_batch`), each as its command line would, after a real ``auth login``.

Some commands fail in airflowctl itself, after the server answered: ``dags get-tags`` (its
table printer refuses a list of strings), ``backfill create-dry-run`` (it reads Airflow's
DryRunBackfillCollectionResponse as a BackfillResponse), ``connections create-defaults`` (it
prints the None it returns) and ``backfill pause/unpause/cancel`` (they print with an
``--output`` they lack; against Airflow 3.1.8 they fail sooner: it sends POST where Airflow has
PUT, and Airlane answers both). For those the test checks that no error answer was reported and
that the API holds what the request did.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.airflowctl import CTL_VENV, Airflowctl, CtlResult, installed
from tests.integration.cluster import Api, RedisServer, api_cluster
from tests.integration.test_api_dag_extras import GONE, POOLED, PUSH

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not installed(), reason="make install-test installs airflowctl"),
]

#: runs each command line of argv[1] (a JSON list) as airflowctl's main does, in one process;
#: writes [{rc, stdout, stderr}] to argv[2]
_BATCH = """
import contextlib, io, json, sys, traceback
from airflowctl.ctl import cli_parser
from airflowctl.ctl.cli_config import safe_call_command

parser = cli_parser.get_parser()
results = []
for argv in json.loads(sys.argv[1]):
    out, err, rc = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = parser.parse_args(argv)
            safe_call_command(args.func, args=args)
        except SystemExit as stop:
            rc = stop.code if isinstance(stop.code, int) else 1
        except Exception:
            rc = 1
            traceback.print_exc()
    results.append({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()})
with open(sys.argv[2], "w") as file:
    json.dump(results, file)
"""
BROKEN = "from airflow import DAG\n\nraise RuntimeError('broken on purpose')\n"
DATES = ("--from-date", "2024-01-01T00:00:00+00:00", "--to-date", "2024-01-03T00:00:00+00:00")


def run_batch(ctl: Airflowctl, *commands: tuple[str, ...]) -> list[CtlResult]:
    """Each command (``-o json`` added to those that print) in one airflowctl process."""
    lines = [list(c) for c in commands]
    target = ctl.home / "batch.json"
    subprocess.run(
        [str(CTL_VENV / "bin" / "python"), "-c", _BATCH, json.dumps(lines), str(target)],
        env=ctl.env,
        cwd=ctl.home,
        capture_output=True,
        timeout=120,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    results = []
    for line, found in zip(lines, json.loads(target.read_text()), strict=True):
        wants_json = "-o" in line and line[line.index("-o") + 1] == "json"
        text = found["stdout"].strip()
        parsed = json.loads(text) if found["rc"] == 0 and wants_json and text else None
        results.append(CtlResult(found["rc"], found["stdout"], found["stderr"], parsed))
    return results


def ok(result: CtlResult) -> Any:
    """A command that succeeded; airflowctl logs "Server error" for any answer >= 400."""
    assert result.rc == 0, result.describe()
    assert "Server error" not in result.stdout + result.stderr, result.describe()
    return result.json


def failed_in_the_client(result: CtlResult, words: str) -> None:
    """airflowctl's own failure after a good answer (see the module's docstring)."""
    assert result.rc != 0, result.describe()
    assert words in result.stdout + result.stderr, result.describe()
    assert "Server error" not in result.stdout + result.stderr, result.describe()


@dataclass(frozen=True)
class Setup:
    api: Api
    ctl: Airflowctl
    token: str
    run_id: str
    work: Path

    def get(self, path: str) -> Any:
        status, body = self.api.call("GET", path, token=self.token)
        assert status == 200, (path, body)
        return body


@pytest.fixture(scope="module")
def setup(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    work = tmp_path_factory.mktemp("airflowctl-dags")
    dags = work / "dags"
    dags.mkdir()
    (dags / "extras_push.py").write_text(PUSH.format(description="first"))
    (dags / "extras_pooled.py").write_text(POOLED)
    (dags / "extras_gone.py").write_text(GONE)
    (dags / "broken.py").write_text(BROKEN)
    with api_cluster(redis_server, work, dags, workers=1) as api:
        api.cluster.wait_for_dags("extras_push", "extras_pooled", "extras_gone")
        token = api.token()
        status, run = api.call(
            "POST", "/api/v2/dags/extras_push/dagRuns", {"logical_date": None}, token=token
        )
        assert status == 200, run
        assert api.cluster.wait_run("extras_push", run["dag_run_id"])["state"] == "success"
        ctl = Airflowctl.logged_in(api.url, work / "ctl-home")
        yield Setup(api, ctl, token, str(run["dag_run_id"]), work)


def test_dags_group(setup: Setup) -> None:
    j = ("-o", "json")
    errors = setup.get("/api/v2/importErrors")["import_errors"]
    assert len(errors) == 1
    error_id = str(errors[0]["import_error_id"])
    api_dags = setup.get("/api/v2/dags")["dags"]  # before the batch deletes extras_gone
    (
        listed,
        got,
        details,
        paused,
        unpaused,
        tags,
        warnings,
        stats,
        versions,
        version,
        import_errors,
        import_error,
        deleted,
    ) = run_batch(
        setup.ctl,
        ("dags", "list", *j),
        ("dags", "get", "extras_push", *j),
        ("dags", "get-details", "extras_push", *j),
        ("dags", "update", "extras_push", "--is-paused", *j),
        ("dags", "update", "extras_push", "--no-is-paused", *j),
        ("dags", "get-tags", *j),
        ("dags", "list-warning", *j),
        ("dags", "get-stats", "extras_push", *j),
        ("dags", "list-version", "extras_push", *j),
        ("dags", "get-version", "extras_push", "1", *j),
        ("dags", "list-import-errors", *j),
        ("dags", "get-import-error", error_id, *j),
        ("dags", "delete", "extras_gone", *j),
    )
    assert [d["dag_id"] for d in ok(listed)] == [d["dag_id"] for d in api_dags]
    assert ok(got)[0]["description"] == "first"
    assert ok(details)[0]["timezone"] == setup.get("/api/v2/dags/extras_push/details")["timezone"]
    assert ok(paused)[0]["is_paused"] == "True"
    assert ok(unpaused)[0]["is_paused"] == "False"
    failed_in_the_client(tags, "To tabulate non-dictionary data")
    assert ok(warnings) == setup.get("/api/v2/dagWarnings")["dag_warnings"]
    # airflowctl 0.1.5 splits its dag_ids argument into characters: no DAG has such an id
    assert ok(stats) == []
    api_versions = setup.get("/api/v2/dags/extras_push/dagVersions")["dag_versions"]
    assert [v["id"] for v in ok(versions)] == [v["id"] for v in api_versions]
    assert ok(version)[0]["version_number"] == "1"
    assert [e["filename"] for e in ok(import_errors)] == [errors[0]["filename"]]
    assert ok(import_error)[0]["stack_trace"] == errors[0]["stack_trace"]
    assert ok(deleted) == [{"operation": "delete", "entity": "extras_gone"}]


def test_dagrun_and_xcom_groups(setup: Setup) -> None:
    j, run_id = ("-o", "json"), setup.run_id
    ti = ("extras_push", run_id, "push")
    run, runs, xcoms, xcom, added, edited, deleted, gone = run_batch(
        setup.ctl,
        ("dagrun", "get", "extras_push", run_id, *j),
        # without --limit airflowctl sends ``limit=`` (Airflow 3.1.8 refuses it too: 422)
        ("dagrun", "list", "--dag-id", "extras_push", "--limit", "10", *j),
        ("xcom", "list", *ti, *j),
        ("xcom", "get", *ti, "return_value", *j),
        ("xcom", "add", *ti, "from_ctl", '["a", "b"]', *j),
        ("xcom", "edit", *ti, "from_ctl", '"edited"', *j),
        ("xcom", "delete", *ti, "from_ctl", *j),
        ("xcom", "get", *ti, "from_ctl", *j),
    )
    assert ok(run)[0]["state"] == "success"
    api_runs = setup.get("/api/v2/dags/extras_push/dagRuns")["dag_runs"]
    # (dagrun list is printed as one object holding the page, unlike the other lists)
    listed = ok(runs)[0]["dag_runs"]
    assert {r["dag_run_id"] for r in listed} == {r["dag_run_id"] for r in api_runs}
    assert [x["key"] for x in ok(xcoms)] == ["return_value"]
    assert ok(xcom)[0]["key"] == "return_value"
    assert ok(added)[0]["key"] == "from_ctl"
    assert ok(edited)[0]["value"] == "edited"
    assert ok(deleted) == [{"operation": "delete", "entity": "from_ctl"}]
    assert gone.rc != 0
    assert "Client error" in gone.stdout + gone.stderr  # its word for a 4xx (here 404)


def test_backfill_group(setup: Setup) -> None:
    j = ("-o", "json")
    (created,) = run_batch(
        setup.ctl, ("backfill", "create", "--dag-id", "extras_pooled", *DATES, *j)
    )
    backfill_id = ok(created)[0]["id"]
    dry, listed, got, paused = run_batch(
        setup.ctl,
        ("backfill", "create-dry-run", "--dag-id", "extras_pooled", *DATES, *j),
        ("backfill", "list", "extras_pooled", *j),
        ("backfill", "get", backfill_id, *j),
        ("backfill", "pause", backfill_id),
    )
    failed_in_the_client(dry, "validation error")
    assert [b["id"] for b in ok(listed)] == [backfill_id]
    assert ok(got)[0]["dag_id"] == "extras_pooled"
    path = f"/api/v2/backfills/{backfill_id}"
    # pause, unpause and cancel print with an --output option airflowctl does not give them
    no_output = "has no attribute 'output'"
    failed_in_the_client(paused, no_output)
    assert setup.get(path)["is_paused"] is True
    failed_in_the_client(run_batch(setup.ctl, ("backfill", "unpause", backfill_id))[0], no_output)
    assert setup.get(path)["is_paused"] is False
    failed_in_the_client(run_batch(setup.ctl, ("backfill", "cancel", backfill_id))[0], no_output)
    assert setup.get(path)["completed_at"] is not None


def test_connections_pools_and_variables_imports(setup: Setup) -> None:
    connections = setup.work / "connections.json"
    connections.write_text(json.dumps({"ctl_conn": {"conn_type": "http", "host": "ctl.example"}}))
    pools = setup.work / "pools.json"
    pools.write_text(json.dumps([{"name": "ctl_pool", "slots": 4, "description": "from ctl"}]))
    variables = setup.work / "variables.json"
    variables.write_text(json.dumps({"ctl_var": "plain", "ctl_json": {"n": 1}}))
    defaults, conns, pool_import, var_import = run_batch(
        setup.ctl,
        ("connections", "create-defaults", "-o", "json"),
        ("connections", "import", str(connections)),
        ("pools", "import", str(pools)),
        ("variables", "import", str(variables)),
    )
    failed_in_the_client(defaults, "'NoneType' object has no attribute 'values'")
    assert setup.get("/api/v2/connections/http_default")["conn_type"] == "http"
    ok(conns)
    assert setup.get("/api/v2/connections/ctl_conn")["host"] == "ctl.example"
    ok(pool_import)
    assert setup.get("/api/v2/pools/ctl_pool")["slots"] == 4
    ok(var_import)
    assert setup.get("/api/v2/variables/ctl_var")["value"] == "plain"
    assert json.loads(setup.get("/api/v2/variables/ctl_json")["value"]) == {"n": 1}


def test_pools_variables_and_connections_one_by_one(setup: Setup) -> None:
    j = ("-o", "json")
    conn = ("--connection-id", "ctl_one", "--conn-type", "http")
    (
        pool_created,
        pool_got,
        pool_updated,
        pool_listed,
        pool_deleted,
        var_created,
        var_got,
        var_updated,
        var_deleted,
        conn_created,
        conn_got,
        conn_updated,
        conn_listed,
        conn_deleted,
    ) = run_batch(
        setup.ctl,
        ("pools", "create", "--name", "ctl_one", "--slots", "2", *j),
        ("pools", "get", "ctl_one", *j),
        ("pools", "update", "--pool", "ctl_one", "--slots", "7", *j),
        ("pools", "list", *j),
        ("pools", "delete", "ctl_one", *j),
        ("variables", "create", "--key", "ctl_one", "--value", "v1", *j),
        ("variables", "get", "ctl_one", *j),
        ("variables", "update", "--key", "ctl_one", "--value", "v2", *j),
        ("variables", "delete", "ctl_one", *j),
        ("connections", "create", *conn, "--host", "one.example", *j),
        ("connections", "get", "ctl_one", *j),
        ("connections", "update", *conn, "--host", "two.example", *j),
        ("connections", "list", *j),
        ("connections", "delete", "ctl_one", *j),
    )
    assert ok(pool_created)[0]["slots"] == "2"
    assert ok(pool_got)[0]["name"] == "ctl_one"
    assert ok(pool_updated)[0]["slots"] == "7"
    api_pools = setup.get("/api/v2/pools")["pools"]
    # listed before the batch deleted it
    assert {p["name"] for p in ok(pool_listed)} == {p["name"] for p in api_pools} | {"ctl_one"}
    assert ok(pool_deleted) == [{"operation": "delete", "entity": "ctl_one"}]
    assert setup.api.call("GET", "/api/v2/pools/ctl_one", token=setup.token)[0] == 404
    assert ok(var_created)[0]["value"] == "v1"
    assert ok(var_got)[0]["value"] == "v1"
    assert ok(var_updated)[0]["value"] == "v2"
    assert ok(var_deleted) == [{"operation": "delete", "entity": "ctl_one"}]
    assert ok(conn_created)[0]["host"] == "one.example"
    assert ok(conn_got)[0]["conn_type"] == "http"
    assert ok(conn_updated)[0]["host"] == "two.example"
    api_conns = setup.get("/api/v2/connections")["connections"]
    listed = {c["connection_id"] for c in ok(conn_listed)}
    assert listed == {c["connection_id"] for c in api_conns} | {"ctl_one"}
    assert ok(conn_deleted) == [{"operation": "delete", "entity": "ctl_one"}]
