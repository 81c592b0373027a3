"""The serialized form of a DAG: JSON that the coordinator and the API use instead of user code.

Format 1, one object per DAG::

    {"format": 1, "hash": sha256 of the rest, "dag_id", "fileloc", "lineno", "schedule": {...},
     "start_date", "timezone", "catchup", ..., "params": {name: {"value", "schema", ...}},
     "tasks": [{"task_id", "operator", "kind", "upstream", "downstream", "trigger_rule",
                "retries", "retry_delay_s", ..., "mapped": null | {"kind", "inputs"},
                "outlets", "inlets" (assets only, when the task has any): [asset or alias refs]}],
     "task_groups": [{"group_id", "parent", "tooltip", "children",
                      "mapped" (mapped task groups only): {"kind", "inputs"}}]}
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import orjson

from airlane.sdk import ui_options
from airlane.sdk.asset_lineage import asset_lineage_json
from airlane.sdk.baseoperator import BaseOperator, email_alert_ends
from airlane.sdk.dag import DAG
from airlane.sdk.mapped import MappedOperator
from airlane.sdk.mapped_group import MappedTaskGroup
from airlane.sdk.node import DAGNode
from airlane.sdk.priority_strategy import PriorityWeightStrategy, custom_weight, weight_rule_name
from airlane.sdk.schedules import describe_schedule
from airlane.sdk.sensors.base import BaseSensorOperator
from airlane.sdk.sensors.external_task import ExternalTaskMarker
from airlane.sdk.taskgroup import TaskGroup
from airlane.sdk.xcom_arg import XComArg

FORMAT_VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _jsonable(value: Any) -> Any:
    """``value`` if orjson can store it, else its repr (params and args may hold anything)."""
    try:
        orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        return value
    except TypeError:
        return repr(value)


def effective_priority(dag: DAG) -> dict[str, int]:
    """Airflow's ``weight_rule``: downstream (own + all downstream), upstream, absolute, or
    what a plugin's PriorityWeightStrategy says (``sdk/priority_strategy.py``)."""
    tasks = dag.task_dict
    result: dict[str, int] = {}
    for task_id, task in tasks.items():
        rule = getattr(task, "weight_rule", "downstream")
        own = int(getattr(task, "priority_weight", 1))
        if isinstance(rule, PriorityWeightStrategy):
            result[task_id] = custom_weight(rule, task, dag.dag_id)
            continue
        if rule == "absolute":
            result[task_id] = own
            continue
        related = _relatives(tasks, task_id, downstream=(rule == "downstream"))
        result[task_id] = own + sum(int(getattr(tasks[t], "priority_weight", 1)) for t in related)
    return result


def _relatives(tasks: dict[str, DAGNode], task_id: str, *, downstream: bool) -> set[str]:
    seen: set[str] = set()
    stack = [task_id]
    while stack:
        node = tasks[stack.pop()]
        for other in node.downstream_task_ids if downstream else node.upstream_task_ids:
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return seen


def _mapped_json(task: MappedOperator) -> dict[str, Any]:
    if task.expand_kwargs_input is not None:
        source = task.expand_kwargs_input
        return {"kind": "kwargs", "inputs": [_input_json("*", source)]}
    return {"kind": "product", "inputs": [_input_json(n, v) for n, v in task.expand_input.items()]}


def _input_json(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, XComArg):
        return {
            "name": name,
            "length": None,
            "xcom": {"task_id": value.operator.task_id, "key": value.key},
        }
    return {"name": name, "length": len(value), "xcom": None}


def extra_links_json(op: Any) -> list[dict[str, str]]:
    """The operator's extra links, by name and the XCom key each one's URL is pushed under
    (sdk/operator_link.py): what the API's ``links`` route reads."""
    found = []
    for link in getattr(op, "operator_extra_links", ()) or ():
        found.append({"name": str(link.name), "xcom_key": str(link.xcom_key)})
    return sorted(found, key=lambda link: link["name"])


