"""The issue's case: 2,000 tasks of one run, each reading the run's (large) conf."""

from airlane import DAG, PythonOperator


def conf_size(dag_run):
    return len(dag_run.conf.get("blob", ""))


# max_active_tasks lets the default pool's 128 slots be the limit
with DAG("wide_2000", schedule=None, max_active_tasks=2000) as wide:
    for i in range(2000):
        PythonOperator(task_id=f"t{i:04d}", python_callable=conf_size)
