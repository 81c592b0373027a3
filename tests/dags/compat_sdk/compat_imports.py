"""The imports of the standard provider's current examples: ``providers.common.compat.sdk``
(TriggerRule, timezone), ``airflow.sdk.exceptions``, ``airflow.sdk.timezone``."""

from airflow.providers.common.compat.sdk import TriggerRule, timezone
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from airflow.sdk.exceptions import AirflowSkipException
from airflow.sdk.timezone import datetime

EXPECTED_LINES = ["[when] 2022-01-01T00:00:00+00:00 2021-06-01T00:00:00+00:00"]


@task
def skip_me():
    raise AirflowSkipException("nothing to do")


@task
def when(dag=None):
    print(dag.start_date.isoformat(), datetime(2021, 6, 1).isoformat())


with DAG("compat_imports", schedule=None, start_date=timezone.datetime(2022, 1, 1)):
    skipped = skip_me()
    skipped >> EmptyOperator(task_id="after_skip", trigger_rule=TriggerRule.NONE_FAILED)
    skipped >> EmptyOperator(task_id="all_success")
    when()
