"""The compiled graph of a serialized DAG: what the state machine reads (pure, no user code)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from airlane.engine import setup_teardown
from airlane.engine.retry_policy import backoff_multiplier
from airlane.sdk.trigger_rule import TriggerRule, normalize_trigger_rule


@dataclass(frozen=True, slots=True)
class MappedInput:
    """One expanded input: its length when literal, or the XCom it comes from."""

    name: str
    length: int | None
    xcom_task_id: str | None
    xcom_key: str | None


@dataclass(frozen=True, slots=True)
class MappedSpec:
    kind: str  # "product" (expand) or "kwargs" (expand_kwargs)
    inputs: tuple[MappedInput, ...]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """The scheduling-relevant part of one task."""

    task_id: str
    order: int
    trigger_rule: TriggerRule
    upstream: tuple[str, ...]
    downstream: tuple[str, ...]
    retries: int
    retry_delay_s: float
    #: the backoff multiplier (0: none; Airflow 3.3's float, True read as 2)
    retry_exponential_backoff: float
    max_retry_delay_s: float | None
    execution_timeout_s: float | None
    priority_weight: int
    queue: str
    pool: str
    pool_slots: int
    is_empty: bool
    kind: str
    depends_on_past: bool
    mapped: MappedSpec | None
    task_group: str | None
    #: Airflow's wait_for_downstream (implies depends_on_past)
    wait_for_downstream: bool = False
    #: with depends_on_past: an instance whose previous run lacks the task goes, when no
    #: earlier run had it (Airflow's ignore_first_depends_on_past; else it waits)
    ignore_first_depends_on_past: bool = False
    #: at most this many of the task's instances queued or running, across the DAG's runs
    #: (Airflow's max_active_tis_per_dag, formerly task_concurrency) / within one run
    max_active_tis_per_dag: int | None = None
    max_active_tis_per_dagrun: int | None = None
    #: Airflow's setup and teardown tasks; a teardown's failure fails the run only with
    #: on_failure_fail_dagrun
    is_setup: bool = False
    is_teardown: bool = False
    on_failure_fail_dagrun: bool = False


def _mapped_spec(raw: Mapping[str, Any] | None) -> MappedSpec | None:
    if not raw:
        return None
    inputs = tuple(
        MappedInput(
            name=item["name"],
            length=item.get("length"),
            xcom_task_id=(item.get("xcom") or {}).get("task_id"),
            xcom_key=(item.get("xcom") or {}).get("key"),
        )
        for item in raw["inputs"]
    )
    return MappedSpec(kind=raw["kind"], inputs=inputs)


def task_spec_from_json(raw: Mapping[str, Any], order: int) -> TaskSpec:
    return TaskSpec(
        task_id=raw["task_id"],
        order=order,
        trigger_rule=normalize_trigger_rule(raw.get("trigger_rule", "all_success")),
        upstream=tuple(raw.get("upstream", ())),
        downstream=tuple(raw.get("downstream", ())),
        retries=int(raw.get("retries", 0)),
        retry_delay_s=float(raw.get("retry_delay_s", 300.0)),
        retry_exponential_backoff=backoff_multiplier(raw.get("retry_exponential_backoff")),
        max_retry_delay_s=raw.get("max_retry_delay_s"),
        execution_timeout_s=raw.get("execution_timeout_s"),
        priority_weight=int(raw.get("priority_weight", 1)),
        queue=raw.get("queue", "default"),
        pool=raw.get("pool", "default_pool"),
        pool_slots=int(raw.get("pool_slots", 1)),
        is_empty=bool(raw.get("is_empty", False)),
        kind=raw.get("kind", "normal"),
        depends_on_past=bool(raw.get("depends_on_past", False))
        or bool(raw.get("wait_for_downstream", False)),
        mapped=_mapped_spec(raw.get("mapped")),
        task_group=raw.get("task_group"),
        wait_for_downstream=bool(raw.get("wait_for_downstream", False)),
        ignore_first_depends_on_past=bool(raw.get("ignore_first_depends_on_past", False)),
        max_active_tis_per_dag=_optional_int(raw.get("max_active_tis_per_dag")),
        max_active_tis_per_dagrun=_optional_int(raw.get("max_active_tis_per_dagrun")),
        is_setup=bool(raw.get("is_setup", False)),
        is_teardown=bool(raw.get("is_teardown", False)),
        on_failure_fail_dagrun=bool(raw.get("on_failure_fail_dagrun", False)),
    )


_FAST_TRIGGERED = frozenset({TriggerRule.ONE_SUCCESS, TriggerRule.ONE_FAILED, TriggerRule.ONE_DONE})


def _innermost_mapped_groups(
    specs: Iterable[TaskSpec], parents: Mapping[str, str | None], mapped: Mapping[str, MappedSpec]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for spec in specs:
        group = spec.task_group
        while group is not None and group not in mapped:
            group = parents.get(group)
        if group is not None:
            found[spec.task_id] = group
    return found


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


class DagGraph:
    """Tasks by id with their edges, group membership and derived lookups."""

    def __init__(
        self,
        dag_id: str,
        tasks: Iterable[TaskSpec],
        groups: Mapping[str, frozenset[str]],
        fail_fast: bool = False,
        mapped_groups: Mapping[str, MappedSpec] | None = None,
        mapped_group_of: Mapping[str, str] | None = None,
    ):
        self.dag_id = dag_id
        self.tasks: dict[str, TaskSpec] = {t.task_id: t for t in tasks}
        #: group id -> every task id inside it, nested groups included
        self.groups = dict(groups)
        #: Airflow's fail_fast (fail_stop): a task's failure stops the run's other instances
        self.fail_fast = fail_fast
        #: mapped task groups: group id -> its expanded input
        self.mapped_groups = dict(mapped_groups or {})
        #: task id -> the innermost mapped task group it is in (tasks in one only)
        self.mapped_group_of = dict(mapped_group_of or {})

    @classmethod
    def from_serialized(cls, data: Mapping[str, Any]) -> DagGraph:
        specs = [task_spec_from_json(raw, i) for i, raw in enumerate(data["tasks"])]
        groups: dict[str, set[str]] = {}
        for spec in specs:
            group = spec.task_group
            while group:
                groups.setdefault(group, set()).add(spec.task_id)
                group = group.rpartition(".")[0] if "." in group else None
        parents = {g["group_id"]: g.get("parent") for g in data.get("task_groups", [])}
        for group_id in list(groups):
            parent = parents.get(group_id)
            while parent:
                groups.setdefault(parent, set()).update(groups[group_id])
                parent = parents.get(parent)
        frozen = {k: frozenset(v) for k, v in groups.items()}
        mapped = {
            g["group_id"]: group_spec
            for g in data.get("task_groups", [])
            if (group_spec := _mapped_spec(g.get("mapped"))) is not None
        }
        return cls(
            data["dag_id"],
            specs,
            frozen,
            fail_fast=bool(data.get("fail_stop")),
            mapped_groups=mapped,
            mapped_group_of=_innermost_mapped_groups(specs, parents, mapped),
        )

    def expansion(self, task_id: str) -> MappedSpec | None:
        """What the task's instances are expanded from: its own mapping or its mapped group's."""
        spec = self.tasks[task_id]
        if spec.mapped is not None:
            return spec.mapped
        group = self.mapped_group_of.get(task_id)
        return self.mapped_groups[group] if group is not None else None

    @cached_property
    def per_index_edges(self) -> frozenset[tuple[str, str]]:
        """(upstream, downstream) edges inside one mapped task group: the downstream's instance
        of map index i depends on the upstream's instance i only. As Airflow, not for the
        one_success / one_failed / one_done rules, which read every index of the upstream."""
        edges: set[tuple[str, str]] = set()
        for down, spec in self.tasks.items():
            group = self.mapped_group_of.get(down)
            if group is None or spec.trigger_rule in _FAST_TRIGGERED:
                continue
            edges.update(
                (up, down) for up in spec.upstream if self.mapped_group_of.get(up) == group
            )
        return frozenset(edges)

    @cached_property
    def leaves(self) -> frozenset[str]:
        return frozenset(t.task_id for t in self.tasks.values() if not t.downstream)

    @cached_property
    def state_leaves(self) -> frozenset[str]:
        """The leaves that decide the run's state: teardowns ignored (see setup_teardown)."""
        return setup_teardown.effective_leaves(self)

    @cached_property
    def indirect_setups(self) -> dict[str, tuple[str, ...]]:
        """Task id -> the setups it waits for without being their direct downstream."""
        return setup_teardown.indirect_setups(self)

    @cached_property
    def setup_dependents(self) -> dict[str, tuple[str, ...]]:
        """Setup task id -> the tasks of :attr:`indirect_setups` that wait for it."""
        return setup_teardown.dependents(self.indirect_setups)

    @cached_property
    def teardowns(self) -> frozenset[str]:
        return frozenset(t for t, spec in self.tasks.items() if spec.is_teardown)

    @cached_property
    def roots(self) -> tuple[str, ...]:
        return tuple(t.task_id for t in self.tasks.values() if not t.upstream)

    def descendants(self, task_id: str) -> set[str]:
        """Every task downstream of ``task_id``, transitively."""
        return self._reachable(task_id, downstream=True)

    def ancestors(self, task_id: str) -> set[str]:
        """Every task upstream of ``task_id``, transitively."""
        return self._reachable(task_id, downstream=False)

    def _reachable(self, task_id: str, *, downstream: bool) -> set[str]:
        def neighbours(name: str) -> tuple[str, ...]:
            spec = self.tasks[name]
            return spec.downstream if downstream else spec.upstream

        seen: set[str] = set()
        stack = list(neighbours(task_id))
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(neighbours(current))
        return seen

    def expand_ids(self, ids: Iterable[str]) -> set[str]:
        """Task ids, with group ids replaced by the tasks inside them."""
        result: set[str] = set()
        for item in ids:
            if item in self.tasks:
                result.add(item)
            elif item in self.groups:
                result.update(self.groups[item])
        return result


def relatives(
    dag: dict[str, Any], task_ids: set[str], *, upstream: bool, downstream: bool
) -> set[str]:
    """``task_ids`` of a serialized DAG with all their upstream and/or downstream tasks."""
    edges = {t["task_id"]: t for t in dag.get("tasks", [])}
    found = set(task_ids)
    for direction, wanted in (("upstream", upstream), ("downstream", downstream)):
        if not wanted:
            continue
        todo = list(task_ids)
        while todo:
            for other in edges.get(todo.pop(), {}).get(direction, []):
                if other not in found:
                    found.add(other)
                    todo.append(other)
    return found


def clear_subset(
    dag: dict[str, Any], task_ids: set[str], *, upstream: bool, downstream: bool
) -> set[str]:
    """The tasks to clear for ``task_ids`` of a serialized DAG, as Airflow's ``partial_subset``
    picks them: with their upstream and/or downstream tasks, and their setups and teardowns."""
    graph = DagGraph.from_serialized(dag)
    return setup_teardown.subset_ids(graph, task_ids, upstream=upstream, downstream=downstream)
