"""A virtualenv task importing a package that only its venv has (issue 15), written with
Airflow's import paths: under ``airlane dags test`` and on real workers. The package is a
project made in tmp_path, installed offline; the worker's environment never sees it."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.integration.cluster import Cluster, RedisServer
from tests.venv_packages import make_local_project

pytestmark = pytest.mark.timeout(120)
PACKAGE = "airlane_worker_lacks_this"
DAG_ID = "venv_only_package"
KEY = "return_value"
DAG_FILE = """
import pendulum

from airflow.providers.standard.operators.python import PythonVirtualenvOperator
from airflow.sdk import DAG, task


def read_value(offset):
    import {package}

    return {package}.VALUE + offset


with DAG("{dag_id}", schedule=None, start_date=pendulum.datetime(2025, 1, 1, tz="UTC")):
    in_venv = PythonVirtualenvOperator(
        task_id="in_venv",
        python_callable=read_value,
        op_kwargs={{"offset": 1}},
        requirements=[{project!r}],
        pip_install_options=["--no-index"],
        system_site_packages=False,
    )

    @task
    def in_worker(value):
        try:
            import {package}  # noqa: F401
        except ImportError:
            return value
        raise AssertionError("the worker sees the venv's package")

    in_worker(in_venv.output)
"""


@pytest.fixture
def dags_folder(tmp_path: Path) -> Path:
    assert importlib.util.find_spec(PACKAGE) is None
    project = make_local_project(tmp_path / "project", PACKAGE, "VALUE = 42\n")
    folder = tmp_path / "dags"
    folder.mkdir()
    source = DAG_FILE.format(package=PACKAGE, dag_id=DAG_ID, project=str(project))
    (folder / "venv_only_package.py").write_text(source)
    return folder


def test_dags_test_runs_the_venv_task(dags_folder: Path, tmp_path: Path) -> None:
    env = {"AIRLANE_VENV_CACHE_DIR": str(tmp_path / "venvs")}
    result = run_cli("dags", "test", DAG_ID, "--dags-folder", str(dags_folder), "--json", env=env)
    assert result.code == 0, result.stderr[-3000:]
    states = {task: info["state"] for task, info in result.json()["tasks"].items()}
    assert states == {"in_venv": "success", "in_worker": "success"}
    assert "[in_worker] Done. Returned value was: 43" in result.stderr
    assert list((tmp_path / "venvs").glob("venv-*/install_complete_marker.json"))


@pytest.fixture
def nodes(clean_redis: RedisServer, dags_folder: Path, tmp_path: Path) -> Iterator[Cluster]:
    cache = str(tmp_path / "venvs")
    cluster = Cluster(clean_redis.url, dags_folder, tmp_path, AIRLANE_VENV_CACHE_DIR=cache)
    cluster.start_all(workers=1)
    yield cluster
    cluster.stop_all()


def test_real_workers_run_the_venv_task(nodes: Cluster) -> None:
    nodes.wait_for_dags(DAG_ID)
    run_id = nodes.trigger(DAG_ID)
    summary = nodes.wait_run(DAG_ID, run_id, timeout_s=90)
    states = {task: info["state"] for task, info in summary["tasks"].items()}
    assert states == {"in_venv": "success", "in_worker": "success"}, nodes.logs("worker0")
    for task_id in ("in_venv", "in_worker"):
        assert nodes.call(lambda store, t=task_id: store.xcom(DAG_ID, run_id, t, -1, KEY)) == 43
