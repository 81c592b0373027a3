"""Three questions in a row: a form, an approval (only alice may answer) and a branch."""

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import (
    ApprovalOperator,
    HITLBranchOperator,
    HITLEntryOperator,
)
from airflow.sdk import DAG, Param

with DAG("hitl_flow", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    entry = HITLEntryOperator(
        task_id="entry", subject="Your name?", params={"name": Param("x", type="string")}
    )
    gate = ApprovalOperator(
        task_id="gate",
        subject="Ship it, {{ ti.xcom_pull(task_ids='entry')['params_input']['name'] }}?",
        assigned_users={"id": "alice", "name": "Alice"},
    )
    pick = HITLBranchOperator(task_id="pick", subject="Which way?", options=["left", "right"])
    entry >> gate >> pick >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]
