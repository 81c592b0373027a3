"""Airlane's webhook notifier: POSTs the run (and task) a callback is about to a URL, as JSON.

    from airlane.sdk.webhook_notifier import WebhookNotifier

    with DAG(..., on_failure_callback=WebhookNotifier("https://hooks.example.com/airlane")):
        BashOperator(..., on_retry_callback=WebhookNotifier(url, headers={"X-Team": "data"}))

The body is :func:`default_payload` of the callback's context unless ``payload`` is given (a
templated dict, rendered with the context). ``url``, ``headers`` and ``payload`` are template
fields. Every request carries an ``Idempotency-Key`` header made of the run, task, try and
reason: a delivery the callbacks role repeats (its process was killed after the POST and before
it recorded it) sends the same key, so a receiver can drop the duplicate. A response other than
2xx, or no response within ``timeout_s``, raises: the callback fails and the callbacks role
retries it with backoff. Errors and logs name the URL's scheme, host and port only (a webhook
URL often carries its token in the path).
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from airlane.sdk.context import Context
from airlane.sdk.notifier import BaseNotifier

#: what is kept of a refusing receiver's response in the error
_BODY_MAX_CHARS = 500


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def default_payload(context: Mapping[str, Any]) -> dict[str, Any]:
    """The run and task of a callback's context as JSON data."""
    ti = context.get("ti")
    dag = context.get("dag")
    exception = context.get("exception")
    return {
        "dag_id": getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None),
        "run_id": context.get("run_id"),
        "logical_date": _text(context.get("logical_date")),
        "reason": context.get("reason"),
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", None),
        "try_number": getattr(ti, "try_number", None),
        "state": _text(getattr(ti, "state", None)),
        "exception": None if exception is None else f"{type(exception).__name__}: {exception}",
    }


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what errors and logs name (webhook URLs often carry
    a token in their path or user part)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


def idempotency_key(payload: Mapping[str, Any]) -> str:
    """The same for every delivery of one callback about one run, task and try."""
    fields = ("dag_id", "run_id", "task_id", "map_index", "try_number", "reason")
    raw = "|".join(str(payload.get(name)) for name in fields)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class WebhookError(RuntimeError):
    """The receiver refused the notification or could not be reached."""


class WebhookNotifier(BaseNotifier):
    template_fields: Sequence[str] = ("url", "headers", "payload")

    def __init__(
        self,
        url: str,
        *,
        payload: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        super().__init__()
        if not url:
            raise ValueError("WebhookNotifier needs a url")
        self.url = url
        self.payload = payload
        self.headers = dict(headers or {})
        self.timeout_s = timeout_s

    def body(self, context: Context) -> dict[str, Any]:
        if self.payload is not None:
            return dict(self.payload)
        return default_payload(context)

    def notify(self, context: Context) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise WebhookError(f"not an http(s) URL: {self.url[:8]!r}...")
        body = self.body(context)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key(default_payload(context)),
            **self.headers,
        }
        data = orjson.dumps(body, default=str)
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:_BODY_MAX_CHARS]
            raise WebhookError(f"{origin(self.url)} answered {err.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as err:
            raise WebhookError(f"{origin(self.url)} could not be reached: {err}") from None
        self.log.info("Webhook notification sent to %s", origin(self.url))


#: Airflow providers' function form (``send_smtp_notification = SmtpNotifier``)
send_webhook_notification = WebhookNotifier

__all__ = ["WebhookError", "WebhookNotifier", "default_payload", "send_webhook_notification"]
