"""Provider notifiers and EmailOperator, written as the SMTP and Slack providers' documentation
shows them (smtp: notifications/smtp_notifier_howto_guide, operators; slack:
notifications/slackwebhook_notifier_howto_guide). Connections come from the environment:
AIRFLOW_CONN_SMTP_DEFAULT and AIRFLOW_CONN_SLACK_WEBHOOK_DEFAULT."""

from datetime import datetime

from airflow import DAG
from airflow.providers.slack.notifications.slack_webhook import send_slack_webhook_notification
from airflow.providers.smtp.notifications.smtp import send_smtp_notification
from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.providers.standard.operators.bash import BashOperator

dag_failure_slack_webhook_notification = send_slack_webhook_notification(
    slack_webhook_conn_id="slack_webhook_default", text="The dag {{ dag.dag_id }} failed"
)
task_failure_slack_webhook_notification = send_slack_webhook_notification(
    slack_webhook_conn_id="slack_webhook_default",
    text="The task {{ ti.task_id }} failed",
)

with DAG(
    dag_id="provider_notify",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    on_failure_callback=[
        send_smtp_notification(
            from_email="airflow@example.com",
            to="oncall@example.com",
            subject="[Error] The dag {{ dag.dag_id }} failed",
            html_content="debug logs",
        ),
        dag_failure_slack_webhook_notification,
    ],
):
    report = EmailOperator(
        task_id="send_email",
        to="team@example.com",
        subject="Report of {{ ds }}",
        html_content="<p>run {{ run_id }}</p>",
        from_email="airflow@example.com",
    )
    mytask = BashOperator(
        task_id="mytask",
        on_failure_callback=[
            send_smtp_notification(
                from_email="airflow@example.com",
                to="oncall@example.com",
                subject="[Error] The Task {{ ti.task_id }} failed",
                html_content="debug logs",
            ),
            task_failure_slack_webhook_notification,
        ],
        bash_command="fail",
    )
    report >> mytask
