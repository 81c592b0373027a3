"""XCom backends: Airflow's ``BaseXCom`` and ``[core] xcom_backend``.

As in Airflow 3, a value a task pushes is what the configured backend's ``serialize_value``
makes of it (``BaseXCom``'s: the value's serde form, ``sdk/serde.py``), and a value a task
pulls is what its ``deserialize_value`` makes of the stored one, handed over as an
``XComResult`` (``key``, ``value``). A custom backend (``[core] xcom_backend``, a subclass of
``BaseXCom``: the common-io provider's ``XComObjectStorageBackend``, say) may store a reference
(a path in object storage) and keep the data elsewhere; its ``purge`` removes that data when a
new try clears its task instance's XComs. The REST API shows stored values, not deserialized
ones, as Airflow's does. Extra links' XComs skip the backend, as Airflow's
``_xcom_push_to_db``.

The class methods that read and write (``set``, ``get_one``, ``get_all``, ``delete`` and their
async forms) work on the XComs of the running task's try; outside a task they raise.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any, Protocol

from airlane.sdk.configuration import conf
from airlane.sdk.exceptions import AirflowException
from airlane.sdk.serde import deserialize, serialize

__all__ = ["BaseXCom", "XComBackendError", "XComResult", "xcom_backend"]

#: Airflow's default ``[core] xcom_backend`` (and the names it has had)
DEFAULT_BACKENDS = frozenset(
    {
        "",
        "airflow.sdk.bases.xcom.BaseXCom",
        "airflow.models.xcom.BaseXCom",
        "airflow.sdk.execution_time.xcom.BaseXCom",
        "airlane.sdk.xcom.BaseXCom",
    }
)


@dataclass(frozen=True, slots=True)
class XComResult:
    """A stored XCom as a backend's ``deserialize_value`` gets it (Airflow's ``XComResult``)."""

    key: str
    value: Any


class XComRunAccess(Protocol):
    """What ``BaseXCom``'s class methods need of the running try's ``ti``."""

    def pull_stored(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        map_index: int | None,
        key: str,
        prior: bool = False,
    ) -> list[tuple[int, Any]]: ...

    def push_stored(
        self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str, stored: Any
    ) -> None: ...

    def delete_stored(
        self, dag_id: str, run_id: str, task_id: str, map_index: int, key: str
    ) -> None: ...


def _running_ti() -> XComRunAccess:
    from airlane.sdk.context import get_current_context

    try:
        ti = get_current_context()["ti"]
    except (AirflowException, KeyError):
        raise RuntimeError(
            "XCom.set/get_one/get_all/delete read and write the XComs of the running task: "
            "call them from inside a task"
        ) from None
    return ti  # type: ignore[no-any-return]


class BaseXCom:
    """Airflow's XCom backend interface; the default backend."""

    XCOM_RETURN_KEY = "return_value"

    @classmethod
    def set(
        cls,
        key: str,
        value: Any,
        *,
        dag_id: str,
        task_id: str,
        run_id: str,
        map_index: int = -1,
        dag_result: bool = False,
        _mapped_length: int | None = None,
    ) -> None:
        if dag_result:
            raise NotImplementedError(
                "XCom.set(dag_result=True): a DAG's results are its result tasks' return values "
                "here: mark the task with @result (or DAG.add_result)"
            )
        stored = cls.serialize_value(
            value, key=key, task_id=task_id, dag_id=dag_id, run_id=run_id, map_index=map_index
        )
        _running_ti().push_stored(dag_id, run_id, task_id, map_index, key, stored)

    @classmethod
    async def aset(cls, key: str, value: Any, **kwargs: Any) -> None:
        # (in a thread, as each async form: the reads and the backend's work block)
        await asyncio.to_thread(functools.partial(cls.set, key, value, **kwargs))

    @classmethod
    def get_value(cls, *, ti_key: Any, key: str) -> Any:
        return cls.get_one(
            key=key,
            task_id=ti_key.task_id,
            dag_id=ti_key.dag_id,
            run_id=ti_key.run_id,
            map_index=ti_key.map_index,
        )

    @classmethod
    async def aget_value(cls, *, ti_key: Any, key: str) -> Any:
        return await asyncio.to_thread(functools.partial(cls.get_value, ti_key=ti_key, key=key))

    @classmethod
    def get_one(
        cls,
        *,
        key: str,
        dag_id: str,
        task_id: str,
        run_id: str,
        map_index: int | None = None,
        include_prior_dates: bool = False,
    ) -> Any:
        """The value (deserialized by this backend), None when there is none (with
        ``include_prior_dates``: the newest of the runs up to this one that has one)."""
        index = -1 if map_index is None else map_index
        ti = _running_ti()
        found = ti.pull_stored(dag_id, run_id, task_id, index, key, include_prior_dates)
        if not found or found[0][1] is None:
            return None
        return cls.deserialize_value(XComResult(key, found[0][1]))

    @classmethod
    async def aget_one(cls, **kwargs: Any) -> Any:
        return await asyncio.to_thread(functools.partial(cls.get_one, **kwargs))

    @classmethod
    def get_all(
        cls,
        *,
        key: str,
        dag_id: str,
        task_id: str,
        run_id: str,
        include_prior_dates: bool = False,
    ) -> Any:
        """Every map index's value (deserialized), None when there is none (with
        ``include_prior_dates``: of every run up to this one, by map index)."""
        ti = _running_ti()
        found = ti.pull_stored(dag_id, run_id, task_id, None, key, include_prior_dates)
        if not found:
            return None
        return [cls.deserialize_value(XComResult(key, stored)) for _, stored in found]

    @classmethod
    async def aget_all(cls, **kwargs: Any) -> Any:
        return await asyncio.to_thread(functools.partial(cls.get_all, **kwargs))

    @staticmethod
    def serialize_value(
        value: Any,
        *,
        key: str | None = None,
        task_id: str | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
        map_index: int | None = None,
    ) -> Any:
        """The value as stored: its serde form (JSON data)."""
        return serialize(value)

    @staticmethod
    def deserialize_value(result: Any) -> Any:
        """A stored value (``result.value``) as it was pushed."""
        return deserialize(result.value)

    @classmethod
    def purge(cls, xcom: Any, *args: Any) -> None:
        """Remove what a stored value refers to (nothing for this backend)."""

    @classmethod
    def delete(
        cls,
        key: str,
        task_id: str,
        dag_id: str,
        run_id: str,
        map_index: int | None = None,
    ) -> None:
        """Purge the entry, then remove it."""
        index = -1 if map_index is None else map_index
        ti = _running_ti()
        for _, stored in ti.pull_stored(dag_id, run_id, task_id, index, key):
            cls.purge(XComResult(key, stored))
        ti.delete_stored(dag_id, run_id, task_id, index, key)


class XComBackendError(AirflowException):
    """``[core] xcom_backend`` names something that is not a ``BaseXCom``."""


def configured_backend_path() -> str:
    return str(conf.get("core", "xcom_backend", fallback="") or "").strip()


def xcom_backend() -> type[BaseXCom]:
    """The configured backend class (``[core] xcom_backend``)."""
    return resolve_backend(configured_backend_path())


@functools.lru_cache(maxsize=4)
def resolve_backend(path: str) -> type[BaseXCom]:
    """The backend class a ``[core] xcom_backend`` value names (resolved once per value)."""
    if path in DEFAULT_BACKENDS:
        return BaseXCom
    from airlane.sdk.module_loading import import_string

    try:  # (a backend built on Airflow's names imports them: the services install those first)
        found: Any = import_string(path)
    except ImportError as err:
        raise XComBackendError(f"[core] xcom_backend {path!r} cannot be imported: {err}") from err
    if not (isinstance(found, type) and issubclass(found, BaseXCom)):
        raise XComBackendError(
            f"Your custom XCom class `{getattr(found, '__name__', path)}` is not a subclass "
            f"of `{BaseXCom.__name__}`."
        )
    return found
