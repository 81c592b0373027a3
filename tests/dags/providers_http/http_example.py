"""HttpOperator and HttpSensor, written as the http provider's documentation shows them: the
``http_default`` connection (AIRFLOW_CONN_HTTP_DEFAULT, set by the test, points at a local
server), POST with a JSON body and a response check, GET with query data, a response filter
whose result is the task's XCom, and a sensor that pokes until its response check passes."""

from __future__ import annotations

import json
from datetime import datetime

from airflow import DAG
from airflow.providers.http.operators.http import HttpOperator
from airflow.providers.http.sensors.http import HttpSensor
from airflow.providers.standard.operators.python import PythonOperator

with DAG(
    dag_id="http_example",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    default_args={"retries": 0},
    tags=["example"],
) as dag:
    task_http_sensor_check = HttpSensor(
        task_id="http_sensor_check",
        http_conn_id="http_default",
        endpoint="ready",
        request_params={},
        response_check=lambda response: "ready" in response.text,
        poke_interval=0.1,
        timeout=30,
    )

    task_post_op = HttpOperator(
        task_id="post_op",
        endpoint="post",
        data=json.dumps({"priority": 5}),
        headers={"Content-Type": "application/json"},
        response_check=lambda response: response.json()["json"]["priority"] == 5,
    )

    task_get_op = HttpOperator(
        task_id="get_op",
        method="GET",
        endpoint="get",
        data={"param1": "value1", "ds": "{{ ds }}"},
        headers={},
    )

    task_get_op_response_filter = HttpOperator(
        task_id="get_op_response_filter",
        method="GET",
        endpoint="nested",
        response_filter=lambda response: response.json()["nested"]["property"],
    )

    task_put_op = HttpOperator(
        task_id="put_op",
        method="PUT",
        endpoint="put",
        data=json.dumps({"priority": 5}),
        headers={"Content-Type": "application/json"},
        response_check=lambda response, ti: ti.task_id == "put_op" and response.ok,
    )

    def check(ti) -> str:
        filtered = ti.xcom_pull(task_ids="get_op_response_filter")
        echoed = json.loads(ti.xcom_pull(task_ids="get_op"))
        if filtered != "value" or echoed["args"]["param1"] != "value1":
            raise ValueError(f"unexpected responses: {filtered!r}, {echoed!r}")
        return f"{filtered} {echoed['args']['ds']}"

    check_responses = PythonOperator(task_id="check_responses", python_callable=check)

    (
        task_http_sensor_check
        >> task_post_op
        >> [task_get_op, task_get_op_response_filter, task_put_op]
        >> check_responses
    )
