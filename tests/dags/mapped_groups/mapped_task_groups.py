"""Mapped task groups (@task_group ... .expand), as real Airflow 3.1.8 runs them.

Expected states and XComs: tests/dags/mapped_groups/airflow-3.1.8.json, recorded with
    python scripts/compat/record_dag_file.py tests/dags/mapped_groups/mapped_task_groups.py
"""

from __future__ import annotations

from airflow.sdk import dag, get_current_context, task, task_group


@dag(schedule=None, catchup=False)
def mapped_task_groups():
    @task
    def numbers():
        return [1, 2, 3]

    @task
    def empty():
        return []

    @task_group
    def process(x, offset):
        @task
        def double(x):
            return x * 2

        @task
        def add(y, offset):
            return y + offset

        @task.branch
        def pick(y):
            return "process.big" if y > 3 else "process.small"

        @task
        def big(y):
            return f"big {y}"

        @task
        def small(y):
            return f"small {y}"

        @task(trigger_rule="none_failed_min_one_success")
        def join(total, y):
            return total * 100 + y

        doubled = double(x)
        branch = pick(doubled)
        joined = join(add(doubled, offset), doubled)
        branch >> [big(doubled), small(doubled)] >> joined
        return joined

    @task
    def total(values):
        return sorted(values)

    total(process.partial(offset=10).expand(x=numbers()))

    @task_group
    def fragile(n):
        @task(map_index_template="{{ label }}")
        def maybe_fail(n):
            get_current_context()["label"] = f"item-{n}"
            if n == 2:
                raise ValueError("two is bad")
            return n

        @task
        def after(v):
            return v + 1

        @task(trigger_rule="all_done")
        def cleanup(n):
            return n

        value = maybe_fail(n)
        after(value)
        value >> cleanup(n)

    fragile_group = fragile.expand(n=[1, 2, 3])

    @task(trigger_rule="all_done_min_one_success")
    def after_fragile():
        return "ran"

    @task
    def strict_after_fragile():
        return "never"

    fragile_group >> [after_fragile(), strict_after_fragile()]

    @task_group
    def kw_group(a, b):
        @task
        def multiply(a, b):
            return a * b

        @task
        def show(product):
            return f"product {product}"

        show(multiply(a, b))

    kw_group.expand_kwargs([{"a": 2, "b": 3}, {"a": 4, "b": 5}])

    @task_group
    def nothing(x):
        @task
        def first(x):
            return x

        @task
        def second(x):
            return x

        second(first(x))

    @task
    def after_nothing():
        return "after"

    @task(trigger_rule="all_done_min_one_success")
    def min_one_after_nothing():
        return "after"

    nothing_group = nothing.expand(x=empty())
    nothing_group >> [after_nothing(), min_one_after_nothing()]


mapped_task_groups()
