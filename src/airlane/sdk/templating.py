"""Jinja2 rendering of templated fields, with Airflow's environment and filters."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.nativetypes
import jinja2.sandbox
import orjson

from airlane.sdk.context import Context
from airlane.sdk.literal import LiteralValue
from airlane.sdk.mapped_group import MappedArgument, relevant_map_indexes
from airlane.sdk.xcom_arg import XComArg

if TYPE_CHECKING:
    from airlane.sdk.dag import DAG

_ENV_ATTR = "_airlane_jinja_env"


def _filters() -> dict[str, Any]:
    return {
        "ds": lambda value: value.strftime("%Y-%m-%d"),
        "ds_nodash": lambda value: value.strftime("%Y%m%d"),
        "ts": lambda value: value.isoformat(),
        "ts_nodash": lambda value: value.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": lambda value: value.isoformat().replace("-", "").replace(":", ""),
    }


def get_environment(dag: DAG) -> jinja2.Environment:
    """The DAG's Jinja environment: strict undefined, templates looked up beside the DAG file."""
    env = getattr(dag, _ENV_ATTR, None)
    if env is not None:
        return env  # type: ignore[no-any-return]
    searchpath = [os.path.dirname(os.path.abspath(dag.fileloc)), *dag.template_searchpath]
    options: dict[str, Any] = {
        "loader": jinja2.FileSystemLoader(searchpath),
        "undefined": dag.template_undefined or jinja2.StrictUndefined,
        "extensions": ["jinja2.ext.do"],
        **dag.jinja_environment_kwargs,
    }
    if dag.render_template_as_native_obj:
        env = jinja2.nativetypes.NativeEnvironment(**options)
    else:
        env = jinja2.sandbox.SandboxedEnvironment(**options)
    env.filters.update(_filters())
    env.filters.update(dag.user_defined_filters)
    env.globals.update(dag.user_defined_macros)
    setattr(dag, _ENV_ATTR, env)
    return env


def render_string(
    value: str, context: Context, env: jinja2.Environment, template_ext: Sequence[str]
) -> Any:
    """A template string (or the file it names, by its extension) rendered with ``env``."""
    if template_ext and value.endswith(tuple(template_ext)):
        return env.get_template(value).render(context)
    if "{{" not in value and "{%" not in value and "{#" not in value:
        return value
    return env.from_string(value).render(context)


#: the exact types ``render_value`` gives back as they are (checked before the others: the
#: values of most fields)
_UNRENDERED = frozenset({int, float, bool, type(None)})


def render_value(
    value: Any,
    context: Context,
    dag: DAG,
    template_ext: Sequence[str],
    env: jinja2.Environment | None = None,
) -> Any:
    """Render strings inside ``value`` (with ``env``, by default the DAG's environment);
    XComArgs become their values, which are never rendered."""
    kind = type(value)
    if kind in _UNRENDERED:
        return value
    if kind is list:  # the common containers first, as the checks below would treat them
        return [render_value(v, context, dag, template_ext, env) for v in value]
    if kind is dict:
        return {k: render_value(v, context, dag, template_ext, env) for k, v in value.items()}
    from airlane.sdk.decorators import DagParam

    if isinstance(value, str):
        return render_string(value, context, env or get_environment(dag), template_ext)
    if isinstance(value, LiteralValue):  # literal(...): as it is, never rendered
        return value.value
    if isinstance(value, XComArg):
        return _pull_xcom_arg(value, context)
    if isinstance(value, MappedArgument):
        return value.resolve(context["ti"])
    if isinstance(value, DagParam):
        return value.resolve(context)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # namedtuple
        return type(value)(*(render_value(v, context, dag, template_ext, env) for v in value))
    if isinstance(value, list | tuple | set):
        return type(value)(render_value(v, context, dag, template_ext, env) for v in value)
    if isinstance(value, dict):
        return {k: render_value(v, context, dag, template_ext, env) for k, v in value.items()}
    return value


def _pull_xcom_arg(arg: XComArg, context: Context) -> Any:
    """An XComArg's value; in a mapped task group, the value of the same map index (see
    mapped_group.relevant_map_indexes)."""
    ti = context["ti"]
    task_id = arg.operator.task_id
    indexes = relevant_map_indexes(context.get("task"), arg.operator, ti)
    return ti.pull_xcom_arg(task_id, arg.key, indexes)


def render_map_index(context: Context, dag: DAG) -> str | None:
    """The context's ``map_index_template`` rendered with the context as it is after the task
    ran (values the task set in it included), as Airflow names a mapped instance."""
    template = context.get("map_index_template")
    if template is None:
        return None
    return str(get_environment(dag).from_string(template).render(context))


class TemplateFieldError(Exception):
    """Rendering a templated field failed; the message names the field."""


#: Airflow's ``max_templated_field_length``: longer rendered values are cut for display
MAX_RENDERED_CHARS = 4096


def rendered_snapshot(task: Any) -> dict[str, Any]:
    """The rendered template fields of ``task`` as JSON data, for people to read (Airflow's
    rendered template fields): long text is cut, values JSON cannot hold become their repr."""
    found: dict[str, Any] = {}
    for name in task.template_fields:
        value = getattr(task, name, None)
        try:
            text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            value = text = repr(value)
        if len(text) > MAX_RENDERED_CHARS:
            value = (value if isinstance(value, str) else text)[:MAX_RENDERED_CHARS] + "..."
        found[name] = value
    return found


def render_template_fields(task: Any, context: Context, dag: DAG) -> None:
    """Render every field named in ``task.template_fields`` in place (``task`` is a copy)."""
    template_ext = getattr(task, "template_ext", ())
    for name in task.template_fields:
        value = getattr(task, name, None)
        if value is None:
            continue
        try:
            rendered = render_value(value, context, dag, template_ext)
        except jinja2.TemplateNotFound as err:
            raise TemplateFieldError(f"Template file of {name} not found: {err.name}") from err
        except jinja2.TemplateError as err:
            raise TemplateFieldError(f"Error rendering template field {name}: {err}") from err
        setattr(task, name, rendered)
