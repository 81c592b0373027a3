"""The ``ti`` object a running task sees: identity, XCom access, branch decisions."""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import orjson

from airlane.dag_loader.airflow_compat import install as install_airflow_names
from airlane.dag_loader.generation import file_written_for_airflow_2
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.mapped import MappedOperator
from airlane.sdk.mapped_group import closest_mapped_group
from airlane.sdk.models import TaskInstance
from airlane.sdk.serde import deserialize, is_mappable_value, serialize
from airlane.sdk.xcom import (
    DEFAULT_BACKENDS,
    BaseXCom,
    XComResult,
    configured_backend_path,
    resolve_backend,
)
from airlane.sdk.xcom_arg import RETURN_VALUE_KEY

MISSING: Any = object()


class XComAccess(Protocol):
    """XCom values of one run, read and written synchronously (values are JSON data: what the
    XCom backend stored of what was pushed, ``encode_xcom``)."""

    def get(self, task_id: str, map_index: int, key: str) -> Any: ...

    def get_mapped(self, task_id: str, key: str) -> list[Any]: ...

    def set(self, task_id: str, map_index: int, key: str, value: Any) -> None: ...

    def find(self, where: XComWhere) -> list[tuple[int, Any]]: ...

    def delete(self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str) -> None: ...

    def clear_instance(
        self, task_id: str, map_index: int, try_number: int, purge: PurgeFn | None
    ) -> None:
        """Remove what an instance's earlier tries stored, each value purged first (while
        ``try_number`` is the instance's claimed try, where claims fence)."""


#: a custom backend's purge of one stored value (its key, the value)
PurgeFn = Callable[[str, Any], None]


@dataclass(frozen=True, slots=True)
class XComWhere:
    """Which stored XComs ``XComAccess.find`` gives: of one task in one run (``map_index``
    None: every index, in index order), or with ``prior`` in every run of ``dag_id`` whose
    logical date is not after that run's (Airflow's ``include_prior_dates``): with an index,
    the newest run's; without, all of them by index, then oldest run first. None when the
    run does not exist."""

    dag_id: str
    run_id: str
    task_id: str
    key: str
    map_index: int | None
    prior: bool = False


class InMemoryXComs:
    """XComs of one run kept in a dict: ``dags test`` and unit tests (other runs have none)."""

    def __init__(self, dag_id: str = "", run_id: str = "") -> None:
        self.values: dict[tuple[str, int, str], Any] = {}
        self.dag_id, self.run_id = dag_id, run_id

    def get(self, task_id: str, map_index: int, key: str) -> Any:
        return self.values.get((task_id, map_index, key), MISSING)

    def get_mapped(self, task_id: str, key: str) -> list[Any]:
        found = sorted(
            (m, v) for (t, m, k), v in self.values.items() if t == task_id and k == key and m >= 0
        )
        return [v for _, v in found]

    def set(self, task_id: str, map_index: int, key: str, value: Any) -> None:
        self.values[(task_id, map_index, key)] = value

    def _ours(self, dag_id: str, run_id: str) -> bool:
        return (dag_id, run_id) == (self.dag_id, self.run_id)

    def find(self, where: XComWhere) -> list[tuple[int, Any]]:
        if not self._ours(where.dag_id, where.run_id):
            return []
        return sorted(
            (m, v)
            for (t, m, k), v in self.values.items()
            if t == where.task_id
            and k == where.key
            and (where.map_index is None or m == where.map_index)
        )

    def delete(self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str) -> None:
        if self._ours(dag_id, run_id):
            self.values.pop((task_id, map_index, key), None)

    def clear_instance(
        self, task_id: str, map_index: int, try_number: int, purge: PurgeFn | None
    ) -> None:
        for t, m, k in [i for i in self.values if i[0] == task_id and i[1] == map_index]:
            if purge is not None:
                purge(k, self.values[(t, m, k)])
            del self.values[(t, m, k)]


def xcom_backend_class() -> type[BaseXCom] | None:
    """The custom XCom backend (``[core] xcom_backend``), None for Airflow's default one
    (values stored as their serde form). Its module may import Airflow's names: the compat
    finder goes in first."""
    path = configured_backend_path()
    if path in DEFAULT_BACKENDS:
        return None
    install_airflow_names()
    return resolve_backend(path)


