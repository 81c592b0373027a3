"""Failure and retry emails (BaseOperator's ``email``, ``email_on_failure``, ``email_on_retry``),
sent through the SMTP provider's SmtpNotifier and its ``smtp_default`` connection. Under real
Airflow 3.3.2's ``dags test`` the same file sends the same three emails: ``flaky_mail``'s retry
and failure emails and ``no_retry_mail``'s failure email; ``quiet`` and ``fine`` send none."""

from datetime import datetime, timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG


def broken():
    raise RuntimeError("the source table is gone")


with DAG(
    "email_alerts",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    default_args={"email": ["ops@example.com"], "retry_delay": timedelta(seconds=0.1)},
):
    PythonOperator(task_id="flaky_mail", python_callable=broken, retries=1)
    PythonOperator(
        task_id="no_retry_mail", python_callable=broken, retries=1, email_on_retry=False
    )
    PythonOperator(task_id="quiet", python_callable=broken, email_on_failure=False)
    PythonOperator(task_id="fine", python_callable=lambda: "ok")
