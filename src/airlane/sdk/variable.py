"""Variables: ``Variable.get`` in DAG files and ``var.value.x`` in templates.

Where the values live depends on the process: a worker reads them from Redis, ``dags test``
and the DAG loader from the environment (``AIRFLOW_VAR_<KEY>`` or ``AIRLANE_VAR_<KEY>``). The
running code installs its store with :func:`use_variable_store`.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import orjson

from airlane.sdk.exceptions import AirflowNotFoundException
from airlane.sdk.params import NOTSET
from airlane.sdk.secrets_masker import mask_secret


class VariableStore(Protocol):
    """Synchronous access to variables (called from DAG code, possibly in a thread)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, description: str | None = None) -> None: ...

    def delete(self, key: str) -> None: ...

    def keys(self, prefix: str | None = None) -> list[str]:
        """The stored variables' keys (not the environment's: Airflow's ``Variable.keys``
        lists the database's only), those starting with ``prefix`` if given."""
        ...


class EnvVariableStore:
    """Variables from ``AIRLANE_VAR_<KEY>`` / ``AIRFLOW_VAR_<KEY>``, and an in-memory overlay."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        if key in self._values:
            return self._values[key]
        upper = key.upper()
        return os.environ.get(f"AIRLANE_VAR_{upper}", os.environ.get(f"AIRFLOW_VAR_{upper}"))

    def set(self, key: str, value: str, description: str | None = None) -> None:
        self._values[key] = value  # (nothing here shows a description)

    def delete(self, key: str) -> None:
        self._values.pop(key, None)

    def keys(self, prefix: str | None = None) -> list[str]:
        return sorted(k for k in self._values if prefix is None or k.startswith(prefix))


_env_store = EnvVariableStore()
_store: contextvars.ContextVar[VariableStore | None] = contextvars.ContextVar(
    "airlane_variable_store", default=None
)


def _current_store() -> VariableStore:
    return _store.get() or _env_store


def current_variable_store() -> VariableStore:
    """The store ``Variable`` reads in this context."""
    return _current_store()


@contextmanager
def use_variable_store(store: VariableStore) -> Iterator[None]:
    token = _store.set(store)
    try:
        yield
    finally:
        _store.reset(token)


class Variable:
    """Airflow's ``Variable`` API."""

    @staticmethod
    def get(
        key: str,
        default_var: Any = NOTSET,
        deserialize_json: bool = False,
        *,
        default: Any = NOTSET,
    ) -> Any:
        """The variable's value; ``default_var`` (Airflow 2's name) or ``default`` (Airflow
        3's) when it is not set, else KeyError."""
        if default is not NOTSET:
            if default_var is not NOTSET:
                raise TypeError("Variable.get() takes default or default_var, not both")
            default_var = default
        raw = _current_store().get(key)
        if raw is None:
            if default_var is NOTSET:
                raise KeyError(f"Variable {key} does not exist")
            mask_secret(default_var, name=key)
            return default_var
        value = orjson.loads(raw) if deserialize_json else raw
        if isinstance(value, str):  # Airflow masks a text value under a sensitive name
            mask_secret(value, key)
        return value

    @staticmethod
    def set(
        key: str, value: Any, description: str | None = None, serialize_json: bool = False
    ) -> None:
        """Airflow's signature (2 and 3): the description third, shown by the REST API."""
        text = orjson.dumps(value).decode() if serialize_json else str(value)
        _current_store().set(key, text, description)

    @staticmethod
    def delete(key: str) -> None:
        _current_store().delete(key)

    @staticmethod
    def keys(prefix: str | None = None) -> list[str]:
        """Airflow 3.3's ``Variable.keys``: the stored variables' keys (starting with
        ``prefix``), not the environment's."""
        return _current_store().keys(prefix)

    @staticmethod
    def setdefault(key: str, default: Any, deserialize_json: bool = False) -> Any:
        value = Variable.get(key, default_var=None, deserialize_json=deserialize_json)
        if value is None:
            Variable.set(key, default, serialize_json=deserialize_json)
            return default
        return value


class _VarAccessor:
    """``var.value.name`` / ``var.json.name`` in templates."""

    def __init__(self, deserialize_json: bool) -> None:
        self._json = deserialize_json

    def __getattr__(self, key: str) -> Any:
        try:
            return Variable.get(key, deserialize_json=self._json)
        except KeyError:
            raise AirflowNotFoundException(f"Variable {key} does not exist") from None

    def get(self, key: str, default_var: Any = NOTSET) -> Any:
        return Variable.get(key, default_var=default_var, deserialize_json=self._json)


def template_var() -> dict[str, _VarAccessor]:
    return {"value": _VarAccessor(False), "json": _VarAccessor(True)}
