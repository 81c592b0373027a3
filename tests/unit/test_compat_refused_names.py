"""An Airflow 3.3 name Airlane does not have is an import error naming the file and line and
saying why (partitioned assets), not Python's bare "cannot import name"."""

from __future__ import annotations

from pathlib import Path

from airlane.dag_loader import airflow_compat
from airlane.dag_loader.importer import load_dags


def test_a_partitioned_asset_name_is_refused_with_its_reason(tmp_path: Path) -> None:
    airflow_compat.install()
    path = tmp_path / "partitioned.py"
    path.write_text(
        "from airflow.sdk import DAG\n"
        "from airflow.sdk import PartitionedAssetTimetable\n"
        "with DAG('p', schedule=None):\n"
        "    pass\n"
    )
    dags, errors = load_dags(str(path), str(tmp_path))
    assert dags == []
    (error,) = errors
    assert error.lineno == 2
    assert "Airflow 3.3's partitioned assets, which Airlane does not have" in error.message
