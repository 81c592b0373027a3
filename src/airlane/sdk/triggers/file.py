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


def _names(directory: str) -> set[str]:
    """The entries of ``directory`` (none while it does not exist; blocking: in a thread)."""
    try:
        return set(os.listdir(directory))
    except FileNotFoundError:
        return set()


def _unlink(filepath: str) -> bool:
    """Delete ``filepath``; False when it is gone already (blocking: run in a thread)."""
    try:
        os.unlink(filepath)
    except FileNotFoundError:
        return False
    return True


class DirectoryFileDeleteTrigger(BaseEventTrigger):
    """Fires once ``filename`` appears in ``directory``, after deleting it (providers-standard's
    trigger for many flag files landing in one inbox). Airflow's triggerer lets the triggers on
    one directory and cadence share a single listing; here each scans the directory itself.
    A directory that does not exist yet is waited for; one that cannot be listed (permissions,
    not a directory) fails the trigger; other errors of a listing are logged and retried."""

    def __init__(self, *, directory: str, filename: str, poke_interval: float = 5.0) -> None:
        super().__init__()
        self.directory = directory
        self.filename = filename
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow.providers.standard.triggers.file.DirectoryFileDeleteTrigger",
            {
                "directory": self.directory,
                "filename": self.filename,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        filepath = os.path.join(self.directory, self.filename)
        while True:
            try:
                names = await asyncio.to_thread(_names, self.directory)
            except (PermissionError, NotADirectoryError, IsADirectoryError):
                raise
            except OSError:
                self.log.warning("Failed to list %s; retrying", self.directory, exc_info=True)
                names = set()
            if self.filename in names and await asyncio.to_thread(_unlink, filepath):
                self.log.info("File %s has been deleted", filepath)
                yield TriggerEvent({"filepath": filepath})
                return
            await asyncio.sleep(self.poke_interval)


__all__ = ["DirectoryFileDeleteTrigger", "FileDeleteTrigger", "FileTrigger"]
