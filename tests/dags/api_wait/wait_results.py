"""A DAG with a result (Airflow 3.3's ``@result``) for the API's wait route: ``total`` is the
run's result; ``each`` (mapped) and ``other`` are read when asked for."""

import pendulum
from airflow.sdk import dag, result, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"))
def wait_results():
    @result
    @task
    def total():
        return 42

    @task
    def each(x):
        return x * 2

    @task
    def other():
        return {"a": 1}

    total()
    each.expand(x=[1, 2, 3])
    other()


wait_results()
