"""Airflow 3.3's state stores (AIP-103): ``context["task_state_store"]``, key/value state of one
task instance that its retries share (a job id submitted by a try, read back by the next), and
``context["asset_state_store"]``, state of an asset that every run of every task using it
shares (a watermark).

Values are JSON values (``None`` refused). A task state key expires ``retention`` after it is
set (``NEVER_EXPIRE``: never; default ``[state_store] default_retention_days``, 30; 0: never):
expired keys are removed by the coordinator's retention pass, as Airflow's cleanup removes
them; a run's keys go with the run. With ``[state_store] clear_on_success`` a task instance's
keys are removed when it succeeds. Asset state keys never expire.

The accessors here are what DAG code sees; where the values live is the installed backend
(``use_state_backend``): Redis on a worker (service/execution/redis_state_store.py), a dict
under ``dags test``. The sync methods wait on the backend and are refused on a running event
loop (an ``async def`` task awaits ``aget``/``aset``/``adelete``/``aclear`` instead, which run
them in a thread), as ``ti.xcom_pull`` is.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: ``retention`` for a key that never expires
NEVER_EXPIRE: timedelta = timedelta.max


@dataclass(frozen=True, slots=True)
class TaskScope:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1


@dataclass(frozen=True, slots=True)
class AssetScope:
    """An asset by name, else by URI."""

    name: str | None = None
    uri: str | None = None


Scope = TaskScope | AssetScope


class StateBackend(Protocol):
    """Where state values live (as JSON text); ``blocking``: its calls wait on the network."""

    blocking: bool

    def get(self, scope: Scope, key: str) -> str | None: ...

    def set(self, scope: Scope, key: str, value_json: str, expires_at_s: float | None) -> None: ...

    def delete(self, scope: Scope, key: str) -> None: ...

    def clear(self, scope: Scope) -> None: ...


class InMemoryStateBackend:
    """State in a dict: ``dags test`` (one process, one run) and unit tests."""

    blocking = False

    def __init__(self) -> None:
        self.values: dict[Scope, dict[str, str]] = {}

    def get(self, scope: Scope, key: str) -> str | None:
        return self.values.get(scope, {}).get(key)

    def set(self, scope: Scope, key: str, value_json: str, expires_at_s: float | None) -> None:
        self.values.setdefault(scope, {})[key] = value_json

    def delete(self, scope: Scope, key: str) -> None:
        self.values.get(scope, {}).pop(key, None)

    def clear(self, scope: Scope) -> None:
        self.values.pop(scope, None)


_backend: contextvars.ContextVar[StateBackend | None] = contextvars.ContextVar(
    "airlane_state_backend", default=None
)


@contextmanager
def use_state_backend(backend: StateBackend) -> Iterator[None]:
    token = _backend.set(backend)
    try:
        yield
    finally:
        _backend.reset(token)


def current_state_backend() -> StateBackend | None:
    """The backend installed here, if any (a nested ``dags test`` run keeps its parent's)."""
    return _backend.get()


def _current() -> StateBackend:
    backend = _backend.get()
    if backend is None:
        raise RuntimeError("no state store here: state stores are reached from a running task")
    return backend


def _check_not_on_loop(backend: StateBackend, name: str) -> None:
    if not backend.blocking:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{name}() from an async callable would block the event loop; await a{name}() instead"
    )


def _encode(value: Any) -> str:
    if value is None:
        raise ValueError("Cannot set value as None")
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"state store values must be JSON values: {err}") from None


def _retention_days() -> int:
    from airlane.sdk.configuration import conf

    days = int(conf.get("state_store", "default_retention_days"))
    if days < 0:
        raise ValueError(
            f"[state_store] default_retention_days must be >= 0, got {days}. "
            "Set to 0 to disable expiry."
        )
    return days


def _expires_at_s(retention: timedelta | None) -> float | None:
    if retention is NEVER_EXPIRE or retention == NEVER_EXPIRE:
        return None
    if retention is not None:
        return time.time() + retention.total_seconds()
    days = _retention_days()
    return None if days == 0 else time.time() + days * 86400.0


def _warn_if_large(key: str, text: str) -> None:
    from airlane.sdk.configuration import conf

    limit = int(conf.get("state_store", "max_value_storage_bytes"))
    if limit > 0 and len(text) > limit:
        log.warning(
            "State store value for key %r is %d bytes, which exceeds configured "
            "max_value_storage_bytes=%d.",
            key,
            len(text),
            limit,
        )


class _Accessor:
    """get/set/delete/clear on one scope, and their awaitable forms."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._scope == self._scope

    def __hash__(self) -> int:
        return hash(self._scope)

    def get(self, key: str, default: Any = None) -> Any:
        """The stored value, or ``default`` when the key has none."""
        backend = _current()
        _check_not_on_loop(backend, "get")
        raw = backend.get(self._scope, key)
        return default if raw is None else json.loads(raw)

    def _set(self, key: str, value: Any, expires_at_s: float | None) -> None:
        text = _encode(value)
        _warn_if_large(key, text)
        backend = _current()
        _check_not_on_loop(backend, "set")
        backend.set(self._scope, key, text, expires_at_s)

    def delete(self, key: str) -> None:
        """Remove one key (nothing happens when it has none)."""
        backend = _current()
        _check_not_on_loop(backend, "delete")
        backend.delete(self._scope, key)

    def clear(self) -> None:
        """Remove every key of the scope."""
        backend = _current()
        _check_not_on_loop(backend, "clear")
        backend.clear(self._scope)

    async def aget(self, key: str, default: Any = None) -> Any:
        return await _in_thread(self.get, key, default)

    async def adelete(self, key: str) -> None:
        await _in_thread(self.delete, key)

    async def aclear(self) -> None:
        await _in_thread(self.clear)


async def _in_thread(method: Any, *args: Any) -> Any:
    """``method(*args)`` in a thread, in this task's context (the backend installed there)."""
    context = contextvars.copy_context()
    return await asyncio.to_thread(context.run, method, *args)


