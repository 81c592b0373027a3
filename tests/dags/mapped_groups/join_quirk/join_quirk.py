"""Airflow 3.1.8's unexpanded instance of a mapped group's task whose upstream tasks of the
group are expanded: it counts no upstream instance, so none_failed_min_one_success settles it as
skipped (its downstream ``total`` is skipped) and the task still expands and runs (the unexpanded
instance ends removed); all_done_min_one_success settles it as upstream_failed and never expands.

Expected: airflow-3.1.8.json beside this file, recorded with
    python scripts/compat/record_dag_file.py tests/dags/mapped_groups/join_quirk/join_quirk.py
"""

from airflow.sdk import dag, task, task_group


@dag(schedule=None, catchup=False)
def join_quirk():
    @task
    def numbers():
        return [1, 2]

    @task_group
    def process(x):
        @task
        def double(x):
            return x * 2

        @task(trigger_rule="none_failed_min_one_success")
        def join(y):
            return y

        @task
        def plain(y):
            return y

        @task(trigger_rule="all_done_min_one_success")
        def min_one(y):
            return y

        d = double(x)
        plain(d)
        min_one(d)
        return join(d)

    @task
    def total(values):
        return values

    total(process.expand(x=numbers()))


join_quirk()
