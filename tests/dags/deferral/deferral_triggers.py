"""Triggers of the deferral tests, importable by the triggerer (the DAGs folder is on its path)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class BrokenTrigger(BaseTrigger):
    """Raises at once."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("deferral_triggers.BrokenTrigger", {"message": self.message})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(0)
        raise ValueError(self.message)
        yield TriggerEvent(None)  # pragma: no cover


class ForeverTrigger(BaseTrigger):
    """Never fires; writes ``<marker>.started`` when it runs and ``<marker>.cleaned`` when it is
    cleaned up (cancelled)."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("deferral_triggers.ForeverTrigger", {"marker": self.marker})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        Path(self.marker + ".started").write_text("")
        await asyncio.Event().wait()
        yield TriggerEvent(None)  # pragma: no cover

    async def cleanup(self) -> None:
        Path(self.marker + ".cleaned").write_text("")
