"""A 200-task chain of no-op tasks (native Airlane imports)."""

from airlane import DAG, task

with DAG("chain_200", schedule=None) as dag:

    @task
    def noop():
        return None

    previous = None
    for i in range(200):
        current = noop.override(task_id=f"t{i:03d}")()
        if previous is not None:
            previous >> current
        previous = current
