"""Airflow 3.3's state stores (AIP-103): a task's first try stores a job id and fails, its retry
reads it back (task_state_store, shared by the tries of one instance); a producer advances a
watermark on its asset and a consumer of the same asset reads it (asset_state_store). Real Airflow
3.3.2's dags test ends it the same way."""

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Asset, task
from airflow.sdk.execution_time.context import NEVER_EXPIRE

EXPECTED = {
    "dag_id": "state_store",
    "state": "success",
    "tasks": {
        "run_job": ["success", 2],
        "produce": "success",
        "consume": "success",
    },
}

ORDERS = Asset(name="state_store_orders", uri="s3://warehouse/state_store_orders")


with DAG("state_store", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):

    @task(retries=1, retry_delay=timedelta(0))
    def run_job(task_state_store=None, ti=None):
        job_id = task_state_store.get("job_id")
        if ti.try_number == 1:
            if job_id is not None:
                raise AssertionError(f"a fresh instance has no state: {job_id!r}")
            task_state_store.set("job_id", "job-42", retention=NEVER_EXPIRE)
            task_state_store.set("attempts", 1, retention=timedelta(hours=1))
            raise RuntimeError("lost the connection after submitting job-42")
        if job_id != "job-42" or task_state_store.get("attempts") != 1:
            raise AssertionError(f"the retry must reattach: {job_id!r}")
        task_state_store.delete("attempts")
        if task_state_store.get("attempts", default="gone") != "gone":
            raise AssertionError("delete did not remove the key")

    @task(outlets=[ORDERS])
    def produce(asset_state_store=None):
        state = asset_state_store[ORDERS]
        runs = state.get("total_runs", default=0)
        state.set("total_runs", runs + 1)
        state.set("watermark", {"rows": 10})

    @task(inlets=[ORDERS])
    def consume(asset_state_store=None):
        # one asset: the accessors' methods reach it without a subscript
        if asset_state_store.get("watermark") != {"rows": 10}:
            raise AssertionError(asset_state_store.get("watermark"))
        if asset_state_store.get("total_runs", default=0) < 1:
            raise AssertionError("the producer's count is missing")

    run_job()
    produce() >> consume()
