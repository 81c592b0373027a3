"""BaseNotifier (``airflow.sdk.bases.notifier``; Airflow 2:
``airflow.notifications.basenotifier``): a callback object whose ``template_fields`` are
rendered with the task's context before ``notify(context)`` runs. Use one as
``on_failure_callback=MyNotifier(...)`` and so on."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airlane.sdk.context import Context


class BaseNotifier:
    """Subclasses implement ``notify(context)``."""

    template_fields: Sequence[str] = ()
    template_ext: Sequence[str] = ()

    def __init__(self, context: Context | None = None) -> None:
        self.context: Context | dict[str, Any] = context or {}

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"{type(self).__module__}.{type(self).__name__}")

    def notify(self, context: Context) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement notify(context)")

    def render_template_fields(self, context: Any) -> None:
        from airlane.sdk.templating import render_value

        dag = context.get("dag")
        if dag is None:
            return
        for name in self.template_fields:
            value = getattr(self, name)
            setattr(self, name, render_value(value, context, dag, self.template_ext))

    def __call__(self, *args: Any) -> None:
        """As a task or DAG callback: ``(context)``; Airflow's SLA form (four arguments) gets a
        context made of them."""
        if len(args) == 1:
            context = args[0]
        else:
            names = ("dag", "task_list", "blocking_task_list", "blocking_tis")
            context = dict(zip(names, args, strict=False))
        for name in self.template_fields:
            context.setdefault(name, getattr(self, name))
        self.render_template_fields(context)
        self.notify(context)


__all__ = ["BaseNotifier"]
