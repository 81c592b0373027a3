"""``dags test`` of a file written for Airflow 2 (its imports tell) creates a manual run that is
not externally triggered, as Airflow 2's does: its LatestOnlyOperator then checks the window
(Airflow 2.5 and 2.10 skip ``task1`` of example_latest_only at an old logical date), while in a
file written for Airflow 3 it proceeds, as in every manual run."""

from __future__ import annotations

from pathlib import Path

import pytest

from airlane.dag_loader.generation import written_for_airflow_2
from airlane.dag_loader.importer import load_dags
from airlane.sdk.timezone import datetime
from airlane.service.execution.local_runner import run_dag_object

BODY = """
import datetime as dt
import pendulum
{imports}

with DAG("latest_only", schedule=dt.timedelta(hours=4),
         start_date=pendulum.datetime(2021, 1, 1, tz="UTC")) as dag:
    LatestOnlyOperator(task_id="latest_only") >> EmptyOperator(task_id="task1")
"""
AIRFLOW_2 = """
from airflow.models.dag import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.latest_only import LatestOnlyOperator
"""
AIRFLOW_3 = """
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.sdk import DAG
"""


def _run(tmp_path: Path, imports: str) -> dict[str, str]:
    path = tmp_path / "latest.py"
    path.write_text(BODY.format(imports=imports))
    dags, errors = load_dags(str(path), str(tmp_path))
    assert not errors
    result = run_dag_object(dags[0], logical_date=datetime(2025, 1, 1), sink=lambda *_: None)
    return {label: info["state"] for label, info in result.tasks.items()}


def test_an_airflow_2_file_skips_in_dags_test_of_an_old_date(tmp_path: Path) -> None:
    assert _run(tmp_path, AIRFLOW_2) == {"latest_only": "success", "task1": "skipped"}


def test_an_airflow_3_file_proceeds(tmp_path: Path) -> None:
    assert _run(tmp_path, AIRFLOW_3) == {"latest_only": "success", "task1": "success"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (AIRFLOW_2, True),
        (AIRFLOW_3, False),
        (AIRFLOW_2 + AIRFLOW_3, False),
        ("from airflow import DAG\n", False),
        ("import airflow.sensors.time_delta\n", True),
    ],
)
def test_the_guess_from_imports(source: str, expected: bool) -> None:
    assert written_for_airflow_2(source) is expected
