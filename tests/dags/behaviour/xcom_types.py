"""XCom values keep their Python type between tasks, as Airflow's serde keeps them: tuples, sets,
datetimes, dates, timedeltas, Decimals and UUIDs come back as themselves, a mapped task expands
over a returned tuple, and a template renders the value pulled (a tuple as a tuple)."""

import datetime
import decimal
import uuid

import pendulum
from airflow.operators.bash import BashOperator
from airflow.sdk import dag, task

EXPECTED = {
    "dag_id": "xcom_types",
    "state": "success",
    "tasks": {
        "make": "success", "check": "success", "pair": "success",
        "each[0]": "success", "each[1]": "success",
        "pushes": "success", "pulls": "success", "templated": "success",
    },
}

WHEN = pendulum.datetime(2024, 5, 6, 7, 8, 9, tz="Europe/Amsterdam")
ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def must_equal(value, expected):
    if value != expected or type(value) is not type(expected):
        raise AssertionError(f"{value!r} ({type(value).__name__}) != {expected!r}")


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1))
def xcom_types():
    @task
    def make():
        return {
            "pair": (1, "a"),
            "seen": {3, 4},
            "when": WHEN,
            "day": datetime.date(2024, 1, 2),
            "took": datetime.timedelta(minutes=5),
            "price": decimal.Decimal("9.5"),
            "id": ID,
        }

    @task
    def check(made: dict):
        must_equal(made["pair"], (1, "a"))
        must_equal(made["seen"], {3, 4})
        must_equal(made["when"], WHEN)
        if made["when"].timezone_name != "Europe/Amsterdam":
            raise AssertionError(made["when"].timezone_name)
        must_equal(made["day"], datetime.date(2024, 1, 2))
        must_equal(made["took"], datetime.timedelta(minutes=5))
        must_equal(made["price"], decimal.Decimal("9.5"))
        must_equal(made["id"], ID)

    check(make())

    @task
    def pair():
        return (10, 20)

    @task
    def each(n: int):
        if n not in (10, 20):
            raise AssertionError(n)

    made_pair = pair()
    each.expand(n=made_pair)

    @task
    def pushes(ti=None):
        ti.xcom_push(key="frozen", value=frozenset({"x"}))

    @task
    def pulls(ti=None):
        must_equal(ti.xcom_pull(task_ids="pushes", key="frozen"), frozenset({"x"}))
        must_equal(ti.xcom_pull(task_ids="pair"), (10, 20))

    pulled = pulls()
    pushes() >> pulled
    made_pair >> pulled

    templated = BashOperator(
        task_id="templated",
        bash_command="test \"{{ ti.xcom_pull(task_ids='pair') }}\" = '(10, 20)'",
    )
    made_pair >> templated


xcom_types()
