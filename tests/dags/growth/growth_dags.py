"""DAGs for the unbounded-growth tests. Marker files go to $AIRLANE_TEST_MARKERS."""

import os
import time
from datetime import timedelta

from airlane import DAG, BashOperator, PythonOperator

MARKERS = os.environ.get("AIRLANE_TEST_MARKERS", "/tmp")


def wait_for_gate(run_id):
    """Runs until the test creates <run_id>.go (its message stays pending meanwhile)."""
    gate = os.path.join(MARKERS, f"{run_id}.go")
    while not os.path.exists(gate):
        time.sleep(0.05)


# quick tasks first, then one that waits on a gate
with DAG("gated", schedule=None, max_active_tasks=32) as gated:
    gate = PythonOperator(task_id="gate", python_callable=wait_for_gate)
    for i in range(20):
        PythonOperator(task_id=f"quick{i:02d}", python_callable=lambda: None) >> gate

# one run owns every kind of per-run key: tries (a retry), logs of two tries, XCom, rendered
with DAG("keys_of_a_run", schedule=None) as keys_of_a_run:
    BashOperator(
        task_id="flaky",
        bash_command=(
            'f="$AIRLANE_TEST_MARKERS/{{ run_id }}.once"; '
            'if [ -f "$f" ]; then echo done {{ ds }}; else touch "$f"; exit 1; fi'
        ),
        retries=1,
        retry_delay=timedelta(0),
    )
