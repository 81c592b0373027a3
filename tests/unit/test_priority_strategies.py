"""Custom priority weight strategies (Airflow's ``PriorityWeightStrategy``) registered by a
plugin: ``weight_rule=`` an instance or the class path; the strategy's weight orders the ready
instances sent to workers as the built-in rules do; an unregistered one is refused at load."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airlane.dag_loader import plugins
from airlane.dag_loader.importer import load_dags
from airlane.dag_loader.serialize import serialize_dag
from airlane.engine.graph import DagGraph
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.engine.state_machine import RunMachine
from airlane.sdk.dag import DAG
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.timezone import datetime
from airlane.service.execution.local_runner import run_dag_object

PLUGIN = """
from airflow.plugins_manager import AirflowPlugin
from airflow.task.priority_strategy import PriorityWeightStrategy

RANKS = {"a": 1, "b": 2, "c": 3}


class ByName(PriorityWeightStrategy):
    def get_weight(self, ti):
        assert ti.try_number == 0 and ti.map_index == -1  # as Airflow creates the instance
        return RANKS[ti.task_id] * 10 + ti.task.priority_weight


class NameStrategies(AirflowPlugin):
    name = "name_strategies"
    priority_weight_strategies = [ByName]
"""

DAG_FILE = """
import pathlib
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from name_strategy import ByName

OUT = pathlib.Path(__file__).parent / "order.txt"


def note(name):
    with open(OUT, "a") as f:
        f.write(name + "\\n")


with DAG("weights", schedule=None, max_active_tasks=1) as dag:
    start = EmptyOperator(task_id="start")
    a = PythonOperator(task_id="a", python_callable=note, op_args=["a"], weight_rule=RULE_A)
    b = PythonOperator(task_id="b", python_callable=note, op_args=["b"], weight_rule=RULE_B)
    c = PythonOperator(task_id="c", python_callable=note, op_args=["c"])
    start >> [a, b, c]
"""

CUSTOM = {"RULE_A": "ByName()", "RULE_B": "'name_strategy.ByName'"}
BUILT_IN = {"RULE_A": "'downstream'", "RULE_B": "'absolute'"}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "name_strategy.py").write_text(PLUGIN)
    (tmp_path / "dags").mkdir()
    monkeypatch.setenv(plugins.PLUGINS_FOLDER_ENV, str(tmp_path / "plugins"))
    monkeypatch.setattr(sys, "path", list(sys.path))
    plugins.reset_for_tests()
    yield tmp_path / "dags"
    plugins.reset_for_tests()
    sys.modules.pop("name_strategy", None)


def _dag(folder: Path, rules: dict[str, str]) -> DAG:
    source = DAG_FILE
    for name, value in rules.items():
        source = source.replace(name, value)
    path = folder / "weights.py"
    path.write_text(source)
    dags, errors = load_dags(str(path), str(folder))
    assert errors == []
    return dags[0]


def _queued_after_start(dag: DAG) -> list[str]:
    machine = RunMachine(DagGraph.from_serialized(serialize_dag(dag)))
    machine.start(time.time())
    step = machine.task_finished(
        TIKey("start"), TaskOutcome(TaskInstanceState.SUCCESS, 1), time.time()
    )
    return [key.task_id for key in step.ready]


def test_the_strategy_decides_the_weight_and_the_order(folder: Path) -> None:
    dag = _dag(folder, CUSTOM)
    tasks = {t["task_id"]: t for t in serialize_dag(dag)["tasks"]}
    assert tasks["a"]["priority_weight"] == 11
    assert tasks["b"]["priority_weight"] == 21
    assert tasks["b"]["weight_rule"] == "name_strategy.ByName"
    assert tasks["c"]["weight_rule"] == "downstream"
    assert _queued_after_start(dag) == ["b", "a", "c"]


def test_without_the_strategy_the_built_in_rules_order_them(folder: Path) -> None:
    assert _queued_after_start(_dag(folder, BUILT_IN)) == ["a", "b", "c"]


def test_dags_test_runs_them_in_the_strategys_order(folder: Path) -> None:
    result = run_dag_object(_dag(folder, CUSTOM), logical_date=datetime(2025, 1, 1))
    assert result.state.value == "success"
    assert (folder / "order.txt").read_text().split() == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"RULE_A": "'name_strategy.Missing'"}, "Unknown priority strategy name_strategy.Missing"),
        ({"RULE_A": "'sideways'"}, "weight_rule must be one of"),
    ],
)
def test_an_unknown_strategy_is_refused_at_load(
    folder: Path, rules: dict[str, str], message: str
) -> None:
    source = DAG_FILE.replace("RULE_B", "'absolute'")
    for name, value in rules.items():
        source = source.replace(name, value)
    (folder / "weights.py").write_text(source)
    _, errors = load_dags(str(folder / "weights.py"), str(folder))
    assert len(errors) == 1
    assert message in errors[0].message


def test_an_instance_of_an_unregistered_class_is_refused(folder: Path) -> None:
    source = DAG_FILE.replace("RULE_B", "'absolute'").replace("RULE_A", "Local()")
    source = source.replace(
        "with DAG(",
        "from airflow.task.priority_strategy import PriorityWeightStrategy\n"
        "class Local(PriorityWeightStrategy):\n    def get_weight(self, ti):\n        return 1\n\n"
        "with DAG(",
    )
    (folder / "weights.py").write_text(source)
    _, errors = load_dags(str(folder / "weights.py"), str(folder))
    assert len(errors) == 1
    assert "Unknown priority strategy " in errors[0].message
    assert errors[0].message.endswith("weights.Local")
