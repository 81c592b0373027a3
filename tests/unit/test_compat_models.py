"""``airflow.models.dagrun.DagRun`` and ``airflow.models.taskinstance.TaskInstance`` (Airflow 2's
example_params_ui_tutorial imports them for type hints) and ``ti.dag_run``."""

from __future__ import annotations

from typing import Any

import pytest

from airlane import DAG
from airlane.dag_loader import airflow_compat
from airlane.sdk.decorators import task
from airlane.sdk.exceptions import AirflowException, AirflowSkipException


def test_the_objects_a_task_sees_are_airflows_dagrun_and_taskinstance() -> None:
    airflow_compat.install()
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance

    seen: dict[str, Any] = {}
    with DAG("models_seen", schedule=None) as dag:

        @task
        def show(**kwargs: Any) -> None:
            ti = kwargs["ti"]
            seen["ti"] = isinstance(ti, TaskInstance)
            seen["run"] = isinstance(ti.dag_run, DagRun)
            seen["same"] = ti.dag_run is kwargs["dag_run"]
            if not ti.dag_run.conf:
                raise AirflowSkipException("No DagRun.conf parameters supplied.")

        show()
    result = dag.test()
    assert seen == {"ti": True, "run": True, "same": True}
    assert result.tasks["show"]["state"] == "skipped"


def test_building_one_is_refused_with_the_reason() -> None:
    airflow_compat.install()
    from airflow.models.dagrun import DagRun

    with pytest.raises(AirflowException, match="no database in Airlane"):
        DagRun()


def test_an_empty_operator_subclass_with_its_own_execute_runs_it() -> None:
    from airlane import EmptyOperator

    class EmptySkipOperator(EmptyOperator):
        def execute(self, context: Any) -> None:
            raise AirflowSkipException

    class Plain(EmptyOperator):
        pass

    assert EmptyOperator.is_empty
    assert Plain.is_empty
    assert not EmptySkipOperator.is_empty
    with DAG("empty_subclass", schedule=None) as dag:
        EmptySkipOperator(task_id="skip_me") >> Plain(task_id="after")
    result = dag.test()
    assert result.tasks["skip_me"]["state"] == "skipped"
    assert result.tasks["after"]["state"] == "skipped"


def test_dag_test_gives_the_run_its_run_after_and_refuses_unknown_keywords() -> None:
    import pendulum
    import pytest

    seen: dict[str, Any] = {}
    with DAG("run_after_seen", schedule=None) as dag:

        @task
        def show(dag_run: Any = None) -> None:
            seen["run_after"] = dag_run.run_after

        show()
    when = pendulum.datetime(2026, 5, 1, 12, tz="UTC")
    dag.test(logical_date=pendulum.datetime(2026, 5, 1, tz="UTC"), run_after=when)
    assert seen["run_after"] == when
    with pytest.raises(TypeError):
        dag.test(run_afterr=when)  # type: ignore[call-arg]
