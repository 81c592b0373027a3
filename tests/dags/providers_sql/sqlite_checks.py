"""common-sql's check operators and BranchSQLOperator on SQLite, as the provider's documentation
shows them. The connection comes from AIRFLOW_CONN_SQLITE_DEFAULT (set by the test)."""

from __future__ import annotations

import datetime

from airflow import DAG
from airflow.providers.common.sql.operators.sql import (
    BranchSQLOperator,
    SQLCheckOperator,
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
    SQLTableCheckOperator,
    SQLThresholdCheckOperator,
    SQLValueCheckOperator,
)
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG(
    dag_id="sqlite_checks",
    start_date=datetime.datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    default_args={"conn_id": "sqlite_default"},
) as dag:
    load = SQLExecuteQueryOperator(
        task_id="load",
        sql=[
            "DROP TABLE IF EXISTS orders",
            "CREATE TABLE orders (id INTEGER, amount INTEGER)",
            "INSERT INTO orders VALUES (1, 10), (2, 20), (3, 30)",
        ],
    )
    row_count = SQLCheckOperator(task_id="row_count", sql="SELECT count(*) FROM orders")
    value = SQLValueCheckOperator(
        task_id="value", sql="SELECT sum(amount) FROM orders", pass_value=60, tolerance=0.1
    )
    columns = SQLColumnCheckOperator(
        task_id="columns",
        table="orders",
        column_mapping={
            "id": {"null_check": {"equal_to": 0}, "unique_check": {"equal_to": 0}},
            "amount": {"min": {"geq_to": 10}, "max": {"less_than": 31}},
        },
    )
    table = SQLTableCheckOperator(
        task_id="table",
        table="orders",
        checks={"row_count_check": {"check_statement": "COUNT(*) = 3"}},
    )
    threshold = SQLThresholdCheckOperator(
        task_id="threshold", sql="SELECT max(amount) FROM orders", min_threshold=1, max_threshold=30
    )
    branch = BranchSQLOperator(
        task_id="branch",
        sql="SELECT count(*) > 2 FROM orders",
        follow_task_ids_if_true=["many_orders"],
        follow_task_ids_if_false=["few_orders"],
    )
    many_orders = EmptyOperator(task_id="many_orders")
    few_orders = EmptyOperator(task_id="few_orders")
    load >> [row_count, value, columns, table, threshold, branch]
    branch >> [many_orders, few_orders]
