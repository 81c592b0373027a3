"""Airflow 3.3's ResumableJobMixin: a try submits a job to another system (here a file per
run), loses its connection while polling and fails; the retry finds the job's id in
task_state_store, sees it still running and reconnects instead of submitting it again: the
system saw one submission, which the downstream task checks. Real Airflow 3.3.2's dags test
reconnects the same way but ends ``check`` failed: its reconnecting path returns what
``poll_until_complete`` returns (None), not the job's result (sdk/resumable_job.py)."""

import json
import tempfile
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.sdk import DAG, BaseOperator, ResumableJobMixin, task

EXPECTED = {
    "dag_id": "resumable_job",
    "state": "success",
    "tasks": {"submit": ["success", 2], "check": "success"},
}

JOBS = Path(tempfile.gettempdir()) / "airlane-resumable-jobs"


def _job_file(context):
    return JOBS / context["run_id"].replace(":", "_").replace("+", "_")


class SubmitJob(ResumableJobMixin, BaseOperator):
    external_id_key = "job_id"

    def execute(self, context):
        return self.execute_resumable(context)

    def submit_job(self, context):
        JOBS.mkdir(exist_ok=True)
        path = _job_file(context)
        job = json.loads(path.read_text()) if path.exists() else {"submissions": 0}
        job.update(submissions=job["submissions"] + 1, status="RUNNING")
        path.write_text(json.dumps(job))
        return f"job-{job['submissions']}"

    def get_job_status(self, external_id, context):
        return json.loads(_job_file(context).read_text())["status"]

    def is_job_active(self, status):
        return status == "RUNNING"

    def is_job_succeeded(self, status):
        return status == "SUCCEEDED"

    def poll_until_complete(self, external_id, context):
        if context["ti"].try_number == 1:
            raise RuntimeError(f"lost the connection while polling {external_id}")
        path = _job_file(context)
        path.write_text(json.dumps({**json.loads(path.read_text()), "status": "SUCCEEDED"}))

    def get_job_result(self, external_id, context):
        job = json.loads(_job_file(context).read_text())
        _job_file(context).unlink()
        return {"job": external_id, "submissions": job["submissions"]}


with DAG("resumable_job", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):

    @task
    def check(outcome):
        if outcome != {"job": "job-1", "submissions": 1}:
            raise AssertionError(f"the retry must reconnect, not resubmit: {outcome}")

    submit = SubmitJob(task_id="submit", retries=1, retry_delay=timedelta(0))
    check(submit.output)
