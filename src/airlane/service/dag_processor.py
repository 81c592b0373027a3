"""The DAG processor: keeps the serialized DAGs and import errors in Redis in step with the folder.

It polls the folder (cheap: one stat per file), parses new and changed files in child
processes with the loader, stores each DAG's serialized form content-addressed, marks DAGs
whose file no longer defines them inactive (their runs stay), and pauses new DAGs unless they
say ``is_paused_upon_creation=False``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

import orjson
import redis.asyncio as aioredis

from airlane.dag_loader import plugins
from airlane.dag_loader.discovery import list_dag_files
from airlane.dag_loader.importer import plugin_import_errors
from airlane.dag_loader.isolated import ImportLimits, ImportsCancelled, parse_files
from airlane.dag_loader.models import FileResult
from airlane.queue import typed
from airlane.queue.codec import dumps
from airlane.queue.connection import TRANSIENT_ERRORS
from airlane.queue.events_protocol import DagEvent, ImportErrorsEvent
from airlane.queue.keys import Keys
from airlane.queue.messages import EVENTS_MAXLEN, STREAM_MAXLEN
from airlane.queue.protocol import DagUpdated

log = logging.getLogger("airlane.dag_processor")


@dataclass(frozen=True, slots=True)
class DagProcessorSettings:
    dags_folder: str
    poll_interval_s: float = 1.0
    import_timeout_s: float = 30.0
    ignore_syntax: str = "glob"
    safe_mode: bool = True
    paused_at_creation: bool = True
    import_limits: ImportLimits = field(default_factory=ImportLimits)


def _signature(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class DagProcessor:
    def __init__(self, settings: DagProcessorSettings, client: aioredis.Redis, keys: Keys) -> None:
        self.settings = settings
        self.client = client
        self.keys = keys
        self.seen: dict[str, tuple[int, int] | None] = {}
        self.file_dags: dict[str, set[str]] = {}
        self.folder = os.path.abspath(settings.dags_folder)
        self._cancel = threading.Event()

    async def run(self, stop: asyncio.Event) -> None:
        await self._load_known()
        await self._store_plugin_errors()
        watch = asyncio.create_task(self._cancel_imports_on(stop))
        try:
            await self._scan_until(stop)
        finally:
            watch.cancel()

    async def _cancel_imports_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._cancel.set()  # imports under way stop at once (a file may hang at import)

    async def _scan_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.scan()
            except ImportsCancelled:
                return
            except TRANSIENT_ERRORS as err:
                log.warning("scan failed: %s", err)
            try:
                await asyncio.wait_for(stop.wait(), self.settings.poll_interval_s)
            except TimeoutError:
                pass

    async def _load_known(self) -> None:
        files = await typed.hgetall(self.client, self.keys.dag_files)
        for dag_id, path in files.items():
            self.file_dags.setdefault(path, set()).add(dag_id)

    async def _store_plugin_errors(self) -> None:
        """The plugins folder's files that fail to load, as import errors naming them (plugins
        load once per process, as in Airflow: a fixed plugin shows after a restart)."""
        failures = {e.filename: e for e in await asyncio.to_thread(plugin_import_errors)}
        folder = plugins.plugins_folder()
        stored = await typed.hgetall(self.client, self.keys.import_errors)
        async with self.client.pipeline(transaction=True) as pipe:
            for path in stored:
                if folder and path.startswith(folder + os.sep) and path not in failures:
                    pipe.hdel(self.keys.import_errors, path)
            for path, info in failures.items():
                pipe.hset(self.keys.import_errors, path, dumps([info.to_json()]))
            if failures:
                pipe.xadd(
                    self.keys.events,
                    ImportErrorsEvent().to_fields(),
                    maxlen=EVENTS_MAXLEN,
                    approximate=True,
                )
            await pipe.execute()

    async def scan(self) -> int:
        """Parse what changed; returns the number of files parsed."""
        s = self.settings
        files = await asyncio.to_thread(
            list_dag_files, s.dags_folder, syntax=s.ignore_syntax, safe_mode=s.safe_mode
        )
        current = {path: _signature(path) for path in files}
        changed = [p for p, sig in current.items() if self.seen.get(p) != sig]
        changed += await self._deleted_through_api(current, changed)
        changed += [p for p in await self._asked_for() if p in current and p not in changed]
        removed = [p for p in set(self.seen) | set(self.file_dags) if p not in current]
        results = await asyncio.to_thread(
            parse_files,
            changed,
            self.folder,
            timeout_s=s.import_timeout_s,
            limits=s.import_limits,
            cancel=self._cancel,
        )
        await self._store(results, removed)
        self.seen = current
        await self.client.set(self.keys.dag_processor_beat, repr(time.time()))
        return len(changed)

    async def _asked_for(self) -> list[str]:
        """The files the API asked to parse (PUT /parseDagFile), taken off the request set."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.smembers(self.keys.parse_requests)
            pipe.delete(self.keys.parse_requests)
            asked, _ = await pipe.execute()
        return sorted(cast(set[str], asked))

    async def _deleted_through_api(
        self, current: Mapping[str, object], changed: list[str]
    ) -> list[str]:
        """Unchanged files one of whose DAGs is gone from ``dags`` (deleted through the API):
        parsed again, so that the DAG comes back as in Airflow, where the next parse re-adds it."""
        present = set(cast(list[str], await self.client.hkeys(self.keys.dags)))
        return [
            path
            for path, dag_ids in self.file_dags.items()
            if path in current and path not in changed and dag_ids - present
        ]

    async def _store(self, results: list[FileResult], removed: list[str]) -> None:
        known = await typed.hgetall(self.client, self.keys.dags)
        k = self.keys
        errors_changed = bool(removed)
        async with self.client.pipeline(transaction=True) as pipe:
            for result in results:
                defined = set()
                for dag in result.dags:
                    dag_id = dag["dag_id"]
                    defined.add(dag_id)
                    pipe.set(k.dag_snapshot(dag["hash"]), orjson.dumps(dag).decode(), nx=True)
                    pipe.hset(k.dags, dag_id, dag["hash"])
                    pipe.hset(k.dag_files, dag_id, result.filename)
                    pipe.srem(k.inactive, dag_id)
                    if dag_id not in known and self._pause_new(dag):
                        pipe.sadd(k.paused, dag_id)
                    if known.get(dag_id) != dag["hash"]:
                        version = {"h": dag["hash"], "at": time.time()}
                        pipe.rpush(k.dag_versions(dag_id), dumps(version))
                        pipe.xadd(
                            k.events,
                            DagEvent(dag_id, dag["hash"]).to_fields(),
                            maxlen=EVENTS_MAXLEN,
                            approximate=True,
                        )
                        # The coordinator reads the new version now, not on the next trigger.
                        pipe.xadd(
                            k.commands,
                            DagUpdated(dag_id, dag["hash"]).to_fields(),
                            maxlen=STREAM_MAXLEN,
                            approximate=True,
                        )
                for gone in self.file_dags.get(result.filename, set()) - defined:
                    pipe.sadd(k.inactive, gone)
                self.file_dags[result.filename] = defined
                if result.errors:
                    pipe.hset(
                        k.import_errors,
                        result.filename,
                        dumps([e.to_json() for e in result.errors]),
                    )
                    errors_changed = True
                else:
                    pipe.hdel(k.import_errors, result.filename)
            for path in removed:
                for gone in self.file_dags.pop(path, set()):
                    pipe.sadd(k.inactive, gone)
                pipe.hdel(k.import_errors, path)
            if errors_changed:
                pipe.xadd(
                    k.events,
                    ImportErrorsEvent().to_fields(),
                    maxlen=EVENTS_MAXLEN,
                    approximate=True,
                )
            await pipe.execute()

    def _pause_new(self, dag: dict[str, object]) -> bool:
        explicit = dag.get("is_paused_upon_creation")
        return bool(self.settings.paused_at_creation if explicit is None else explicit)
