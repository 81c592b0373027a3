"""Airflow's ``BaseHook`` (``airflow.sdk.bases.hook`` / ``airflow.hooks.base``).

A hook reads its connection with :meth:`BaseHook.get_connection`, which looks in the
environment (``AIRFLOW_CONN_<ID>`` / ``AIRLANE_CONN_<ID>``) and then in the connection store the
running process installed (Redis in a worker).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from airlane.sdk.connection import Connection

log = logging.getLogger("airflow.sdk.bases.hook")

HOOK_LOGGER_PREFIX = "airflow.task.hooks"


class BaseHook:
    """Base of hooks: an interface to an external system, reached through a connection.

    :param logger_name: the name of the hook's logger; by default
        ``airflow.task.hooks.<module>.<class>`` as in Airflow.
    """

    def __init__(self, logger_name: str | None = None) -> None:
        super().__init__()
        self._log_config_logger_name = HOOK_LOGGER_PREFIX
        self._logger_name = logger_name

    @property
    def log(self) -> logging.Logger:
        cls = type(self)
        name = self._logger_name if getattr(self, "_logger_name", None) else None
        if name is None:
            name = f"{HOOK_LOGGER_PREFIX}.{cls.__module__}.{cls.__name__}"
        return logging.getLogger(name)

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        """The connection ``conn_id`` (AirflowNotFoundException when it is not defined)."""
        conn = Connection.get(conn_id)
        log.debug("Connection Retrieved '%s'", conn.conn_id)
        return conn

    @classmethod
    async def aget_connection(cls, conn_id: str) -> Connection:
        """:meth:`get_connection` in a thread, for async hooks and triggers."""
        return await asyncio.to_thread(cls.get_connection, conn_id)

    @classmethod
    def get_hook(cls, conn_id: str, hook_params: dict[str, Any] | None = None) -> Any:
        """The default hook of the connection ``conn_id``'s type."""
        return cls.get_connection(conn_id).get_hook(hook_params=hook_params)

    def get_conn(self) -> Any:
        """The hook's client for the external system; each hook defines it."""
        raise NotImplementedError()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {}


__all__ = ["BaseHook"]
