"""Setup and teardown (Airflow 3 imports): the work between a setup and its teardown fails and
the teardown still runs (its rule is all_done_setup_success); the run fails because of the
work, not of the teardown. Each group shows one way of declaring them:

- ``@setup``/``@teardown`` and ``with create >> delete:``: work fails, delete runs;
- ``as_setup()``/``as_teardown(setups=...)`` and ``with close_conn:``: all succeed;
- a setup that skips: its work and its teardown are skipped;
- a setup that fails: its work is upstream_failed, and so is a later work task whose rule
  (all_done) would have run it: it waits for its indirect setup, as in Airflow; the teardown
  is upstream_failed (no setup of it succeeded).
"""

from airflow.exceptions import AirflowSkipException
from airflow.operators.python import PythonOperator
from airflow.sdk import DAG, setup, task, teardown

EXPECTED = {
    "dag_id": "setup_teardown_behaviour",
    "state": "failed",
    "tasks": {
        "create_resource": "success",
        "work_fails": "failed",
        "after_work": "upstream_failed",
        "delete_resource": "success",
        "open_conn": "success",
        "uses_conn": "success",
        "close_conn": "success",
        "skip_setup": "skipped",
        "skipped_work": "skipped",
        "skipped_teardown": "skipped",
        "bad_setup": "failed",
        "first_work": "upstream_failed",
        "later_work": "upstream_failed",
        "bad_teardown": "upstream_failed",
    },
}


def _skip():
    raise AirflowSkipException("nothing to set up")


def _fail():
    raise ValueError("planned failure")


@setup
def create_resource():
    return "resource"


@teardown
def delete_resource():
    print("deleting the resource")


@task
def work_fails():
    raise ValueError("the work fails")


@task
def after_work():
    pass


with DAG("setup_teardown_behaviour", schedule=None) as dag:
    with create_resource() >> delete_resource():
        work_fails() >> after_work()

    open_conn = PythonOperator(task_id="open_conn", python_callable=lambda: None).as_setup()
    close_conn = PythonOperator(task_id="close_conn", python_callable=lambda: None)
    with close_conn.as_teardown(setups=open_conn):
        PythonOperator(task_id="uses_conn", python_callable=lambda: None)

    skip_setup = PythonOperator(task_id="skip_setup", python_callable=_skip)
    skipped_teardown = PythonOperator(task_id="skipped_teardown", python_callable=lambda: None)
    skipped_work = PythonOperator(task_id="skipped_work", python_callable=lambda: None)
    skip_setup >> skipped_work >> skipped_teardown.as_teardown(setups=skip_setup)

    bad_setup = PythonOperator(task_id="bad_setup", python_callable=_fail)
    bad_teardown = PythonOperator(task_id="bad_teardown", python_callable=lambda: None)
    first_work = PythonOperator(task_id="first_work", python_callable=lambda: None)
    later_work = PythonOperator(
        task_id="later_work", python_callable=lambda: None, trigger_rule="all_done"
    )
    bad_setup >> first_work >> later_work >> bad_teardown.as_teardown(setups=bad_setup)
