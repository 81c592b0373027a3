"""Two DAGs tied by ExternalTaskSensor and ExternalTaskMarker (tests/integration/
test_external_task.py): ``ext_child`` waits for ``work`` of ``ext_parent`` at its own logical
date (and for that whole run); ``ext_parent``'s marker clears ``ext_child``'s sensor when ``work`` is cleared with its
downstream. ``work`` exits with ``conf["code"]`` (0 by default)."""

from __future__ import annotations

from airflow import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.sensors.external_task import (
    ExternalTaskMarker,
    ExternalTaskSensor,
)

with DAG("ext_parent", schedule=None) as parent:
    work = BashOperator(task_id="work", bash_command="exit {{ dag_run.conf.get('code', 0) }}")
    marker = ExternalTaskMarker(
        task_id="marker", external_dag_id="ext_child", external_task_id="wait_work"
    )
    work >> marker

with DAG("ext_child", schedule=None) as child:
    wait_work = ExternalTaskSensor(
        task_id="wait_work",
        external_dag_id="ext_parent",
        external_task_id="work",
        failed_states=["failed"],
        poke_interval=0.2,
        timeout=120,
    )
    # the whole run, in reschedule mode (the slot is given back between pokes)
    wait_run = ExternalTaskSensor(
        task_id="wait_run",
        external_dag_id="ext_parent",
        failed_states=["failed"],
        mode="reschedule",
        poke_interval=0.2,
        timeout=120,
    )
    after = BashOperator(task_id="after", bash_command="echo after")
    [wait_work, wait_run] >> after
