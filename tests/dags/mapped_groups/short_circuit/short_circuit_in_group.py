"""Short circuits inside a mapped task group, as Airflow 3.1.8 runs them: per index, and only
the direct downstream tasks are skipped (Airflow's NotPreviouslySkippedDep), even with
ignore_downstream_trigger_rules=True: the all_done task after them runs.

Expected: airflow-3.1.8.json beside this file, recorded with
    python scripts/compat/record_dag_file.py \
        tests/dags/mapped_groups/short_circuit/short_circuit_in_group.py
"""

from airflow.sdk import dag, task, task_group


@dag(schedule=None)
def short_circuit_in_group():
    @task_group
    def g(x):
        @task.short_circuit
        def gate(x):
            return x > 1

        @task
        def direct(x):
            return x

        @task(trigger_rule="all_done")
        def indirect(y):
            return y

        @task.short_circuit(ignore_downstream_trigger_rules=False)
        def soft_gate(x):
            return x > 1

        @task
        def soft_direct(x):
            return x

        @task(trigger_rule="all_done")
        def soft_indirect(y):
            return y

        d = direct(x)
        gate(x) >> d
        indirect(d)
        sd = soft_direct(x)
        soft_gate(x) >> sd
        soft_indirect(sd)

    g.expand(x=[1, 2])


short_circuit_in_group()
