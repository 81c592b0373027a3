"""An explicit ``ti.xcom_pull(task_ids=...)`` of a mapped task, or of a task in a mapped task
group, without ``map_indexes``: every index's value in a list, also from one map index's own
context, as Airflow 3.1.8 does (recorded with ``scripts/compat/record_dag_file.py``: ``[2, 4, 6]``
at each index of a 3-wide group); but one value alone when there is just one (Airflow 3.1.8
recorded ``15`` in a 1-wide group: its task SDK returns ``xcoms[0]`` when ``len(xcoms) == 1``),
while Airflow 2 returns its lazy sequence of one. XComArgs still resolve to a list (a
downstream task reducing a 1-wide mapped task gets ``[7]``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airlane.dag_loader.importer import load_dags
from airlane.sdk.timezone import datetime
from airlane.service.execution.local_runner import run_dag_object

AIRFLOW_3 = "from airflow.sdk import DAG, task, task_group"
AIRFLOW_2 = "from airflow.decorators import task, task_group\nfrom airflow.models.dag import DAG"

DAG_FILE = """
import json, pathlib
import pendulum
IMPORTS

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

    @task_group
    def single(x):
        @task
        def triple(x):
            return x * 3

        @task
        def read_single(y, ti=None):
            seen = {"own": y, "explicit": ti.xcom_pull(task_ids="single.triple")}
            (OUT / "read_single.json").write_text(json.dumps(seen))

        read_single(triple(x))

    single.expand(x=[5])

    @task
    def seven(x):
        return x * 7

    @task
    def total(values):
        (OUT / "total.json").write_text(json.dumps(list(values)))

    total(seven.expand(x=[1]))
"""


def _run(tmp_path: Path, imports: str) -> None:
    (tmp_path / "pull.py").write_text(DAG_FILE.replace("IMPORTS", imports))
    dags, errors = load_dags(str(tmp_path / "pull.py"), str(tmp_path))
    assert errors == []
    result = run_dag_object(dags[0], logical_date=datetime(2025, 1, 1), sink=lambda *_: None)
    assert result.state.value == "success"


def _seen(tmp_path: Path, name: str) -> object:
    return json.loads((tmp_path / f"{name}.json").read_text())


@pytest.mark.parametrize(("imports", "single"), [(AIRFLOW_3, 15), (AIRFLOW_2, [15])])
def test_an_explicit_pull_in_a_mapped_group(tmp_path: Path, imports: str, single: object) -> None:
    _run(tmp_path, imports)
    for index, own in enumerate([2, 4, 6]):
        assert _seen(tmp_path, f"read_{index}") == {"own": own, "explicit": [2, 4, 6], "one": own}
    assert _seen(tmp_path, "read_single") == {"own": 15, "explicit": single}
    assert _seen(tmp_path, "total") == [7]