class TaskStateStoreAccessor(_Accessor):
    """``context["task_state_store"]``: the state of this task instance, shared by its tries."""

    def __repr__(self) -> str:
        return f"<TaskStateStoreAccessor {self._scope}>"

    def set(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
        """Write ``value`` (a JSON value, not None); it expires ``retention`` from now
        (NEVER_EXPIRE: never; None: after ``[state_store] default_retention_days``)."""
        self._set(key, value, _expires_at_s(retention))

    async def aset(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
        expires_at_s = _expires_at_s(retention)
        await _in_thread(self._set, key, value, expires_at_s)


class AssetStateStoreAccessor(_Accessor):
    """The state of one asset, shared by every task that reads or updates it."""

    def __init__(self, *, name: str | None = None, uri: str | None = None) -> None:
        if not name and not uri:
            raise ValueError("Either `name` or `uri` must be provided")
        super().__init__(AssetScope(name, None) if name else AssetScope(None, uri))

    def __repr__(self) -> str:
        scope = self._scope
        assert isinstance(scope, AssetScope)
        if scope.name is not None:
            return f"<AssetStateStoreAccessor name={scope.name!r}>"
        return f"<AssetStateStoreAccessor uri={scope.uri!r}>"

    def set(self, key: str, value: Any) -> None:
        """Write ``value`` (a JSON value, not None); asset state never expires."""
        self._set(key, value, None)

    async def aset(self, key: str, value: Any) -> None:
        await _in_thread(self._set, key, value, None)


class AssetStateStoreAccessors:
    """``context["asset_state_store"]``: an accessor per asset of the task's inlets and outlets
    (``[MY_ASSET]``); a task with just one may call the methods directly."""

    def __init__(self, inlets: list[Any], outlets: list[Any] | None = None) -> None:
        self._by_name: dict[str, AssetStateStoreAccessor] = {}
        self._by_uri: dict[str, AssetStateStoreAccessor] = {}
        for item in [*inlets, *(outlets or [])]:
            name, uri = _asset_ref(item)
            if name is not None and name not in self._by_name:
                self._by_name[name] = AssetStateStoreAccessor(name=name)
            elif name is None and uri is not None and uri not in self._by_uri:
                self._by_uri[uri] = AssetStateStoreAccessor(uri=uri)

    def __len__(self) -> int:
        return len(self._by_name) + len(self._by_uri)

    def __getitem__(self, key: Any) -> AssetStateStoreAccessor:
        name, uri = _asset_ref(key)
        if name is None and uri is None:
            raise TypeError(
                f"Expected Asset, AssetNameRef, or AssetUriRef; got {type(key).__name__}"
            )
        found = self._by_name.get(name) if name is not None else self._by_uri.get(uri or "")
        if found is None:
            raise KeyError(f"{key!r} is not in this task's inlets or outlets")
        return found

    def _single(self) -> AssetStateStoreAccessor:
        if len(self) != 1:
            raise ValueError(
                f"Task has {len(self)} concrete inlets and outlets — use "
                "context['asset_state_store'][MY_ASSET] to specify which"
            )
        return next(iter([*self._by_name.values(), *self._by_uri.values()]))

    def get(self, key: str, default: Any = None) -> Any:
        return self._single().get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._single().set(key, value)

    def delete(self, key: str) -> None:
        self._single().delete(key)

    def clear(self) -> None:
        self._single().clear()

    async def aget(self, key: str, default: Any = None) -> Any:
        return await self._single().aget(key, default)

    async def aset(self, key: str, value: Any) -> None:
        await self._single().aset(key, value)

    async def adelete(self, key: str) -> None:
        await self._single().adelete(key)

    async def aclear(self) -> None:
        await self._single().aclear()


def _asset_ref(item: Any) -> tuple[str | None, str | None]:
    """(name, uri) of an Asset or an asset reference (aliases and others: neither)."""
    from airlane.sdk.assets import Asset

    if isinstance(item, Asset):
        return item.name, None
    kind = type(item).__name__
    if kind == "AssetNameRef":
        return getattr(item, "name", None), None
    if kind == "AssetUriRef":
        return None, getattr(item, "uri", None)
    return None, None


def has_assets(inlets: list[Any], outlets: list[Any]) -> bool:
    """Whether the task has an asset of its own in its inlets or outlets (Airflow gives it
    ``asset_state_store`` then)."""
    return any(_asset_ref(item) != (None, None) for item in [*inlets, *outlets])


__all__ = [
    "NEVER_EXPIRE",
    "AssetStateStoreAccessor",
    "AssetStateStoreAccessors",
    "TaskStateStoreAccessor",
]
