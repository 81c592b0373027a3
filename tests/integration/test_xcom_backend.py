"""XComs on real processes with a custom XCom backend (``[core] xcom_backend``): the common-io
provider's ``XComObjectStorageBackend``, unmodified, writes large values to files and stores
their paths; a retry purges what its failed try stored; earlier runs' values are pulled with
``include_prior_dates``. DAGs: tests/dags/xcom_backend/ (their results were recorded under real
Airflow 3.3.2's ``dags test`` with the same settings)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from airlane.queue.keys import xcom_field
from tests.conftest import TEST_DAGS
from tests.integration.cluster import Cluster, RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]

BACKEND = "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"


@pytest.fixture(scope="module")
def nodes(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    work = tmp_path_factory.mktemp("xcom_backend")
    files = work / "xcom_files"
    files.mkdir()
    cluster = Cluster(
        redis_server.url,
        TEST_DAGS / "xcom_backend",
        work,
        AIRFLOW__CORE__XCOM_BACKEND=BACKEND,
        AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH=f"file://{files}",
        AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD="100",
        XCOM_FILES=str(files),
        XCOM_PULLS=str(work / "pulls.jsonl"),
    )
    cluster.start("dag-processor", "dag-processor")
    cluster.start("coordinator", "coordinator")
    cluster.start("worker", "worker", "--concurrency", "4", "--grace", "1")
    cluster.wait_for_dags("xcom_object_storage", "prior_pull", "xcom_class_methods")
    yield cluster
    cluster.stop_all()


def test_large_values_go_to_object_storage_and_a_retry_purges_its_try(nodes: Cluster) -> None:
    run_id = nodes.trigger("xcom_object_storage")
    run = nodes.wait_run("xcom_object_storage", run_id, timeout_s=60)
    assert run["state"] == "success", nodes.describe_run("xcom_object_storage", run_id)
    files = Path(nodes.env["XCOM_FILES"])
    written = [p for p in files.rglob("*") if p.is_file()]
    assert [p.relative_to(files).parts[2] for p in written] == ["produce"]
    client = nodes.redis()
    keys = nodes.keys
    stored = client.hget(
        keys.xcom("xcom_object_storage", run_id, "produce"), xcom_field(-1, "return_value")
    )
    small = client.hget(
        keys.xcom("xcom_object_storage", run_id, "small"), xcom_field(-1, "return_value")
    )
    client.close()
    # the path of the file is what is stored (the REST API shows it, as Airflow's does)
    assert json.loads(str(stored)) == f"file://{written[0]}"
    assert json.loads(str(small)) == "tiny"


def test_earlier_runs_values_are_pulled(nodes: Cluster) -> None:
    first = nodes.trigger("prior_pull", logical_date="2024-03-04T00:00:00+00:00")
    assert nodes.wait_run("prior_pull", first, timeout_s=60)["state"] == "success"
    conf = {"first_run": first}
    second = nodes.trigger("prior_pull", logical_date="2024-03-05T00:00:00+00:00", conf=conf)
    assert nodes.wait_run("prior_pull", second, timeout_s=60)["state"] == "success"
    pulls = Path(nodes.env["XCOM_PULLS"]).read_text().splitlines()
    assert [json.loads(line) for line in pulls] == [
        {"all": "2024-03-04", "newest": "2024-03-04", "first_run": None, "other_dag": None},
        {
            "all": ["2024-03-04", "2024-03-05"],
            "newest": "2024-03-05",
            "first_run": "2024-03-04",
            "other_dag": None,
        },
    ]


def test_the_xcom_class_methods_work_inside_tasks(nodes: Cluster) -> None:
    run_id = nodes.trigger("xcom_class_methods")
    run = nodes.wait_run("xcom_class_methods", run_id, timeout_s=60)
    assert run["state"] == "success", nodes.describe_run("xcom_class_methods", run_id)