@dataclass(frozen=True, slots=True)
class XComCoordinate:
    """Whose XCom a value is: what a backend's ``serialize_value`` is told."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str


def encode_xcom(
    value: Any, max_bytes: int, where: str, coordinate: XComCoordinate | None = None
) -> Any:
    """``value`` as stored: what the XCom backend's ``serialize_value`` makes of it (with a
    ``coordinate``; Airflow's default backend's otherwise: its serde JSON data, sdk/serde.py),
    checked against the size limit. ``decode_xcom`` turns it back into the value."""
    backend = None if coordinate is None else xcom_backend_class()
    try:
        if backend is None:
            data = serialize(value)
        else:
            c = coordinate
            assert c is not None
            data = backend.serialize_value(
                value,
                key=c.key,
                task_id=c.task_id,
                dag_id=c.dag_id,
                run_id=c.run_id,
                map_index=c.map_index,
            )
    except (TypeError, AttributeError, RecursionError) as err:
        raise AirflowException(f"XCom value of {where} cannot be serialized: {err}") from None
    return checked_stored(data, max_bytes, where)


def checked_stored(data: Any, max_bytes: int, where: str) -> Any:
    """Serialized XCom data as stored (JSON), checked against the size limit."""
    try:
        raw = orjson.dumps(data)
    except TypeError as err:
        raise AirflowException(f"XCom value of {where} cannot be serialized: {err}") from None
    if len(raw) > max_bytes:
        raise AirflowException(
            f"XCom value of {where} is {len(raw)} bytes, over the limit of {max_bytes} bytes "
            "(AIRLANE_XCOM_MAX_BYTES); store large data elsewhere and pass a reference"
        )
    return orjson.loads(raw)


def decode_xcom(stored: Any, key: str | None = None) -> Any:
    """A stored XCom value as it was pushed (MISSING stays MISSING): through the XCom
    backend's ``deserialize_value`` when ``key`` is given and a custom one is configured (not
    for a stored None, as in Airflow)."""
    if stored is MISSING:
        return stored
    backend = None if key is None or stored is None else xcom_backend_class()
    if backend is None:
        return deserialize(stored)
    return backend.deserialize_value(XComResult(key, stored))  # type: ignore[arg-type]


def purge_with_backend() -> PurgeFn | None:
    """The configured custom backend's ``purge`` of one stored value (None: nothing to purge)."""
    backend = xcom_backend_class()
    if backend is None:
        return None

    def purge(key: str, stored: Any) -> None:
        backend.purge(XComResult(key, stored))

    return purge


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

    @property
    def log_url(self) -> str:
        """This try in the web UI (its log), under ``[api] base_url`` (Airflow's ``log_url``)."""
        from airlane.sdk.configuration import conf

        base = str(conf.get("api", "base_url", fallback="http://localhost:8080/")).rstrip("/")
        query = {"run": self.run_id, "task": self.task_id}
        if self.map_index >= 0:
            query["map_index"] = str(self.map_index)
        if self.try_number > 0:
            query["try"] = str(self.try_number)
        return f"{base}/#/dags/{quote(self.dag_id)}?{urlencode(query)}"

    @property
    def mark_success_url(self) -> str:
        """Where to mark this instance success: its panel in the web UI (as Airflow 3's)."""
        return self.log_url

    def xcom_push(self, key: str, value: Any) -> None:
        """Push through the XCom backend (Airflow's ``XCom.set``)."""
        coordinate = XComCoordinate(self.dag_id, self.run_id, self.task_id, self.map_index, key)
        where = f"{self.task_id} (key {key!r})"
        stored = encode_xcom(value, self.xcom_max_bytes, where, coordinate)
        self.xcoms.set(self.task_id, self.map_index, key, stored)
        if is_mappable_value(value):  # (a downstream task may be mapped over it)
            self.pushed_lengths[key] = len(value)

    def xcom_push_stored(self, key: str, value: Any) -> None:
        """Push past a custom XCom backend (Airflow's ``_xcom_push_to_db``: extra links)."""
        stored = encode_xcom(value, self.xcom_max_bytes, f"{self.task_id} (key {key!r})")
        self.xcoms.set(self.task_id, self.map_index, key, stored)

    def xcom_pull(
        self,
        task_ids: str | Iterable[str] | None = None,
        dag_id: str | None = None,
        key: str = RETURN_VALUE_KEY,
        include_prior_dates: bool = False,
        *,
        map_indexes: int | Iterable[int] | None = None,
        default: Any = None,
        run_id: str | None = None,
    ) -> Any:
        """One value for a task id; a list for a list of task ids (or a mapped task's values).

        A mapped task (or a task of a mapped group) pulled alone without ``map_indexes`` gives
        its values over every map index, as a list in Airflow 2 (a lazy sequence); Airflow 3.1's
        task SDK returns the one value alone when there is just one, and None when there is
        none (``xcom_pull``: ``len(xcoms) == 1``), which files written for Airflow 3 get.
        ``dag_id`` and ``run_id`` pull from another DAG or run; ``include_prior_dates`` from
        the runs of the DAG up to this one's logical date (``pull_elsewhere``).
        """
        elsewhere = (dag_id is not None and dag_id != self.dag_id) or (
            run_id is not None and run_id != self.run_id
        )
        if elsewhere or include_prior_dates:
            where = (dag_id or self.dag_id, run_id or self.run_id)
            return self.pull_elsewhere(
                task_ids, where, key, include_prior_dates, map_indexes, default
            )
        if task_ids is not None and not isinstance(task_ids, str):
            return [self._pull_one(t, key, map_indexes, default) for t in task_ids]
        task_id = self.task_id if task_ids is None else task_ids
        value = self._pull_one(task_id, key, map_indexes, default)
        few = map_indexes is None and self._every_index(task_id) and len(value) < 2
        if few and not file_written_for_airflow_2(self.dag.fileloc):
            return value[0] if value else None
        return value

    async def axcom_pull(self, *args: Any, **kwargs: Any) -> Any:
        """``xcom_pull`` from async code (Airflow 3.3): its reads in a thread, off the loop."""
        return await asyncio.to_thread(self.xcom_pull, *args, **kwargs)

    async def axcom_push(self, key: str, value: Any) -> None:
        """``xcom_push`` from async code (Airflow 3.3), in a thread: a custom backend's
        serialize_value may write to a store."""
        await asyncio.to_thread(self.xcom_push, key, value)

    def pull_elsewhere(
        self,
        task_ids: str | Iterable[str] | None,
        run: tuple[str, str],
        key: str,
        prior: bool,
        map_indexes: int | Iterable[int] | None,
        default: Any,
    ) -> Any:
        """Airflow 3.3's ``xcom_pull`` with ``dag_id``, ``run_id`` or ``include_prior_dates``:
        without ``map_indexes``, every stored value of each task (the one value alone for one
        task with one value, None with none); with them, each index's (the newest run's), the
        default where there is none. Files written for Airflow 2 get the newest run's value of
        this instance's index (Airflow 2's ``xcom_pull``: the first row, newest first)."""
        dag_id, run_id = run
        single_task = task_ids is None or isinstance(task_ids, str)
        wanted = [self.task_id] if task_ids is None else [task_ids] if single_task else task_ids
        if map_indexes is None and file_written_for_airflow_2(self.dag.fileloc):
            map_indexes = self.map_index
        found: list[Any] = []
        if map_indexes is None:
            for t in wanted:
                entries = self.xcoms.find(XComWhere(dag_id, run_id, str(t), key, None, prior))
                found += [decode_xcom(v, key) for _, v in entries] or [None]
            return found[0] if single_task and len(found) == 1 else found
        indexes = [map_indexes] if isinstance(map_indexes, int) else list(map_indexes)
        for t in wanted:
            for index in indexes:
                entries = self.xcoms.find(XComWhere(dag_id, run_id, str(t), key, index, prior))
                value = decode_xcom(entries[0][1], key) if entries else None
                found.append(default if value is None else value)
        return found[0] if single_task and isinstance(map_indexes, int) else found

    # (what sdk.xcom.BaseXCom's class methods do through the running try's ``ti``)
    def pull_stored(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        map_index: int | None,
        key: str,
        prior: bool = False,
    ) -> list[tuple[int, Any]]:
        return self.xcoms.find(XComWhere(dag_id, run_id, task_id, key, map_index, prior))

    def push_stored(
        self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str, stored: Any
    ) -> None:
        if (dag_id, run_id, task_id, map_index) != (
            self.dag_id,
            self.run_id,
            self.task_id,
            self.map_index,
        ):
            raise AirflowException(
                f"XCom.set: a task pushes its own XComs only ({self.task_id}, map index "
                f"{self.map_index}, in run {self.run_id} of {self.dag_id})"
            )
        where = f"{task_id} (key {key!r})"
        self.xcoms.set(task_id, map_index, key, checked_stored(stored, self.xcom_max_bytes, where))

    def delete_stored(
        self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str
    ) -> None:
        self.xcoms.delete(dag_id, run_id, task_id, map_index, key)

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
                value = decode_xcom(self.xcoms.get(task_id, map_indexes, key), key)
                return default if value is MISSING else value
            values = [decode_xcom(v, key) for v in self.xcoms.get_mapped(task_id, key)]
            if map_indexes is not None:
                wanted = set(map_indexes)
                return [v for i, v in enumerate(values) if i in wanted]
            return values
        value = decode_xcom(self.xcoms.get(task_id, -1, key), key)
        return default if value is MISSING else value

    def _value_or(self, task_id: str, map_index: int, key: str, default: Any) -> Any:
        value = decode_xcom(self.xcoms.get(task_id, map_index, key), key)
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
