"""The context's ``triggering_asset_events`` (Airflow 3) and ``triggering_dataset_events``
(Airflow 2): the events that queued an asset-triggered run, from the store's event records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airlane.sdk.asset_events import AssetEventView, AssetKey, asset_or_ref, designates
from airlane.sdk.assets import Asset, AssetAlias, AssetRef


def _alias_names(record: Mapping[str, Any]) -> list[str]:
    """An event record's source aliases (names, or ``{"name": ...}`` objects)."""
    names = []
    for alias in record.get("source_aliases") or ():
        names.append(str(alias.get("name")) if isinstance(alias, Mapping) else str(alias))
    return names


class TriggeringAssetEventsAccessor(Mapping[Any, Sequence[AssetEventView]]):
    """``triggering_asset_events``: the events that queued an asset-triggered run, by asset
    (an ``Asset``, ``Asset.ref``) and by the alias they came through."""

    def __init__(self, records: Sequence[Mapping[str, Any]] = ()) -> None:
        self._events: dict[AssetKey, list[AssetEventView]] = {}
        for record in records:
            view = AssetEventView.from_record(record)
            self._events.setdefault((view.asset.name, view.asset.uri), []).append(view)
            for alias in _alias_names(record):
                self._events.setdefault(("alias", alias), []).append(view)

    @classmethod
    def build(cls, records: Sequence[Mapping[str, Any]]) -> TriggeringAssetEventsAccessor:
        return cls(records)

    def __repr__(self) -> str:
        return f"TriggeringAssetEventAccessor(_events={self._events})"

    def __iter__(self) -> Iterator[Any]:
        for kind, name in self._events:
            yield AssetAlias(name) if kind == "alias" else Asset(name=kind, uri=name)

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, key: Any) -> Sequence[AssetEventView]:
        if isinstance(key, Asset):
            return self._events[(key.name, key.uri)]
        if isinstance(key, AssetAlias):
            return self._events[("alias", key.name)]
        if isinstance(key, AssetRef):
            for (name, uri), events in self._events.items():
                if name != "alias" and designates(key, name, uri):
                    return events
            raise KeyError(key)
        raise TypeError(f"Key should be either an asset or an asset alias, not {type(key)}")

    def for_asset(
        self, *, name: str | None = None, uri: str | None = None
    ) -> Sequence[AssetEventView]:
        return self[asset_or_ref(name, uri)]

    def for_asset_alias(self, *, name: str) -> Sequence[AssetEventView]:
        return self[AssetAlias(name)]


def triggering_dataset_events(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Airflow 2's ``triggering_dataset_events``: the events by dataset URI."""
    by_uri: dict[str, list[Any]] = {}
    for record in records:
        view = AssetEventView.from_record(record)
        by_uri.setdefault(view.asset.uri, []).append(view)
    return by_uri
