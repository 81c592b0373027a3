"""schemathesis with all of its checks against /api/v2/openapi.json, as its command line runs
them (examples, coverage, fuzzing and stateful phases): no 5xx, every response fits the
document, schema-valid requests are accepted, schema-violating ones refused, ``Allow`` lists
exactly the documented methods."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster

pytestmark = pytest.mark.timeout(600)

_EXPECTED = '"2xx", "401", "403", "404", "409", "429", "5xx"'
#: Operations that refuse some schema-valid requests for reasons a JSON schema cannot state,
#: with Airflow's own status for each: the default pool cannot be deleted (400), a pool cannot
#: be renamed here (400), a variable's key in the body must be the path's (400); a run's data
#: interval needs both ends in order and its id Airflow's characters (422); a backfill needs a
#: DAG with a schedule and dates in order (422); cleared task ids must be the DAG's (422); a
#: task instance's note is refused (Airlane keeps no task instance notes; 422), and so is
#: clearing a running one with prevent_running_task (409); a
#: connection's extra must be a JSON object's text (422); the CLI's sign-in refuses an empty
#: username or password (400).
_ALSO_REFUSED: dict[str, str | tuple[str, ...]] = {
    **{
        f"patch_task_instance{dry}{mapped}": "422"
        for dry in ("", "_dry_run")
        for mapped in ("", "_by_map_index")
    },
    "delete_pool": "400",
    "patch_pool": "400",
    "patch_variable": "400",
    # the body's connection_id must be the path's (Airflow's 400); its extra a JSON object (422)
    "patch_connection": ("400", "422"),
    "post_connection": "422",
    "bulk_connections": "422",
    "trigger_dag_run": ("400", "422"),  # (400: a partition_key, Airflow's answer here)
    "create_backfill": "422",
    "create_backfill_dry_run": "422",
    "post_clear_task_instances": ("409", "422"),
    # only_new with only_failed (Airflow's 422), only_new on a run of an older version
    "clear_dag_run": "422",
    # an order_by the listing cannot sort by (a string in the schema, as Airflow's: 400)
    # (and dag_ids or dag_run_ids beside a path that is not ~: 422)
    "get_task_instances_batch": ("400", "422"),
    # a cursor not of this listing, more than ten order_by fields, a run id under ~ (400s,
    # Airflow's); a task group the DAG has not (Airflow's 404)
    "get_task_instances": "400",
    # partition_date_* (Airlane has no partitioned timetables: Airflow's 400), a cursor or
    # more than ten order_by fields (400s)
    "get_dag_runs": "400",
    # Airlane has no external log system (Airflow's 400 then)
    "get_external_log_url": "400",
    # an update_mask other than is_paused; an order_by the batch cannot sort by (400s)
    "patch_dags": "400",
    "patch_dag": "400",
    "get_list_dag_runs_batch": "400",
    # a note (422, as for one instance)
    "patch_task_group_instances": "422",
    "patch_task_group_instances_dry_run": "422",
    "bulk_task_instances": "422",
    # not exactly one way of choosing runs (Airflow's 422), a run's DAG not the path's (400)
    "clear_dag_runs": ("400", "422"),
    "clear_dag_run_partitions": "422",
    # Airlane does not delete an instance out of its run (405)
    "delete_task_instance": "405",
    "create_token_cli": "400",  # an empty username or password (Airflow 3.1's 400)
}
CONFIG = "\n".join(
    f'[[operations]]\ninclude-operation-id = "{operation}"\n'
    f"checks.positive_data_acceptance.expected-statuses = [{_EXPECTED}, "
    + ", ".join(f'"{s}"' for s in ((status,) if isinstance(status, str) else status))
    + "]\n"
    for operation, status in _ALSO_REFUSED.items()
)
#: Logging out (or revoking all of alice's tokens) would end the session the run uses; both
#: have their own tests in test_api_tokens.py. Waiting for a run answers when the run ends,
#: and no run ends here (no worker): test_api_wait.py.
EXCLUDED = ("logout", "revoke_user_tokens", "wait_dag_run_until_finished")


@pytest.fixture(scope="module")
def schema_api(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Api, str]]:
    work = tmp_path_factory.mktemp("api-schema")
    shutil.copytree(TEST_DAGS / "api", work / "dags")
    with api_cluster(redis_server, work, work / "dags", workers=0) as api:
        api.cluster.wait_for_dags("api_flaky", "api_chain")
        token = api.token()
        # A run and a pool and a variable to find, so that not every generated request is a 404.
        api.call("POST", "/api/v2/dags/api_flaky/dagRuns", {"dag_run_id": "known"}, token=token)
        api.call("POST", "/api/v2/pools", {"name": "known", "slots": 2}, token=token)
        api.call("POST", "/api/v2/variables", {"key": "known", "value": "v"}, token=token)
        known = {"connection_id": "known", "conn_type": "http", "password": "known-pw"}
        api.call("POST", "/api/v2/connections", known, token=token)
        yield api, token


def test_every_operation_passes_every_check(schema_api: tuple[Api, str], tmp_path: Path) -> None:
    api, token = schema_api
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run"),
        f"{api.url}/api/v2/openapi.json",
        *("-H", f"Authorization: Bearer {token}"),
        *("--checks", "all", "--max-examples", "12", "--seed", "1"),
        *(arg for operation in EXCLUDED for arg in ("--exclude-operation-id", operation)),
        *("--no-color", "--warnings", "off", "--generation-database", "none"),
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=540)
    output = done.stdout + done.stderr
    assert "Tested: " in output, output[-5000:]
    assert done.returncode == 0, output[-20000:]
