"""A trigger that reads a connection and fails with its URI (password included) in the error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.hooks.base import BaseHook
from airflow.triggers.base import BaseTrigger, TriggerEvent


class LeakyTrigger(BaseTrigger):
    def __init__(self, conn_id: str) -> None:
        super().__init__()
        self.conn_id = conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("secret_triggers.LeakyTrigger", {"conn_id": self.conn_id})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        conn = await asyncio.to_thread(BaseHook.get_connection, self.conn_id)
        raise RuntimeError(f"cannot reach {conn.get_uri()}")
        yield TriggerEvent(None)  # pragma: no cover