def serialize_task(task: DAGNode, priority: int) -> dict[str, Any]:
    op: BaseOperator = task.prototype if isinstance(task, MappedOperator) else task  # type: ignore[assignment]
    operator_class = type(op)
    sensor = None
    if isinstance(op, BaseSensorOperator):
        sensor = {
            "mode": op.mode,
            "poke_interval_s": op.poke_interval_s,
            "timeout_s": op.timeout_s,
            "soft_fail": op.soft_fail,
        }
    serialized = {
        "task_id": task.task_id,
        "operator": op.operator_name,
        "operator_module": operator_class.__module__,
        "kind": op.task_kind,
        # as Airflow's DagRun.schedule_tis: an empty task with lineage runs on a worker (its
        # success records asset events)
        "is_empty": bool(op.is_empty)
        and not (op.on_execute_callback or op.on_success_callback)
        and not (getattr(op, "outlets", None) or getattr(op, "inlets", None)),
        "upstream": sorted(task.upstream_task_ids),
        "downstream": sorted(task.downstream_task_ids),
        # the task's own: as_teardown() on a mapped task sets it there, not on the prototype
        "trigger_rule": task.trigger_rule.value,
        "is_setup": task.is_setup,
        "is_teardown": task.is_teardown,
        "on_failure_fail_dagrun": task.on_failure_fail_dagrun,
        "retries": op.retries,
        "retry_delay_s": op.retry_delay.total_seconds(),
        "retry_exponential_backoff": op.retry_exponential_backoff,
        "max_retry_delay_s": _seconds(op.max_retry_delay),
        "execution_timeout_s": _seconds(op.execution_timeout),
        "priority_weight": priority,
        "weight_rule": weight_rule_name(op.weight_rule),
        "queue": op.queue,
        "pool": op.pool,
        "pool_slots": op.pool_slots,
        "depends_on_past": op.depends_on_past,
        "wait_for_downstream": op.wait_for_downstream,
        "owner": op.owner,
        "start_date": _iso(op.start_date),
        "end_date": _iso(op.end_date),
        "task_group": task.task_group.group_id if task.task_group else None,
        "template_fields": list(op.template_fields),
        "template_fields_renderers": dict(op.template_fields_renderers),
        "doc_md": op.doc_md,
        "ui_color": op.ui_color,
        "ui_fgcolor": op.ui_fgcolor,
        "do_xcom_push": op.do_xcom_push,
        "multiple_outputs": op.multiple_outputs,
        "max_active_tis_per_dag": op.max_active_tis_per_dag,
        "max_active_tis_per_dagrun": op.max_active_tis_per_dagrun,
        "has_callbacks": sorted(
            name
            for name in (
                "on_execute_callback",
                "on_success_callback",
                "on_failure_callback",
                "on_retry_callback",
                "on_skipped_callback",
            )
            if getattr(op, name, None)
        ),
        "sensor": sensor,
        "mapped": _mapped_json(task) if isinstance(task, MappedOperator) else None,
        "params": {k: _jsonable(v) for k, v in op.params.dump().items()},
    }
    serialized.update(asset_lineage_json(op))
    links = extra_links_json(op)
    if links:  # (absent when none: the form, and so the version, of other DAGs is unchanged)
        serialized["extra_links"] = links
    if op.ignore_first_depends_on_past:  # (absent when False, Airflow's default)
        serialized["ignore_first_depends_on_past"] = True
    display_name = getattr(op, "task_display_name", None) or op.task_id
    if display_name != op.task_id:  # (absent when none: other DAGs' form unchanged)
        serialized["task_display_name"] = display_name
    emails = email_alert_ends(op)
    if emails:  # which ends of a try send its email: a dead try's too (the callbacks role)
        serialized["email_alerts"] = emails
    if task.returns_dag_result:  # (likewise)
        serialized["returns_dag_result"] = True
    if isinstance(op, ExternalTaskMarker):
        # what clearing follows into the other DAG (api/clear_across.py); the strings are
        # templates, rendered against the marker's run when it is cleared
        serialized["external_marker"] = {
            "external_dag_id": op.external_dag_id,
            "external_task_id": op.external_task_id,
            "logical_date": op.logical_date,
            "recursion_depth": op.recursion_depth,
        }
    return serialized


def _groups_json(root: TaskGroup) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for group in root.iter_groups():
        parent = group.parent_group
        groups.append(
            {
                "group_id": group.group_id,
                "label": group.label,
                "parent": parent.group_id if parent and not parent.is_root else None,
                "tooltip": group.tooltip,
                "ui_color": group.ui_color,
                "children": list(group.children),
            }
        )
        if group.group_display_name != group.label:
            groups[-1]["group_display_name"] = group.group_display_name
        if isinstance(group, MappedTaskGroup):
            groups[-1]["mapped"] = _mapped_group_json(group)
    return groups


