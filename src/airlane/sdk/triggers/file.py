"""``airflow.providers.standard.triggers.file``: Airflow's FileTrigger (fires once a file or a
non-empty folder matches a glob)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from glob import glob
from typing import Any

from airlane.sdk.triggers import BaseEventTrigger, BaseTrigger, TriggerEvent


def _found(filepath: str, recursive: bool) -> str | None:
    """The first match that is a file or a folder holding files (blocking: run in a thread)."""
    for path in glob(filepath, recursive=recursive):
        if os.path.isfile(path):
            return path
        for _, _, files in os.walk(path):
            if files:
                return path
    return None


class FileTrigger(BaseTrigger):
    """Fires exactly once after it finds the requested file or folder."""

    def __init__(
        self, filepath: str, recursive: bool = False, poke_interval: float = 5.0, **kwargs: Any
    ) -> None:
        super().__init__()
        self.filepath = filepath
        self.recursive = recursive
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow.providers.standard.triggers.file.FileTrigger",
            {
                "filepath": self.filepath,
                "recursive": self.recursive,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            path = await asyncio.to_thread(_found, self.filepath, self.recursive)
            if path is not None:
                self.log.info("Found File %s", path)
                yield TriggerEvent(True)
                return
            await asyncio.sleep(self.poke_interval)


def _take(filepath: str) -> bool:
    """Delete ``filepath`` if it is a file; whether it was (blocking: run in a thread)."""
    if not os.path.isfile(filepath):
        return False
    os.unlink(filepath)
    return True


class FileDeleteTrigger(BaseEventTrigger):
    """Fires once it finds the file, after deleting it (an asset watcher's trigger)."""

    def __init__(self, filepath: str, poke_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__()
        self.filepath = filepath
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow.providers.standard.triggers.file.FileDeleteTrigger",
            {"filepath": self.filepath, "poke_interval": self.poke_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            if await asyncio.to_thread(_take, self.filepath):
                self.log.info("File %s has been deleted", self.filepath)
                yield TriggerEvent(True)
                return
            await asyncio.sleep(self.poke_interval)


__all__ = ["FileDeleteTrigger", "FileTrigger"]
