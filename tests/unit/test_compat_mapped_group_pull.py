"""An explicit ``ti.xcom_pull(task_ids="group.task")`` inside a mapped task group, from one map
index's own context, returns every index's value in a list, as Airflow 3.1.8 does (recorded
with ``scripts/compat/record_dag_file.py``: ``[2, 4, 6]`` at each index of a 3-wide group);
``map_indexes=ti.map_index`` gives the index's own value."""

from __future__ import annotations

import json
from pathlib import Path

from airlane.dag_loader.importer import load_dags
from airlane.sdk.timezone import datetime
from airlane.service.execution.local_runner import run_dag_object

DAG_FILE = """
import json, pathlib
import pendulum
from airflow.sdk import DAG, task, task_group

OUT = pathlib.Path(__file__).parent

# one instance at a time: every double ends before a read starts, as in Airflow's dags test
with DAG("mapped_group_pull", schedule=None, start_date=pendulum.datetime(2024, 1, 1),
         max_active_tasks=1) as dag:

    @task_group
    def group(x):
        @task
        def double(x):
            return x * 2

        @task
        def read(y, ti=None):
            seen = {"own": y, "explicit": ti.xcom_pull(task_ids="group.double"),
                    "one": ti.xcom_pull(task_ids="group.double", map_indexes=ti.map_index)}
            (OUT / f"read_{ti.map_index}.json").write_text(json.dumps(seen))

        read(double(x))

    group.expand(x=[1, 2, 3])
"""


def test_an_explicit_pull_in_a_mapped_group_returns_every_index(tmp_path: Path) -> None:
    (tmp_path / "pull.py").write_text(DAG_FILE)
    dags, errors = load_dags(str(tmp_path / "pull.py"), str(tmp_path))
    assert errors == []
    result = run_dag_object(dags[0], logical_date=datetime(2025, 1, 1), sink=lambda *_: None)
    assert result.state.value == "success"
    for index, own in enumerate([2, 4, 6]):
        seen = json.loads((tmp_path / f"read_{index}.json").read_text())
        assert seen == {"own": own, "explicit": [2, 4, 6], "one": own}