def _mapped_group_json(group: MappedTaskGroup) -> dict[str, Any]:
    if group.expand_kwargs_input is not None:
        return {"kind": "kwargs", "inputs": [_input_json("*", group.expand_kwargs_input)]}
    assert group.expand_input is not None
    return {"kind": "product", "inputs": [_input_json(n, v) for n, v in group.expand_input.items()]}


def _topological(dag: DAG) -> list[DAGNode]:
    """Tasks upstream first, ties in definition order (the cycle check ran before)."""
    order = {t: i for i, t in enumerate(dag.task_dict)}
    indegree = {t: len(n.upstream_task_ids) for t, n in dag.task_dict.items()}
    ready = [t for t, d in indegree.items() if d == 0]
    result: list[DAGNode] = []
    import heapq

    heap = [(order[t], t) for t in ready]
    heapq.heapify(heap)
    while heap:
        _, task_id = heapq.heappop(heap)
        node = dag.task_dict[task_id]
        result.append(node)
        for down in node.downstream_task_ids:
            indegree[down] -= 1
            if indegree[down] == 0:
                heapq.heappush(heap, (order[down], down))
    return result


def serialize_dag(dag: DAG, *, relative_fileloc: str | None = None) -> dict[str, Any]:
    """The JSON form of ``dag``, with ``hash`` over everything else."""
    priority = effective_priority(dag)
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "dag_id": dag.dag_id,
        "dag_display_name": dag.dag_display_name,
        "fileloc": dag.fileloc,
        "relative_fileloc": relative_fileloc,
        "lineno": dag.lineno,
        "description": dag.description,
        "doc_md": dag.doc_md,
        "schedule": describe_schedule(dag.schedule),
        "timezone": dag.timezone,
        "start_date": _iso(dag.start_date or _earliest_task_start(dag.task_dict.values())),
        "end_date": _iso(dag.end_date),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "max_consecutive_failed_dag_runs": dag.max_consecutive_failed_dag_runs,
        "dagrun_timeout_s": _seconds(dag.dagrun_timeout),
        # a sub-DAG's runs are started by its parent's SubDagOperator, which a paused sub-DAG
        # would hold forever
        "is_paused_upon_creation": False if dag.is_subdag else dag.is_paused_upon_creation,
        "parent_dag_id": dag.parent_dag.dag_id if dag.parent_dag else None,
        "render_template_as_native_obj": dag.render_template_as_native_obj,
        "tags": sorted(dag.tags),
        "owner": dag.owner,
        "owner_links": dag.owner_links,
        "params": {k: _jsonable(v) for k, v in dag.params.dump().items()},
        "has_on_success_callback": bool(dag.on_success_callback),
        "has_on_failure_callback": bool(dag.on_failure_callback),
        "fail_stop": dag.fail_fast,
        "edge_info": dag.edge_info,
        "tasks": [serialize_task(t, priority[t.task_id]) for t in _topological(dag)],
        "task_groups": _groups_json(dag.task_group),
    }
    data.update(_ui_options(dag))
    data["hash"] = content_hash(data)
    return data


def _ui_options(dag: DAG) -> dict[str, Any]:
    """Airflow 2's default_view and orientation, access_control, Airflow 3.1's deadline
    alerts and 3.2's allowed_run_types, when the DAG sets them (left out otherwise: a DAG
    without them keeps its serialized form and hash)."""
    options: dict[str, Any] = {}
    if dag.default_view != ui_options.DEFAULT_VIEW:
        options["default_view"] = dag.default_view
    if dag.orientation != ui_options.DEFAULT_ORIENTATION:
        options["orientation"] = dag.orientation
    if dag.access_control is not None:
        options["access_control"] = dag.access_control
    if dag.deadline:
        options["deadline"] = [alert.to_json() for alert in dag.deadline]
    if dag.allowed_run_types is not None:
        options["allowed_run_types"] = sorted(dag.allowed_run_types)
    return options


def content_hash(data: dict[str, Any]) -> str:
    body = {k: v for k, v in data.items() if k != "hash"}
    return hashlib.sha256(
        orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    ).hexdigest()


def _earliest_task_start(tasks: Iterable[DAGNode]) -> datetime | None:
    starts = [s for s in (getattr(t, "start_date", None) for t in tasks) if s is not None]
    return min(starts) if starts else None
