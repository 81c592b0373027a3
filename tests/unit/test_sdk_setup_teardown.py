"""Authoring setup and teardown tasks: marking, decorators, context managers, serialization.

The edges expected of the context managers are those Airflow 3.1.8 builds for the same code
(compared task by task with Airflow's DagBag).
"""

from __future__ import annotations

import pytest

from airlane import DAG, EmptyOperator, PythonOperator, setup, task, task_group, teardown
from airlane.dag_loader import airflow_compat
from airlane.dag_loader.serialize import serialize_dag
from airlane.dag_loader.validate import validate_dag
from airlane.sdk import setup_teardown
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.trigger_rule import TriggerRule


def edges(dag: DAG) -> dict[str, list[str]]:
    return {t: sorted(n.downstream_task_ids) for t, n in sorted(dag.task_dict.items())}


def test_as_setup_and_as_teardown_on_operators() -> None:
    with DAG("d", schedule=None) as dag:
        s = EmptyOperator(task_id="s")
        t = EmptyOperator(task_id="t")
        assert s.as_setup() is s
        assert t.as_teardown(setups=s, on_failure_fail_dagrun=True) is t
    assert s.is_setup
    assert not s.is_teardown
    assert t.is_teardown
    assert t.on_failure_fail_dagrun
    assert t.trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert edges(dag) == {"s": ["t"], "t": []}


def test_as_teardown_on_xcom_args_marks_their_tasks() -> None:
    @task
    def make() -> int:
        return 1

    @task
    def drop(x: int) -> None:
        pass

    with DAG("d", schedule=None) as dag:
        made = make()
        dropped = drop(2).as_teardown(setups=made, on_failure_fail_dagrun=True)
    assert made.is_setup
    assert made.operator.is_setup
    assert dropped.is_teardown
    assert dropped.on_failure_fail_dagrun
    assert dropped.operator.trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert edges(dag) == {"drop": [], "make": ["drop"]}
    assert made.as_setup() is made


def test_a_task_is_not_both_and_only_teardowns_fail_the_run() -> None:
    with DAG("d", schedule=None):
        s = EmptyOperator(task_id="s").as_setup()
        plain = EmptyOperator(task_id="plain")
    with pytest.raises(ValueError, match="already a setup"):
        s.as_teardown()
    with pytest.raises(ValueError, match="not a teardown task"):
        plain.on_failure_fail_dagrun = True
    with pytest.raises(RuntimeError, match="Only setup/teardown tasks"), plain:
        pass


def test_decorators_set_the_role_and_the_teardown_rule() -> None:
    @setup
    def make() -> str:
        return "c"

    @teardown(on_failure_fail_dagrun=True)
    def drop(c: str) -> None:
        pass

    @teardown
    def tidy() -> None:
        pass

    with DAG("d", schedule=None) as dag:
        c = make()
        drop(c)
        tidy.override(task_id="tidy_up")()
    tasks = dag.task_dict
    assert tasks["make"].is_setup
    assert tasks["drop"].is_teardown
    assert tasks["drop"].on_failure_fail_dagrun
    assert tasks["tidy_up"].is_teardown
    assert not tasks["tidy_up"].on_failure_fail_dagrun
    assert tasks["drop"].trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    with (
        pytest.raises(ValueError, match="Trigger rule not configurable"),
        DAG("e", schedule=None),
    ):
        tidy.override(trigger_rule="all_success")()


def test_task_groups_cannot_be_setups() -> None:
    @task_group
    def group() -> None:
        pass

    with pytest.raises(AirflowException, match="Task groups cannot be marked"):
        setup(group)


def test_mapped_teardown_keeps_its_role() -> None:
    @teardown
    def drop(x: int) -> None:
        pass

    with DAG("d", schedule=None) as dag:
        drop.expand(x=[1, 2])
    (data,) = serialize_dag(dag)["tasks"]
    assert data["is_teardown"]
    assert data["trigger_rule"] == "all_done_setup_success"


