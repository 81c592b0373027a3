"""Where connections come from: ``AIRFLOW_CONN_<ID>`` / ``AIRLANE_CONN_<ID>`` first, then a store.

Airflow looks a connection up in its secrets backends in order, the environment variables
backend before the metastore; Airlane does the same with the environment before the store the
running code installed with :func:`use_connection_store` (Redis in a worker). A value is a URI
or, when it starts with ``{``, Airflow's JSON form.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from airlane.sdk.connection import Connection

ENV_PREFIXES = ("AIRLANE_CONN_", "AIRFLOW_CONN_")


class ConnectionStore(Protocol):
    """Synchronous access to connections (called from task code, possibly in a thread)."""

    def get_connection(self, conn_id: str) -> Connection | None: ...


def deserialize_connection(conn_id: str, value: str) -> Connection:
    """A connection from its URI or JSON form (Airflow's ``deserialize_connection``)."""
    from airlane.sdk.connection import Connection

    text = value.strip()
    if text.startswith("{"):
        return Connection.from_json(text, conn_id=conn_id)
    return Connection(conn_id=conn_id, uri=text)


class EnvConnectionStore:
    """Connections from ``AIRLANE_CONN_<ID>`` (preferred) or ``AIRFLOW_CONN_<ID>``."""

    def get_value(self, conn_id: str) -> str | None:
        upper = conn_id.upper()
        for prefix in ENV_PREFIXES:
            value = os.environ.get(prefix + upper)
            if value:
                return value
        return None

    def get_connection(self, conn_id: str) -> Connection | None:
        value = self.get_value(conn_id)
        return None if value is None else deserialize_connection(conn_id, value)


_env_store = EnvConnectionStore()
_store: contextvars.ContextVar[ConnectionStore | None] = contextvars.ContextVar(
    "airlane_connection_store", default=None
)


def current_connection_store() -> ConnectionStore | None:
    """The store installed in this context (the environment is always looked at first)."""
    return _store.get()


@contextmanager
def use_connection_store(store: ConnectionStore) -> Iterator[None]:
    token = _store.set(store)
    try:
        yield
    finally:
        _store.reset(token)


def find_connection(conn_id: str) -> Connection | None:
    """The connection ``conn_id`` from the environment, else from the installed store."""
    found = _env_store.get_connection(conn_id)
    if found is not None:
        return found
    store = _store.get()
    return None if store is None else store.get_connection(conn_id)
