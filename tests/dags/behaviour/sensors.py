"""Sensors: FileSensor in poke mode, a reschedule-mode sensor, soft_fail and hard timeouts."""

import os
import tempfile

from airflow.decorators import task
from airflow.operators.bash import BashOperator
from airflow.sensors.base import PokeReturnValue
from airflow.sensors.filesystem import FileSensor
from airflow.sdk import DAG

EXPECTED = {
    "dag_id": "sensors_behaviour",
    "state": "failed",
    "tasks": {
        "make_file": "success", "wait_file": "success", "third_poke": "success",
        "uses_poke_value": "success", "soft": "skipped", "hard": ["failed", 1],
    },
}
MARKER_DIR = os.path.join(tempfile.gettempdir(), "airlane-sensor-test")

with DAG("sensors_behaviour", schedule=None, default_args={"retries": 2, "retry_delay": 0.1}) as dag:
    make = BashOperator(task_id="make_file", bash_command=f"mkdir -p {MARKER_DIR}/{{{{ run_id }}}} && touch {MARKER_DIR}/{{{{ run_id }}}}/ready")
    wait = FileSensor(task_id="wait_file", filepath=MARKER_DIR + "/{{ run_id }}/ready", poke_interval=0.1, timeout=10)
    make >> wait

    @task.sensor(task_id="third_poke", mode="reschedule", poke_interval=0.1, timeout=10)
    def third_poke(run_id=None):
        counter = os.path.join(MARKER_DIR, f"{run_id}-pokes")
        os.makedirs(MARKER_DIR, exist_ok=True)
        count = (int(open(counter).read()) if os.path.exists(counter) else 0) + 1
        with open(counter, "w") as handle:
            handle.write(str(count))
        return PokeReturnValue(is_done=count >= 3, xcom_value=count)

    @task
    def uses_poke_value(pokes):
        assert pokes == 3, pokes

    uses_poke_value(third_poke())

    @task.sensor(task_id="soft", poke_interval=0.1, timeout=0.3, soft_fail=True)
    def soft():
        return False

    @task.sensor(task_id="hard", poke_interval=0.1, timeout=0.3)
    def hard():
        return False

    soft()
    hard()
