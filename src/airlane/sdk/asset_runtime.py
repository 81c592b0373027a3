"""What a running task sees of assets beyond its own outlets: the events that triggered its
run (``triggering_asset_events``, Airflow 2's ``triggering_dataset_events``), and where
``inlet_events`` reads (an :class:`~airlane.sdk.asset_events.AssetEventReader` installed
around the try: Redis on a worker, memory under ``dags test``). Pure: no I/O here.

The run's events are Airflow's ``AssetEventDagRunReference`` records::

    {"id", "asset": {"name", "uri", "extra"}, "extra", "source_task_id", "source_dag_id",
     "source_run_id", "source_map_index", "source_aliases": [{"name"}], "timestamp"}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import pendulum

from airlane.sdk.asset_events import AssetEventReader, MemoryAssetEventReader
from airlane.sdk.assets import Asset, AssetAlias, AssetNameRef, AssetUriRef

_reader: ContextVar[AssetEventReader | None] = ContextVar(
    "airlane_asset_event_reader", default=None
)


@contextmanager
def use_asset_event_reader(reader: AssetEventReader) -> Iterator[None]:
    token = _reader.set(reader)
    try:
        yield
    finally:
        _reader.reset(token)


def current_asset_event_reader() -> AssetEventReader:
    return _reader.get() or MemoryAssetEventReader()


@dataclass(frozen=True, slots=True)
class TriggeringAsset:
    """``event.asset``: the asset of a triggering event."""

    name: str
    uri: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TriggeringEvent:
    """One event that triggered the run (Airflow's ``AssetEventDagRunReferenceResult``)."""

    id: int
    asset: TriggeringAsset
    extra: Mapping[str, Any]
    source_task_id: str | None
    source_dag_id: str | None
    source_run_id: str | None
    source_map_index: int | None
    source_aliases: tuple[Mapping[str, Any], ...]
    timestamp: pendulum.DateTime

    @property
    def dataset(self) -> TriggeringAsset:
        """Airflow 2's name of the event's asset."""
        return self.asset

    @property
    def uri(self) -> str:
        return self.asset.uri

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TriggeringEvent:
        asset = raw.get("asset") or {}
        extra = asset.get("extra") or {}
        stamp = pendulum.parse(str(raw.get("timestamp")))
        assert isinstance(stamp, pendulum.DateTime)
        return cls(
            int(raw.get("id") or 0),
            TriggeringAsset(str(asset.get("name")), str(asset.get("uri")), extra),
            dict(raw.get("extra") or {}),
            raw.get("source_task_id"),
            raw.get("source_dag_id"),
            raw.get("source_run_id"),
            raw.get("source_map_index"),
            tuple(raw.get("source_aliases") or ()),
            stamp,
        )


#: an asset's key (name, uri), or an alias's ("alias", name)
_Key = tuple[str, str]


class TriggeringAssetEvents(Mapping[Any, Sequence[TriggeringEvent]]):
    """``triggering_asset_events``: the run's events by asset (an ``Asset``, ``Asset.ref`` or
    ``AssetAlias`` it came through; a URI or name text too), oldest first."""

    def __init__(self, events: Sequence[TriggeringEvent] = ()) -> None:
        self._events: dict[_Key, list[TriggeringEvent]] = {}
        for event in events:
            self._events.setdefault((event.asset.name, event.asset.uri), []).append(event)
            for alias in event.source_aliases:
                self._events.setdefault(("alias", str(alias.get("name"))), []).append(event)

    @classmethod
    def from_json(cls, raw: Sequence[Mapping[str, Any]]) -> TriggeringAssetEvents:
        return cls([TriggeringEvent.from_json(r) for r in raw])

    def __repr__(self) -> str:
        return f"TriggeringAssetEventAccessor(_events={self._events})"

    def __iter__(self) -> Iterator[Any]:
        for first, second in self._events:
            yield AssetAlias(second) if first == "alias" else Asset(name=first, uri=second)

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, key: Any) -> Sequence[TriggeringEvent]:
        return self._events[self._key(key)]

    def _key(self, key: Any) -> _Key:
        if isinstance(key, Asset):
            return (key.name, key.uri)
        if isinstance(key, AssetAlias):
            return ("alias", key.name)
        if isinstance(key, AssetNameRef | AssetUriRef | str):
            text = key if isinstance(key, str) else key.value
            by_name = not isinstance(key, AssetUriRef)
            for name, uri in self._events:
                if name != "alias" and ((by_name and name == text) or uri == text):
                    return (name, uri)
            raise KeyError(key)
        raise TypeError(f"Key should be either an asset or an asset alias, not {type(key)}")

    def by_uri(self) -> dict[str, list[TriggeringEvent]]:
        """Airflow 2's ``triggering_dataset_events``: events by dataset URI."""
        return {uri: list(v) for (name, uri), v in self._events.items() if name != "alias"}
