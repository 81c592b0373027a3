"""For the UI tests: `flaky` fails until the marker file exists; `after` runs once it passes.
`flaky` has extra links: a runbook (a web address) and one whose URL is not one."""

import os
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.sdk import BaseOperatorLink

MARKER = os.path.join(os.environ.get("AIRLANE_TEST_MARKERS", "/tmp"), "ui_flaky_fixed")


class RunbookLink(BaseOperatorLink):
    name = "Runbook"

    def get_link(self, operator, *, ti_key):
        return f"https://runbooks.example/{ti_key.dag_id}/{ti_key.task_id}"


class ScriptLink(BaseOperatorLink):
    name = "Script"

    def get_link(self, operator, *, ti_key):
        return "javascript:alert(1)"


class LinkedBash(BashOperator):
    operator_extra_links = (RunbookLink(), ScriptLink())


with DAG("ui_flaky", start_date=datetime(2024, 1, 1), schedule=None, tags=["ui"]) as dag:
    flaky = LinkedBash(
        task_id="flaky",
        bash_command=f'echo "checking {{{{ ds }}}}"; test -f {MARKER} || {{ echo "not fixed yet"; exit 1; }}',
    )
    after = BashOperator(task_id="after", bash_command='echo "after the fix"')
    flaky >> after
