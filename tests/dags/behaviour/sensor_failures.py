"""How a sensor's poke errors and timeouts end it with soft_fail, never_fail and silent_fail
(Airflow 3.3.2's ``dags test`` ends these tasks so): never_fail skips on an error but not on a
timeout; soft_fail skips on AirflowFailException and on a timeout; silent_fail counts an error as
not done, so the sensor times out."""

from airflow import DAG
from airflow.exceptions import AirflowFailException
from airflow.providers.standard.sensors.python import PythonSensor


def broken():
    raise ValueError("the source is unreachable")


def refused():
    raise AirflowFailException("the source refused us")


def never():
    return False


EXPECTED = {
    "dag_id": "sensor_failures_behaviour",
    "state": "failed",
    "tasks": {
        "never_fail_error": "skipped",
        "never_fail_timeout": "failed",
        "soft_fail_refused": "skipped",
        "soft_fail_timeout": "skipped",
        "silent_fail_error": "failed",
        "plain_refused": "failed",
    },
}

FAST = {"poke_interval": 0.05, "timeout": 0.2}

with DAG("sensor_failures_behaviour", schedule=None) as dag:
    PythonSensor(task_id="never_fail_error", python_callable=broken, never_fail=True, **FAST)
    PythonSensor(task_id="never_fail_timeout", python_callable=never, never_fail=True, **FAST)
    PythonSensor(task_id="soft_fail_refused", python_callable=refused, soft_fail=True, **FAST)
    PythonSensor(task_id="soft_fail_timeout", python_callable=never, soft_fail=True, **FAST)
    PythonSensor(task_id="silent_fail_error", python_callable=broken, silent_fail=True, **FAST)
    PythonSensor(task_id="plain_refused", python_callable=refused, **FAST)
