"""The ``ti`` object a running task sees: identity, XCom access, branch decisions."""

from __future__ import annotations

import functools
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson

from airlane.dag_loader.generation import file_written_for_airflow_2
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.mapped import MappedOperator
from airlane.sdk.mapped_group import closest_mapped_group
from airlane.sdk.models import TaskInstance
from airlane.sdk.serde import deserialize, is_mappable_value, serialize
from airlane.sdk.xcom_arg import RETURN_VALUE_KEY

MISSING: Any = object()


class XComAccess(Protocol):
    """XCom values of one run, read and written synchronously (values are JSON data: serde's
    form of what was pushed, ``encode_xcom``)."""

    def get(self, task_id: str, map_index: int, key: str) -> Any: ...

    def get_mapped(self, task_id: str, key: str) -> list[Any]: ...

    def set(self, task_id: str, map_index: int, key: str, value: Any) -> None: ...


class InMemoryXComs:
    """XComs kept in a dict: ``dags test`` and unit tests."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, int, str], Any] = {}

    def get(self, task_id: str, map_index: int, key: str) -> Any:
        return self.values.get((task_id, map_index, key), MISSING)

    def get_mapped(self, task_id: str, key: str) -> list[Any]:
        found = sorted(
            (m, v) for (t, m, k), v in self.values.items() if t == task_id and k == key and m >= 0
        )
        return [v for _, v in found]

    def set(self, task_id: str, map_index: int, key: str, value: Any) -> None:
        self.values[(task_id, map_index, key)] = value


def encode_xcom(value: Any, max_bytes: int, where: str) -> Any:
    """``value`` as Airflow stores it (its ``serde`` JSON data, sdk/serde.py), checked against
    the size limit: what the stores keep, and what ``decode_xcom`` turns back into the value."""
    try:
        raw = orjson.dumps(serialize(value))
    except (TypeError, AttributeError, RecursionError) as err:
        raise AirflowException(f"XCom value of {where} cannot be serialized: {err}") from None
    if len(raw) > max_bytes:
        raise AirflowException(
            f"XCom value of {where} is {len(raw)} bytes, over the limit of {max_bytes} bytes "
            "(AIRLANE_XCOM_MAX_BYTES); store large data elsewhere and pass a reference"
        )
    return orjson.loads(raw)


def decode_xcom(stored: Any) -> Any:
    """A stored XCom value as it was pushed (MISSING stays MISSING)."""
    return stored if stored is MISSING else deserialize(stored)


@functools.lru_cache(maxsize=1)
def _hostname() -> str:
    return socket.gethostname()  # a system call: once per process, not once per try


@dataclass
class RuntimeTaskInstance:
    """Airflow's TaskInstance as seen from inside a running task."""

    dag: DAG
    task: Any
    run_id: str
    map_index: int
    try_number: int
    max_tries: int
    logical_date: datetime | None
    xcoms: XComAccess
    xcom_max_bytes: int
    sensor_started_at: datetime | None = None
    poke_count: int = 0
    start_date: datetime | None = None
    hostname: str = field(default_factory=_hostname)
    state: str = "running"
    follow: tuple[str, ...] | None = None
    short_circuit_scope: str | None = None
    pushed_lengths: dict[str, int] = field(default_factory=dict)
    #: the task's map_index_template, rendered once it ran
    rendered_map_index: str | None = None
    on_log: Callable[[str], None] | None = None
    dag_run: Any = None  # the run's DagRunView, set when the context is built

    @property
    def dag_id(self) -> str:
        return self.dag.dag_id

    @property
    def task_id(self) -> str:
        return str(self.task.task_id)

    @property
    def execution_date(self) -> datetime | None:
        return self.logical_date

    def __repr__(self) -> str:
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id} [{self.state}]>"

    def xcom_push(self, key: str, value: Any, **_: Any) -> None:
        stored = encode_xcom(value, self.xcom_max_bytes, f"{self.task_id} (key {key!r})")
        self.xcoms.set(self.task_id, self.map_index, key, stored)
        if is_mappable_value(value):  # (a downstream task may be mapped over it)
            self.pushed_lengths[key] = len(value)

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        dag_id: str | None = None,
        key: str = RETURN_VALUE_KEY,
        include_prior_dates: bool = False,
        map_indexes: int | Iterable[int] | None = None,
        default: Any = None,
        **_: Any,
    ) -> Any:
        """One value for a task id; a list for a list of task ids (or a mapped task's values).

        A mapped task (or a task of a mapped group) pulled alone without ``map_indexes`` gives
        its values over every map index, as a list in Airflow 2 (a lazy sequence); Airflow 3.1's
        task SDK returns the one value alone when there is just one, and None when there is
        none (``xcom_pull``: ``len(xcoms) == 1``), which files written for Airflow 3 get.
        """
        if task_ids is not None and not isinstance(task_ids, str):
            return [self._pull_one(t, key, map_indexes, default) for t in task_ids]
        task_id = self.task_id if task_ids is None else task_ids
        value = self._pull_one(task_id, key, map_indexes, default)
        few = map_indexes is None and self._every_index(task_id) and len(value) < 2
        if few and not file_written_for_airflow_2(self.dag.fileloc):
            return value[0] if value else None
        return value

    def pull_xcom_arg(
        self, task_id: str, key: str, map_indexes: Iterable[int] | None = None
    ) -> Any:
        """An XComArg's value (Airflow's ``XComArg.resolve``): a mapped task's values are a
        list whatever their number (the values a downstream task reduces)."""
        return self._pull_one(task_id, key, map_indexes, None)

    def _every_index(self, task_id: str) -> bool:
        node = self.dag.task_dict.get(task_id)
        return isinstance(node, MappedOperator) or closest_mapped_group(node) is not None

    def _pull_one(
        self, task_id: str, key: str, map_indexes: int | Iterable[int] | None, default: Any
    ) -> Any:
        node = self.dag.task_dict.get(task_id)
        if closest_mapped_group(node) is not None and map_indexes is not None:
            # as Airflow: each wanted index in order, the default where it pushed nothing
            if isinstance(map_indexes, int):
                return self._value_or(task_id, map_indexes, key, default)
            return [self._value_or(task_id, i, key, default) for i in map_indexes]
        if isinstance(node, MappedOperator) or closest_mapped_group(node) is not None:
            if isinstance(map_indexes, int):
                value = decode_xcom(self.xcoms.get(task_id, map_indexes, key))
                return default if value is MISSING else value
            values = [decode_xcom(v) for v in self.xcoms.get_mapped(task_id, key)]
            if map_indexes is not None:
                wanted = set(map_indexes)
                return [v for i, v in enumerate(values) if i in wanted]
            return values
        value = decode_xcom(self.xcoms.get(task_id, -1, key))
        return default if value is MISSING else value

    def _value_or(self, task_id: str, map_index: int, key: str, default: Any) -> Any:
        value = decode_xcom(self.xcoms.get(task_id, map_index, key))
        return default if value is MISSING else value

    def follow_branches(self, branch_task_ids: str | Iterable[str] | None) -> None:
        if branch_task_ids is None:
            self.follow = ()
        elif isinstance(branch_task_ids, str):
            self.follow = (branch_task_ids,)
        else:
            self.follow = tuple(branch_task_ids)

    def short_circuit(self, scope: str) -> None:
        self.short_circuit_scope = scope

    def get_template_context(self) -> Any:
        from airlane.sdk.context import get_current_context

        return get_current_context()


TaskInstance.register(RuntimeTaskInstance)
