"""SQLExecuteQueryOperator on SQLite, written as the common-sql provider's documentation shows:
templated queries, a query read from a ``.sql`` file, parameters, and the result as an XCom.
``@task.sql`` builds a query in Python. The connection comes from AIRFLOW_CONN_SQLITE_DEFAULT
(set by the test); run it with the logical date 2024-03-01."""

from __future__ import annotations

import datetime

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import task

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
    insert_templated = SQLExecuteQueryOperator(
        task_id="insert_templated",
        conn_id="sqlite_default",
        sql="INSERT INTO visits (ds, n) VALUES ('{{ ds }}', {{ params.rows }})",
    )
    insert_parameters = SQLExecuteQueryOperator(
        task_id="insert_parameters",
        conn_id="sqlite_default",
        sql="INSERT INTO visits (ds, n) VALUES (?, ?)",
        parameters=("{{ ds }}", 5),
    )
    select_rows = SQLExecuteQueryOperator(
        task_id="select_rows",
        conn_id="sqlite_default",
        sql="SELECT ds, n FROM visits WHERE ds >= '{{ ds }}' ORDER BY ds",
    )

    @task.sql(conn_id="sqlite_default")
    def total_for_day(ds=None):
        return f"SELECT sum(n) FROM visits WHERE ds = '{ds}'"

    @task
    def check(rows: list, total: list) -> None:
        assert [list(row) for row in rows] == [["2024-03-01", 3], ["2024-03-01", 5]], rows
        assert [list(row) for row in total] == [[8]], total
        print(f"checked: {rows} {total}")

    total = total_for_day()
    create_table >> insert_templated >> insert_parameters >> [select_rows, total]
    check(select_rows.output, total)
