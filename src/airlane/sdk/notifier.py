"""BaseNotifier (``airflow.sdk.bases.notifier``; Airflow 2: ``airflow.notifications.basenotifier``),
with Airflow 3.1's surface: a callback object whose ``template_fields`` are put into the context
and rendered with it before ``notify(context)`` runs. Use one as ``on_failure_callback=
MyNotifier(...)`` on a DAG (the callbacks role calls it) or on a task (the try calls it).

Airflow's call forms: ``notifier(context)`` (a callback), ``notifier(dag, task_list,
blocking_task_list, blocking_tis)`` (Airflow 2's SLA miss callback) and ``await
Notifier(context=...)`` (``async_notify``). A ``notify`` that raises is logged and re-raised, so
the callback counts as failed (and the callbacks role retries it).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.sandbox

from airlane.sdk.context import Context

if TYPE_CHECKING:
    from airlane.sdk.dag import DAG

#: Airflow 2's SLA miss callback arguments, in order
_SLA_ARGS = ("dag", "task_list", "blocking_task_list", "blocking_tis")


class BaseNotifier:
    """Subclasses implement ``notify(context)`` (sync; what callbacks call) and may implement
    ``async_notify(context)`` (``await notifier``)."""

    template_fields: Sequence[str] = ()
    template_ext: Sequence[str] = ()

    def __init__(self, context: Context | None = None) -> None:
        self.context: Context | dict[str, Any] = context or {}
        self.resolve_template_files()

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"{type(self).__module__}.{type(self).__name__}")

    def resolve_template_files(self) -> None:
        """Airflow reads template files here when it has a DAG, which a notifier built in a DAG
        file has not yet: a field naming a file (ending in ``template_ext``) is read from the
        DAG's template search path when it is rendered instead."""

    def get_template_env(self, dag: DAG | None = None) -> jinja2.Environment:
        if dag is not None:
            from airlane.sdk.templating import get_environment

            return get_environment(dag)
        return jinja2.sandbox.SandboxedEnvironment(cache_size=0)

    def _update_context(self, context: Any) -> Any:
        """Airflow's ``context_merge``: the template fields' values go into the context."""
        context.update((name, getattr(self, name)) for name in self.template_fields)
        return context

    def _render(self, template: Any, context: Any, dag: DAG | None = None) -> Any:
        dag = dag or context.get("dag")
        return self.render_template(template, context, self.get_template_env(dag=dag))

    def render_template(
        self,
        content: Any,
        context: Any,
        jinja_env: jinja2.Environment | None = None,
        seen_oids: set[int] | None = None,
    ) -> Any:
        """``content`` rendered: strings (a name ending in ``template_ext`` is a template
        file), and the strings inside lists, tuples, sets and dicts."""
        env = jinja_env or self.get_template_env(dag=context.get("dag"))
        return _render_with(env, content, context, self.template_ext)

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Sequence[str],
        context: Any,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        for name in template_fields:
            value = getattr(parent, name)
            setattr(parent, name, self.render_template(value, context, jinja_env, seen_oids))

    def render_template_fields(
        self, context: Any, jinja_env: jinja2.Environment | None = None
    ) -> None:
        """Render every attribute in ``template_fields`` in place (irreversible)."""
        if jinja_env is None:
            jinja_env = self.get_template_env(dag=context.get("dag"))
        self._do_render_template_fields(self, self.template_fields, context, jinja_env, set())

    async def async_notify(self, context: Context) -> None:
        """Send the notification (async): ``await notifier``."""
        raise NotImplementedError

    def notify(self, context: Context) -> None:
        """Send the notification (sync): what DAG and task callbacks call."""
        raise NotImplementedError(f"{type(self).__name__} must implement notify(context)")

    def __call__(self, *args: Any) -> None:
        context: Any = args[0] if len(args) == 1 else dict(zip(_SLA_ARGS, args, strict=False))
        self._update_context(context)
        self.render_template_fields(context)
        try:
            self.notify(context)
        except Exception as err:
            self.log.error("Failed to send notification (sync): %s", err)
            raise

    def __await__(self) -> Generator[Any, None, None]:
        self._update_context(self.context)
        self.render_template_fields(self.context)
        try:
            return self.async_notify(self.context).__await__()  # type: ignore[arg-type]
        except Exception as err:
            self.log.error("Failed to send notification (async): %s", err)
            raise


def _render_with(
    env: jinja2.Environment, value: Any, context: Any, template_ext: Sequence[str]
) -> Any:
    if isinstance(value, str):
        if template_ext and value.endswith(tuple(template_ext)):
            return env.get_template(value).render(context)
        return env.from_string(value).render(context)
    if isinstance(value, list | tuple | set):
        return type(value)(_render_with(env, v, context, template_ext) for v in value)
    if isinstance(value, dict):
        return {k: _render_with(env, v, context, template_ext) for k, v in value.items()}
    return value


__all__ = ["BaseNotifier"]
