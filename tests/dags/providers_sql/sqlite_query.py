"""SQLExecuteQueryOperator on SQLite, written as the common-sql provider's documentation shows:
templated queries, a query read from a ``.sql`` file, parameters, and the result as an XCom.
The connection comes from AIRFLOW_CONN_SQLITE_DEFAULT (set by the test)."""

from __future__ import annotations

import datetime

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

with DAG(
    dag_id="sqlite_query",
    start_date=datetime.datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    template_searchpath=["sql"],
    params={"rows": 3},
) as dag:
    create_table = SQLExecuteQueryOperator(
        task_id="create_table",
        conn_id="sqlite_default",
        sql="sql/create_table.sql",
    )
    insert_rows = SQLExecuteQueryOperator(
        task_id="insert_rows",
        conn_id="sqlite_default",
        sql=[
            "INSERT INTO visits (ds, n) VALUES ('{{ ds }}', {{ params.rows }})",
            "INSERT INTO visits (ds, n) VALUES (?, ?)",
        ],
        parameters=("2024-01-02", 5),
    )
    select_rows = SQLExecuteQueryOperator(
        task_id="select_rows",
        conn_id="sqlite_default",
        sql="SELECT ds, n FROM visits WHERE ds >= '{{ ds }}' ORDER BY ds",
    )
    create_table >> insert_rows >> select_rows
