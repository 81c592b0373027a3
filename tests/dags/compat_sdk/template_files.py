"""Templated values that name a file with one of the operator's ``template_ext`` are read from
the DAG's folder or its ``template_searchpath``, then rendered (Airflow's
tutorial_taskflow_templates, with ``templates_exts`` for ``@task``)."""

import os

import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, task

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED_LINES = [
    "[read_sql] sql: select * from t where run_id = 'manual__2024-03-05T00:00:00+00:00' and who = 'ada'",
    "[plain] sql: sql/query.sql",
    "[script] greeting ada on 2024-03-05",
    "[note] note: note for ada",
]


def show_note(note):
    print(f"note: {note.strip()}")


with DAG(
    "template_files",
    schedule=None,
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
    template_searchpath=[os.path.join(HERE, "searchpath")],
    params={"who": "ada"},
) as dag:

    @task(templates_exts=[".sql"])
    def read_sql(sql):
        print(f"sql: {sql.strip()}")

    @task
    def plain(sql):
        print(f"sql: {sql}")

    read_sql(sql="sql/query.sql")
    plain.override(task_id="plain")(sql="sql/query.sql")
    BashOperator(task_id="script", bash_command="greet.sh")
    PythonOperator(
        task_id="note",
        python_callable=show_note,
        op_kwargs={"note": "note.txt"},
        templates_exts=[".txt"],
    )
