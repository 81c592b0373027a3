"""Dynamic task mapping: literal lists, XCom lists, mapped over mapped, zero length, expand_kwargs."""

from airflow.decorators import dag, task
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

EXPECTED = {
    "dag_id": "mapping_behaviour",
    "state": "failed",
    "tasks": {
        "numbers": "success",
        "double[0]": "success", "double[1]": "success", "double[2]": "success",
        "plus_one[0]": "success", "plus_one[1]": "success", "plus_one[2]": "success",
        "check_total": "success",
        "literal[0]": "success", "literal[1]": "success",
        "empty": "success", "never_runs": "skipped",
        "pairs[0]": "success", "pairs[1]": "success", "pairs[2]": "success", "pairs[3]": "success",
        "kw[0]": "success", "kw[1]": "success", "check_kw": "success",
        "shell[0]": "success", "shell[1]": "success",
        "not_a_list": "success", "bad_mapping": "failed",
    },
}


def check(values, expected):
    if values != expected:
        raise AssertionError(f"got {values!r}, expected {expected!r}")


@dag(schedule=None)
def mapping_behaviour():
    @task
    def numbers():
        return [1, 2, 3]

    @task
    def double(x):
        return x * 2

    @task
    def plus_one(x):
        return x + 1

    @task
    def check_total(values):
        check(sorted(values), [3, 5, 7])

    check_total(plus_one.expand(x=double.expand(x=numbers())))

    @task
    def literal(word, suffix):
        return word + suffix

    literal.partial(suffix="!").expand(word=["a", "b"])

    @task
    def empty():
        return []

    never_runs = task(lambda x: x, task_id="never_runs")
    never_runs.expand(x=empty())

    @task
    def pairs(a, b):
        return f"{a}{b}"

    pairs.expand(a=[1, 2], b=["x", "y"])

    kw = PythonOperator.partial(task_id="kw", python_callable=lambda a, b: a * b).expand_kwargs(
        [{"op_kwargs": {"a": 2, "b": 3}}, {"op_kwargs": {"a": 4, "b": 5}}]
    )
    check_kw = PythonOperator(
        task_id="check_kw",
        python_callable=lambda ti: check(ti.xcom_pull("kw"), [6, 20]),
    )
    kw >> check_kw

    BashOperator.partial(task_id="shell").expand(bash_command=["echo one", "echo two"])

    @task
    def not_a_list():
        return 42

    task(lambda x: x, task_id="bad_mapping").expand(x=not_a_list())


mapping_behaviour()
