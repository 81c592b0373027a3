"""Failure and retry emails of a task's ``email`` (``email_on_failure``, ``email_on_retry``), as
Airflow 3.3's task runner sends them (``_send_error_email_notification``).

A try that fails with an error sends one when its task has ``email`` and the flag of how it
ended (to be retried: ``email_on_retry``; for good: ``email_on_failure``; both default to True).
The SMTP provider's ``SmtpNotifier`` sends it (its ``smtp_default`` connection), or, with a
non-default ``[email] email_backend``, that callable (Airflow's legacy backends: SES, SendGrid,
``send_email``'s signature). The subject and body are Airflow's defaults or the files named by
``[email] subject_template`` and ``html_content_template``, rendered with the try's context and
``exception``, ``exception_html``, ``try_number`` and ``max_tries``. A failure to send is
logged; it changes nothing of the try. A try that died with its worker gets the same email
from the callbacks role (Airflow's DAG processor ``EmailRequest``), without an exception.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from airlane.dag_loader.airflow_compat import install as install_airflow_names
from airlane.sdk.baseoperator import email_alert_ends
from airlane.sdk.configuration import conf
from airlane.sdk.exceptions import AirflowConfigException
from airlane.sdk.module_loading import import_string
from airlane.sdk.notifier import BaseNotifier

DEFAULT_EMAIL_BACKEND = "airflow.utils.email.send_email_smtp"
DEFAULT_SUBJECT = "Airflow alert: {{ti}}"
DEFAULT_HTML = (
    "Try {{try_number}} out of {{max_tries + 1}}<br>"
    "Exception:<br>{{exception_html}}<br>"
    'Log: <a href="{{ti.log_url}}">Link</a><br>'
    "Host: {{ti.hostname}}<br>"
    'Mark success: <a href="{{ti.mark_success_url}}">Link</a><br>'
)
SMTP_MISSING = (
    "Failed to send task failure or retry email notification: "
    "`apache-airflow-providers-smtp` is not installed. "
    "Install this provider to enable email notifications."
)


def wants_email(task: Any, will_retry: bool) -> bool:
    return ("retry" if will_retry else "failure") in email_alert_ends(task)


class LegacyEmailBackendNotifier(BaseNotifier):
    """A ``[email] email_backend`` callable as a notifier (Airflow's
    ``_LegacyEmailBackendNotifier``): the fields rendered, then the backend called."""

    template_fields = ("to", "from_email", "subject", "html_content")

    def __init__(
        self,
        to: str | Iterable[str],
        from_email: str | None = None,
        subject: str | None = None,
        html_content: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.to = to
        self.from_email = from_email
        self.subject = subject
        self.html_content = html_content

    def notify(self, context: Any) -> None:
        path = conf.get("email", "email_backend", fallback=DEFAULT_EMAIL_BACKEND)
        if not path:
            raise AirflowConfigException("`[email] email_backend` is not configured")
        backend = import_string(str(path))
        backend(
            self.to,
            self.subject,
            self.html_content,
            conn_id=conf.get("email", "email_conn_id", fallback=None),
            from_email=self.from_email,
        )


def _template(option: str, default: str) -> str:
    path = conf.get("email", option, fallback=None)
    if path and Path(str(path)).exists():
        return Path(str(path)).read_text()
    return default


def _notifier_class(log: Callable[[str], None]) -> tuple[Any, str] | None:
    backend = conf.get("email", "email_backend", fallback=DEFAULT_EMAIL_BACKEND)
    if backend and backend != DEFAULT_EMAIL_BACKEND:
        return LegacyEmailBackendNotifier, f"configured email_backend {backend!r}"
    install_airflow_names()
    try:
        module = importlib.import_module("airflow.providers.smtp.notifications.smtp")
    except ImportError:
        log(SMTP_MISSING)
        return None
    return module.SmtpNotifier, "SmtpNotifier"


def send_error_email(
    task: Any,
    context: Any,
    error: BaseException | str | None,
    try_number: int,
    max_tries: int,
    log: Callable[[str], None],
) -> None:
    """Send the email of a try that ended with ``error`` (blocking: run it in a thread)."""
    to = getattr(task, "email", None)
    if not to:
        return
    found = _notifier_class(log)
    if found is None:
        return
    notifier_class, description = found
    email_context = {
        **context,
        "exception": error,
        "exception_html": html.escape(str(error)).replace("\n", "<br>"),
        "try_number": try_number,
        "max_tries": max_tries,
    }
    try:
        notifier = notifier_class(
            to=to,
            subject=_template("subject_template", DEFAULT_SUBJECT),
            html_content=_template("html_content_template", DEFAULT_HTML),
            from_email=conf.get("email", "from_email", fallback="airflow@airflow"),
        )
        notifier(email_context)
    except Exception as err:
        log(f"Failed to send email notification via {description}: {err!r}")
