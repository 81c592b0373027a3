"""Workers' DAG objects, imported once per version of each DAG file."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from airlane.dag_loader.importer import load_dags
from airlane.dag_loader.models import ImportErrorInfo
from airlane.sdk.dag import DAG

RECHECK_S = 1.0


@dataclass
class _Entry:
    signature: tuple[int, int]
    dags: dict[str, DAG]
    errors: list[str]
    checked_at: float = field(default_factory=time.monotonic)


class DagNotLoadable(LookupError):
    """The DAG could not be imported from its file; the message says why."""


class DagCache:
    """Imports DAG files in a thread (user code at import may block) and keeps the DAGs."""

    def __init__(
        self,
        dags_folder: str | None,
        recheck_s: float = RECHECK_S,
        before_import: Callable[[str], None] | None = None,
        import_context: contextvars.Context | None = None,
    ) -> None:
        self.dags_folder = dags_folder
        self.recheck_s = recheck_s
        #: called with a file's path before it is (re)imported
        self.before_import = before_import
        #: where imports run (a copy of it), when not in the caller's context
        self.import_context = import_context
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, fileloc: str, dag_id: str) -> DAG:
        entry = self._entries.get(fileloc)
        if entry is None or time.monotonic() - entry.checked_at >= self.recheck_s:
            entry = await self._refresh(fileloc)
        dag = entry.dags.get(dag_id)
        if dag is None:
            detail = "; ".join(entry.errors) or f"{fileloc} does not define it"
            raise DagNotLoadable(f"DAG {dag_id} could not be loaded: {detail}")
        return dag

    def loaded(self, fileloc: str) -> dict[str, DAG]:
        """The DAGs of the file as last imported (empty when never imported)."""
        entry = self._entries.get(fileloc)
        return entry.dags if entry is not None else {}

    async def _import(self, fileloc: str) -> tuple[list[DAG], list[ImportErrorInfo]]:
        if self.import_context is None:
            return await asyncio.to_thread(load_dags, fileloc, self.dags_folder)
        call = functools.partial(self.import_context.copy().run, load_dags, fileloc)
        return await asyncio.get_running_loop().run_in_executor(None, call, self.dags_folder)

    async def _refresh(self, fileloc: str) -> _Entry:
        lock = self._locks.get(fileloc)
        if lock is None:  # (not setdefault: that builds a lock on every call)
            lock = self._locks[fileloc] = asyncio.Lock()
        async with lock:
            try:
                stat = os.stat(fileloc)
            except OSError as err:
                raise DagNotLoadable(f"DAG file {fileloc} is not readable: {err}") from None
            signature = (stat.st_mtime_ns, stat.st_size)
            entry = self._entries.get(fileloc)
            if entry is not None and entry.signature == signature:
                entry.checked_at = time.monotonic()
                return entry
            if self.before_import is not None:
                self.before_import(fileloc)
            dags, errors = await self._import(fileloc)
            entry = _Entry(signature, {d.dag_id: d for d in dags}, [e.describe() for e in errors])
            self._entries[fileloc] = entry
            return entry
