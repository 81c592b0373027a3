"""Which asset watchers should run, decided without I/O (as Airflow 3.1's DAG processor does in
``add_asset_trigger_references``): the watchers of the assets that an active, unpaused DAG is
scheduled on. Identical triggers (the same classpath and kwargs) are one watcher, whose every
event becomes an event of each asset it watches (Airflow's ``Trigger.submit_event``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class WatcherSpec:
    """One trigger to run: its classpath, its kwargs (serde JSON text) and the assets whose
    events it makes (sorted names)."""

    classpath: str
    kwargs_json: str
    asset_names: tuple[str, ...]


def watcher_key(classpath: str, kwargs: Any) -> str:
    """The identity of a watcher's trigger (classpath and kwargs, key order ignored)."""
    text = orjson.dumps([classpath, kwargs], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha1(text).hexdigest()[:20]


def scheduled_names(condition: Mapping[str, Any] | None) -> Iterator[str]:
    """The assets a condition names directly (``{"asset": name}`` leaves)."""
    if not condition:
        return
    if "asset" in condition:
        yield str(condition["asset"])
    for part in (*condition.get("all", ()), *condition.get("any", ())):
        yield from scheduled_names(part)


def active_assets(
    conditions: Mapping[str, Mapping[str, Any] | None],
    paused: Iterable[str],
    inactive: Iterable[str],
) -> set[str]:
    """Asset names some active, unpaused DAG (``conditions``: dag_id -> asset condition) is
    scheduled on."""
    skip = set(paused) | set(inactive)
    return {
        name
        for dag_id, condition in conditions.items()
        if dag_id not in skip
        for name in scheduled_names(condition)
    }


def plan(
    watchers: Mapping[str, Iterable[Mapping[str, Any]]], active: set[str]
) -> dict[str, WatcherSpec]:
    """watcher key -> what to run, from ``watchers`` (asset name -> its serialized watchers,
    ``{"name", "trigger": {"classpath", "kwargs"}}``) of the ``active`` assets."""
    found: dict[str, tuple[str, str, set[str]]] = {}
    for asset_name, refs in watchers.items():
        if asset_name not in active:
            continue
        for ref in refs:
            trigger = ref.get("trigger") or {}
            classpath, kwargs = str(trigger.get("classpath", "")), trigger.get("kwargs") or {}
            if not classpath:
                continue
            key = watcher_key(classpath, kwargs)
            entry = found.setdefault(key, (classpath, orjson.dumps(kwargs).decode(), set()))
            entry[2].add(asset_name)
    return {
        key: WatcherSpec(classpath, kwargs_json, tuple(sorted(names)))
        for key, (classpath, kwargs_json, names) in found.items()
    }