def test_setup_and_teardown_context_wires_the_work_inside() -> None:
    with DAG("d", schedule=None) as dag:
        s = EmptyOperator(task_id="s").as_setup()
        t = EmptyOperator(task_id="t").as_teardown(setups=s)
        with s >> t:
            a = EmptyOperator(task_id="a")
            a >> EmptyOperator(task_id="b")
            EmptyOperator(task_id="c")
    assert edges(dag) == {"a": ["b"], "b": ["t"], "c": ["t"], "s": ["a", "c", "t"], "t": []}


def test_nested_contexts_chain_the_setups_and_the_teardowns() -> None:
    with DAG("d", schedule=None) as dag:
        s1, s2 = EmptyOperator(task_id="s1").as_setup(), EmptyOperator(task_id="s2").as_setup()
        t1, t2 = EmptyOperator(task_id="t1"), EmptyOperator(task_id="t2")
        t1.as_teardown(setups=s1)
        t2.as_teardown(setups=s2)
        with s1 >> t1:
            EmptyOperator(task_id="w1")
            with s2 >> t2:
                w2 = EmptyOperator(task_id="w2")
                w2 >> EmptyOperator(task_id="w3")
            # as in Airflow, leaving the inner block stops the recording
            EmptyOperator(task_id="w4")
    assert edges(dag) == {
        "s1": ["s2", "t1", "w1"],
        "s2": ["t2", "w2"],
        "t1": [],
        "t2": ["t1"],
        "w1": ["t1"],
        "w2": ["w3"],
        "w3": ["t2"],
        "w4": [],
    }


def test_a_setup_context_finds_its_teardown_downstream() -> None:
    with DAG("d", schedule=None) as dag:
        s = EmptyOperator(task_id="s").as_setup()
        t = EmptyOperator(task_id="t").as_teardown()
        s >> EmptyOperator(task_id="x") >> t
        with s:
            EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    assert edges(dag) == {"a": ["b"], "b": ["t"], "s": ["a", "x"], "t": [], "x": ["t"]}


def test_taskflow_teardown_context_with_xcom_args() -> None:
    @setup
    def mk() -> int:
        return 1

    @teardown
    def rm(x: int) -> None:
        pass

    @task
    def use(x: int) -> None:
        pass

    with DAG("d", schedule=None) as dag:
        m = mk()
        with rm(m):
            use(m)
            use.override(task_id="use2")(2)
    assert edges(dag) == {"mk": ["rm", "use", "use2"], "rm": [], "use": ["rm"], "use2": ["rm"]}


def test_setups_must_be_followed_by_all_success_tasks() -> None:
    with DAG("d", schedule=None) as dag:
        s = EmptyOperator(task_id="s").as_setup()
        s >> EmptyOperator(task_id="w", trigger_rule="all_done")
    with pytest.raises(AirflowException, match="followed with trigger rule ALL_SUCCESS"):
        validate_dag(dag)


def test_serialized_tasks_carry_the_roles() -> None:
    with DAG("d", schedule=None) as dag:
        s = PythonOperator(task_id="s", python_callable=lambda: None).as_setup()
        EmptyOperator(task_id="t").as_teardown(setups=s, on_failure_fail_dagrun=True)
    by_id = {t["task_id"]: t for t in serialize_dag(dag)["tasks"]}
    assert (by_id["s"]["is_setup"], by_id["s"]["is_teardown"]) == (True, False)
    assert by_id["t"]["is_teardown"]
    assert by_id["t"]["on_failure_fail_dagrun"]
    assert by_id["t"]["trigger_rule"] == "all_done_setup_success"


def test_airflow_import_paths() -> None:
    airflow_compat.install()
    from airflow.decorators import setup as setup2
    from airflow.decorators import teardown as teardown2
    from airflow.sdk import setup as setup3
    from airflow.sdk import teardown as teardown3

    assert setup2 is setup3 is setup
    assert teardown2 is teardown3 is teardown


def test_a_list_mixing_setups_and_teardowns_is_refused() -> None:
    with DAG("d", schedule=None):
        s = EmptyOperator(task_id="s").as_setup()
        t = EmptyOperator(task_id="t").as_teardown()
        plain = EmptyOperator(task_id="plain")
    with pytest.raises(ValueError, match="either setup or teardown"):
        setup_teardown.enter([s, t])
    with pytest.raises(AirflowException, match="Only setup/teardown"), plain.output:
        pass
