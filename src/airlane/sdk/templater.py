"""Airflow's template-rendering methods of operators (``airflow.sdk.definitions._internal.
templater.Templater`` and the operator's overrides of it), for operators that override them.

Airlane renders an operator's ``template_fields`` itself (``templating.render_template_fields``).
An operator class that overrides one of the methods below (``render_template_fields`` to convert
a field after rendering, ``prepare_template`` to parse a file's content, ``render_template`` or
``get_template_env``...) is rendered as Airflow's task runner renders it instead: its
``resolve_template_files()`` first (Airflow runs it when it parses the DAG file: file contents
replace file names, then ``prepare_template()``), then ``render_template_fields(context,
jinja_env)`` with the DAG's environment, which goes through the operator's own methods.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airlane.sdk.literal import LiteralValue

if TYPE_CHECKING:
    import jinja2

    from airlane.sdk.context import Context
    from airlane.sdk.dag import DAG

log = logging.getLogger(__name__)

#: the methods whose override makes Airlane render through the operator's own methods
RENDERING_METHODS = (
    "render_template_fields",
    "_do_render_template_fields",
    "render_template",
    "get_template_env",
    "prepare_template",
    "resolve_template_files",
    "_render_nested_template_fields",
)


class Templater:
    """Airflow's rendering methods; BaseOperator inherits them."""

    template_fields: ClassVar[Sequence[str]] = ()
    template_ext: ClassVar[Sequence[str]] = ()

    def get_template_env(self, dag: DAG | None = None) -> jinja2.Environment:
        """The DAG's Jinja environment; a bare sandboxed one without a DAG."""
        import jinja2.sandbox

        from airlane.sdk.templating import get_environment

        dag = dag or getattr(self, "dag", None)
        if dag is not None:
            return get_environment(dag)
        return jinja2.sandbox.SandboxedEnvironment(cache_size=0)

    def prepare_template(self) -> None:
        """Called once the fields naming template files hold the files' content."""

    def resolve_template_files(self) -> None:
        """Replace fields that name a template file (by ``template_ext``) with its content, then
        ``prepare_template()``. Lists are replaced, not changed in place: the operator may be a
        copy sharing them with the loaded DAG's."""
        if self.template_ext:
            for name in self.template_fields:
                content = getattr(self, name, None)
                if isinstance(content, str) and content.endswith(tuple(self.template_ext)):
                    setattr(self, name, self._template_source(name, content))
                elif isinstance(content, list):
                    setattr(self, name, [self._template_source(name, item) for item in content])
        self.prepare_template()

    def _template_source(self, name: str, item: Any) -> Any:
        if not isinstance(item, str) or not item.endswith(tuple(self.template_ext)):
            return item
        env = self.get_template_env()
        try:
            return env.loader.get_source(env, item)[0]  # type: ignore[union-attr]
        except Exception:
            log.exception("Failed to resolve template field %r", name)
            return item

    def render_template_fields(
        self, context: Context, jinja_env: jinja2.Environment | None = None
    ) -> None:
        """Render every field in ``template_fields`` in place."""
        if not jinja_env:
            jinja_env = self.get_template_env()
        self._do_render_template_fields(self, self.template_fields, context, jinja_env, set())

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Iterable[str],
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        for name in template_fields:
            try:
                value = getattr(parent, name)
            except AttributeError:
                raise AttributeError(
                    f"{name!r} is configured as a template field "
                    f"but {type(parent).__name__} does not have this attribute."
                ) from None
            if _is_empty(value):
                continue
            try:
                if callable(value):
                    rendered = value(context=context, jinja_env=jinja_env)
                else:
                    rendered = self.render_template(value, context, jinja_env, seen_oids)
            except Exception:
                log.error(
                    "Exception rendering Jinja template for task '%s', field '%s'",
                    getattr(self, "task_id", type(self).__name__),
                    name,
                )
                raise
            setattr(parent, name, rendered)

    def render_template(
        self,
        content: Any,
        context: Context,
        jinja_env: jinja2.Environment | None = None,
        seen_oids: set[int] | None = None,
    ) -> Any:
        """``content`` rendered: strings (or the files they name), inside collections too; XCom
        references resolved; objects with ``template_fields`` of their own rendered in place."""
        from airlane.sdk.templating import render_string, render_value

        value = content
        oids = seen_oids if seen_oids is not None else set()
        if id(value) in oids:
            return value
        if not jinja_env:
            jinja_env = self.get_template_env()
        if isinstance(value, str):
            return render_string(value, context, jinja_env, self.template_ext)
        if isinstance(value, LiteralValue):  # literal(...): as it is, never rendered
            return value.value
        if _is_reference(value):
            return render_value(value, context, getattr(self, "dag", None), (), jinja_env)  # type: ignore[arg-type]
        if value.__class__ is tuple:
            return tuple(self.render_template(item, context, jinja_env, oids) for item in value)
        if isinstance(value, tuple):  # a named tuple
            items = (self.render_template(v, context, jinja_env, oids) for v in value)
            return value.__class__(*items)
        if isinstance(value, list):
            return [self.render_template(item, context, jinja_env, oids) for item in value]
        if isinstance(value, dict):
            return {k: self.render_template(v, context, jinja_env, oids) for k, v in value.items()}
        if isinstance(value, set):
            return {self.render_template(item, context, jinja_env, oids) for item in value}
        self._render_nested_template_fields(value, context, jinja_env, oids)
        return value

    def _render_nested_template_fields(
        self, value: Any, context: Context, jinja_env: jinja2.Environment, seen_oids: set[int]
    ) -> None:
        if id(value) in seen_oids:
            return
        seen_oids.add(id(value))
        nested = getattr(value, "template_fields", None)
        if nested is None:
            return
        self._do_render_template_fields(value, nested, context, jinja_env, seen_oids)


def _is_empty(value: Any) -> bool:
    try:
        return not value
    except Exception:  # a value without a truth value (a pandas DataFrame...) is rendered
        return False


def _is_reference(value: Any) -> bool:
    """An XComArg, a mapped group's argument or a ``@dag`` parameter: resolved, not rendered."""
    from airlane.sdk.decorators import DagParam
    from airlane.sdk.mapped_group import MappedArgument
    from airlane.sdk.xcom_arg import XComArg

    return isinstance(value, XComArg | MappedArgument | DagParam)


def overrides_rendering(task: Any) -> bool:
    """Whether ``task``'s class overrides one of Airflow's rendering methods."""
    if not isinstance(task, Templater):
        return False
    cls: type = type(task)
    return _class_overrides_rendering(cls)


@functools.lru_cache(maxsize=1024)
def _class_overrides_rendering(cls: type) -> bool:
    """Per class (asked on every try of its tasks)."""
    return any(
        getattr(cls, name, None) is not getattr(Templater, name) for name in RENDERING_METHODS
    )


def render_operator(task: Any, context: Context, dag: DAG) -> None:
    """Render ``task``'s fields in place: through its own methods when it overrides Airflow's
    (as Airflow's task runner), else by Airlane's renderer."""
    from airlane.sdk.templating import get_environment, render_template_fields

    if not overrides_rendering(task):
        render_template_fields(task, context, dag)
        return
    task.resolve_template_files()
    task.render_template_fields(context, get_environment(dag))


__all__ = ["Templater"]
