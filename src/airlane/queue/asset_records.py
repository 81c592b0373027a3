"""The records of the asset store (queue/assets.py), as stored and as read: pure, no I/O.

Shapes follow Airflow 3.1's models: an asset (``AssetModel``: integer id, name, uri, group,
extra), an alias (``AssetAliasModel``), an event (``AssetEvent`` with its source task and the
aliases it came through) and a queued event (``AssetDagRunQueue``: a consumer DAG waiting on an
asset). Timestamps are ISO 8601 texts in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


def iso_us(text: str) -> int:
    """Epoch microseconds of an ISO timestamp (the score of the per-asset event index: exact
    in a double until the year 2255)."""
    moment = datetime.fromisoformat(text)
    return (moment - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class AssetRef:
    """An asset as a DAG declares it (ASSETS8.md's serialized Asset)."""

    name: str
    uri: str
    group: str = "asset"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AssetRef:
        name = str(raw.get("name") or raw.get("uri") or "")
        uri = str(raw.get("uri") or name)
        extra = raw.get("extra")
        return cls(name, uri, str(raw.get("group") or "asset"), dict(extra or {}))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "uri": self.uri, "group": self.group, "extra": dict(self.extra)}


@dataclass(frozen=True, slots=True)
class AssetRecord:
    """A registered asset (Airflow's AssetModel)."""

    id: int
    name: str
    uri: str
    group: str
    extra: Mapping[str, Any]
    created_at: str
    updated_at: str
    watchers: Sequence[Mapping[str, Any]] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "uri": self.uri,
            "group": self.group,
            "extra": dict(self.extra),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "watchers": list(self.watchers),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AssetRecord:
        return cls(
            int(raw["id"]),
            str(raw["name"]),
            str(raw["uri"]),
            str(raw.get("group") or "asset"),
            dict(raw.get("extra") or {}),
            str(raw.get("created_at") or ""),
            str(raw.get("updated_at") or ""),
            tuple(raw.get("watchers") or ()),
        )


@dataclass(frozen=True, slots=True)
class AliasRecord:
    """A registered alias (Airflow's AssetAliasModel) and the assets it resolved to."""

    id: int
    name: str
    group: str
    asset_names: frozenset[str] = frozenset()

    def ref(self) -> dict[str, Any]:
        """Airflow's AssetAliasResponse: id, name, group."""
        return {"id": self.id, "name": self.name, "group": self.group}


@dataclass(frozen=True, slots=True)
class DagAssets:
    """What one DAG declares about assets: the registry's per-DAG part.

    ``outlets`` / ``inlets``: task_id -> asset names; ``outlet_aliases``: task_id -> alias names;
    ``condition``: the DAG's asset schedule (engine/asset_condition.py's JSON), None if none.
    """

    dag_id: str
    outlets: Mapping[str, Sequence[str]]
    inlets: Mapping[str, Sequence[str]]
    outlet_aliases: Mapping[str, Sequence[str]]
    condition: Mapping[str, Any] | None
    updated_at: str
    #: the DAG's max_active_runs (Airflow's default 16), which holds its asset runs back
    max_active_runs: int = 16

    def to_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "max_active_runs": self.max_active_runs,
            "outlets": {k: list(v) for k, v in self.outlets.items()},
            "inlets": {k: list(v) for k, v in self.inlets.items()},
            "outlet_aliases": {k: list(v) for k, v in self.outlet_aliases.items()},
            "condition": self.condition,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DagAssets:
        return cls(
            str(raw["dag_id"]),
            dict(raw.get("outlets") or {}),
            dict(raw.get("inlets") or {}),
            dict(raw.get("outlet_aliases") or {}),
            raw.get("condition"),
            str(raw.get("updated_at") or ""),
            int(raw.get("max_active_runs") or 16),
        )


@dataclass(frozen=True, slots=True)
class EventSource:
    """Where events come from: a try (its events are recorded once per try), or outside
    (the REST API, a watcher: ``dag_id`` None, never deduplicated)."""

    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int = -1
    try_number: int = 0
    #: an outside source's own identity of an event (a watcher's message id): recorded once
    dedupe_key: str = ""

    def idempotency_field(self) -> str:
        """The ``asset_event_sources`` field of a try (or of a ``dedupe_key``; "" for other
        outside sources)."""
        if self.dag_id is None:
            return self.dedupe_key
        return orjson.dumps(
            [self.dag_id, self.run_id, self.task_id, self.map_index, self.try_number]
        ).decode()


@dataclass(frozen=True, slots=True)
class EmittedEvent:
    """One event to record: an asset, its extra and the aliases it came through
    (sdk/asset_events.py's ``emitted()`` entries)."""

    asset: AssetRef
    extra: Mapping[str, Any] = field(default_factory=dict)
    source_alias_names: Sequence[str] = ()

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> EmittedEvent:
        return cls(
            AssetRef.from_json(raw["asset"]),
            dict(raw.get("extra") or {}),
            tuple(str(n) for n in raw.get("source_alias_names") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": self.asset.to_json(),
            "extra": dict(self.extra),
            "source_alias_names": list(self.source_alias_names),
        }


def event_body(
    asset: AssetRecord,
    emitted: EmittedEvent,
    source: EventSource,
    aliases: Sequence[AliasRecord],
    timestamp: str,
) -> str:
    """An event record's JSON without its leading ``{"id": N,`` (the id is given in Lua)."""
    record = {
        "asset_id": asset.id,
        "uri": asset.uri,
        "name": asset.name,
        "group": asset.group,
        "extra": dict(emitted.extra),
        "source_dag_id": source.dag_id,
        "source_task_id": source.task_id,
        "source_run_id": source.run_id,
        "source_map_index": source.map_index,
        "source_aliases": [a.ref() for a in aliases],
        "timestamp": timestamp,
        "created_dagruns": [],
    }
    return orjson.dumps(record).decode()[1:]


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """A consumer DAG waiting on an asset (Airflow's AssetDagRunQueue)."""

    dag_id: str
    asset_id: int
    asset_name: str
    uri: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        """Airflow's QueuedEventResponse fields."""
        return {
            "dag_id": self.dag_id,
            "asset_id": self.asset_id,
            "uri": self.uri,
            "created_at": self.created_at,
        }


def queue_field(dag_id: str, asset_name: str) -> str:
    """An ``asset_queue`` field; a DAG id has no ``|``, so the first one splits it."""
    return f"{dag_id}|{asset_name}"


def parse_queue_field(text: str) -> tuple[str, str]:
    dag_id, _, name = text.partition("|")
    return dag_id, name
