"""SQLExecuteQueryOperator on PostgreSQL and PostgresHook from a Python task, written as the
postgres provider's documentation shows (its ``example_postgres`` DAG). The connection comes
from AIRFLOW_CONN_POSTGRES_DEFAULT (set by the test)."""

from __future__ import annotations

import datetime

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.sdk import DAG, task

with DAG(
    dag_id="postgres_pets",
    start_date=datetime.datetime(2020, 2, 2),
    schedule="@once",
    catchup=False,
) as dag:
    create_pet_table = SQLExecuteQueryOperator(
        task_id="create_pet_table",
        conn_id="postgres_default",
        sql="""
            CREATE TABLE IF NOT EXISTS pet (
            pet_id SERIAL PRIMARY KEY,
            name VARCHAR NOT NULL,
            pet_type VARCHAR NOT NULL,
            birth_date DATE NOT NULL,
            OWNER VARCHAR NOT NULL);
          """,
    )
    populate_pet_table = SQLExecuteQueryOperator(
        task_id="populate_pet_table",
        conn_id="postgres_default",
        sql="""
            INSERT INTO pet (name, pet_type, birth_date, OWNER)
            VALUES ( 'Max', 'Dog', '2018-07-05', 'Jane');
            INSERT INTO pet (name, pet_type, birth_date, OWNER)
            VALUES ( 'Susie', 'Cat', '2019-05-01', 'Phil');
            INSERT INTO pet (name, pet_type, birth_date, OWNER)
            VALUES ( 'Lester', 'Hamster', '2020-06-23', 'Lily');
            INSERT INTO pet (name, pet_type, birth_date, OWNER)
            VALUES ( 'Quincy', 'Parrot', '2013-08-11', 'Anne');
            """,
    )
    get_all_pets = SQLExecuteQueryOperator(
        task_id="get_all_pets", conn_id="postgres_default", sql="SELECT * FROM pet;"
    )
    get_birth_date = SQLExecuteQueryOperator(
        task_id="get_birth_date",
        conn_id="postgres_default",
        sql="SELECT * FROM pet WHERE birth_date BETWEEN SYMMETRIC %(begin_date)s AND %(end_date)s",
        parameters={"begin_date": "2020-01-01", "end_date": "2020-12-31"},
        hook_params={"options": "-c statement_timeout=3000ms"},
    )
    count_by_owner = SQLExecuteQueryOperator(
        task_id="count_by_owner",
        conn_id="postgres_default",
        sql="SELECT count(*) FROM pet WHERE OWNER = '{{ params.owner }}'",
        params={"owner": "Jane"},
    )

    @task
    def adopt_and_list() -> list[str]:
        hook = PostgresHook(postgres_conn_id="postgres_default")
        hook.insert_rows(
            table="pet",
            rows=[("Rex", "Dog", "2021-01-01", "Sam")],
            target_fields=["name", "pet_type", "birth_date", "OWNER"],
        )
        names = [row[0] for row in hook.get_records("SELECT name FROM pet ORDER BY pet_id")]
        print(f"pets: {names}")
        return names

    @task
    def check(all_pets: list, born_2020: list, by_owner: list, names: list[str]) -> None:
        assert sorted(row[1] for row in all_pets) == ["Lester", "Max", "Quincy", "Susie"]
        assert [row[1] for row in born_2020] == ["Lester"], born_2020
        assert [list(row) for row in by_owner] == [[1]], by_owner
        print(f"born in 2020: {born_2020}")
        assert names == ["Max", "Susie", "Lester", "Quincy", "Rex"], names

    names = adopt_and_list()
    create_pet_table >> populate_pet_table >> [get_all_pets, get_birth_date, count_by_owner]
    [get_all_pets, get_birth_date, count_by_owner] >> names
    check(get_all_pets.output, get_birth_date.output, count_by_owner.output, names)
