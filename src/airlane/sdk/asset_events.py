"""The context's ``outlet_events`` and ``inlet_events``, as Airflow 3.1's task SDK has them.

``outlet_events[asset].extra`` is the extra of the event the task's success records for that
outlet; ``outlet_events[alias].add(asset, extra=...)`` records an event of ``asset`` through the
alias. :meth:`OutletEventAccessors.emitted` lists what to record, filtered to the task's
outlets as Airflow's API server does (``register_asset_changes_in_db``)::

    {"asset": <asset ref>, "extra": {...}, "source_alias_names": [...]}

``inlet_events[asset]`` lists the asset's events, read through an :class:`AssetEventReader`
(Redis under the coordinator, memory under ``dags test``). Pure: no I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from airlane.sdk.assets import (
    Asset,
    AssetAlias,
    AssetNameRef,
    AssetRef,
    AssetUriRef,
    BaseAsset,
)

#: an asset's key (name, uri) or an alias's ("alias", name)
_Key = tuple[str, str]


@dataclass(slots=True)
class OutletEventAccessor:
    """One outlet's event: its ``extra``, and the assets added through it when it is an alias."""

    key: _Key
    extra: dict[str, Any] = field(default_factory=dict)
    asset_alias_events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, asset: Asset | AssetRef, extra: dict[str, Any] | None = None) -> None:
        """Record an event of ``asset`` through this alias (nothing for an asset's accessor)."""
        if self.key[0] != "alias":
            return
        if isinstance(asset, AssetRef):
            raise TypeError(
                f"{asset!r}: add an Asset to an alias (Airlane resolves no references here)"
            )
        self.asset_alias_events.append(
            {
                "source_alias_name": self.key[1],
                "dest_asset": asset.as_ref(),
                "extra": dict(extra or {}),
            }
        )


def _ref_key(ref: AssetRef, outlets: Sequence[Any]) -> _Key:
    for item in outlets:
        if isinstance(item, Asset) and (
            (isinstance(ref, AssetNameRef) and item.name == ref.value)
            or (isinstance(ref, AssetUriRef) and item.uri == ref.value)
        ):
            return (item.name, item.uri)
    raise KeyError(ref)


class OutletEventAccessors(Mapping[Any, OutletEventAccessor]):
    """``outlet_events``: an accessor per asset or alias, made on first access."""

    def __init__(self, outlets: Sequence[Any] = ()) -> None:
        self._outlets = list(outlets)
        self._dict: dict[_Key, OutletEventAccessor] = {}

    def __repr__(self) -> str:
        return f"OutletEventAccessors(_dict={self._dict})"

    def _key(self, key: Any) -> _Key:
        if isinstance(key, Asset):
            return (key.name, key.uri)
        if isinstance(key, AssetAlias):
            return ("alias", key.name)
        if isinstance(key, AssetRef):
            return _ref_key(key, self._outlets)
        raise TypeError(f"Key should be either an asset or an asset alias, not {type(key)}")

    def __getitem__(self, key: Any) -> OutletEventAccessor:
        hashable = self._key(key)
        if hashable not in self._dict:
            self._dict[hashable] = OutletEventAccessor(hashable)
        return self._dict[hashable]

    def __iter__(self) -> Iterator[Any]:
        for kind, name in self._dict:
            yield AssetAlias(name) if kind == "alias" else Asset(name=kind, uri=name)

    def __len__(self) -> int:
        return len(self._dict)

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> OutletEventAccessor:
        return self[_for_asset(name, uri)]

    def for_asset_alias(self, *, name: str) -> OutletEventAccessor:
        return self[AssetAlias(name)]

    def emitted(self) -> list[dict[str, Any]]:
        """The events a success records: one per outlet asset, one per asset added through an
        outlet alias (the same asset and extras through several aliases: one event)."""
        events: list[dict[str, Any]] = []
        for outlet in self._outlets:
            if isinstance(outlet, Asset):
                accessor = self._dict.get((outlet.name, outlet.uri))
                extra = dict(accessor.extra) if accessor else {}
                events.append({"asset": outlet.as_ref(), "extra": extra, "source_alias_names": []})
            elif isinstance(outlet, AssetRef):
                events.append(self._ref_event(outlet))
        events.extend(self._alias_events())
        return events

    def _ref_event(self, ref: AssetRef) -> dict[str, Any]:
        """An outlet given as a reference: the store resolves the partial ref."""
        partial = {"name": ref.value} if isinstance(ref, AssetNameRef) else {"uri": ref.value}
        accessor = next(
            (
                a
                for (name, uri), a in self._dict.items()
                if name != "alias" and ref.value in ((name,) if "name" in partial else (uri,))
            ),
            None,
        )
        extra = dict(accessor.extra) if accessor else {}
        return {"asset": partial, "extra": extra, "source_alias_names": []}

    def _alias_events(self) -> list[dict[str, Any]]:
        outlet_aliases = {o.name for o in self._outlets if isinstance(o, AssetAlias)}
        grouped: dict[str, tuple[dict[str, Any], dict[str, Any], set[str]]] = {}
        for accessor in self._dict.values():
            for event in accessor.asset_alias_events:
                if event["source_alias_name"] not in outlet_aliases:
                    continue
                dest, extra = event["dest_asset"], event["extra"]
                key = json.dumps([dest, extra], sort_keys=True, default=repr)
                grouped.setdefault(key, (dest, extra, set()))[2].add(event["source_alias_name"])
        return [
            {"asset": dest, "extra": extra, "source_alias_names": sorted(names)}
            for dest, extra, names in grouped.values()
        ]


def _for_asset(name: str | None, uri: str | None) -> BaseAsset:
    if name and uri:
        return Asset(name=name, uri=uri)
    if name:
        return Asset.ref(name=name)
    if uri:
        return Asset.ref(uri=uri)
    raise ValueError("name and uri cannot both be None")


@dataclass(frozen=True, slots=True)
class AssetView:
    """An event's asset, as Airflow's ``AssetResponse``."""

    name: str
    uri: str
    group: str = "asset"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AssetEventView:
    """One asset event as a task reads it (Airflow's ``AssetEventResult``)."""

    id: int
    timestamp: str
    asset: AssetView
    extra: dict[str, Any] = field(default_factory=dict)
    source_task_id: str | None = None
    source_dag_id: str | None = None
    source_run_id: str | None = None
    source_map_index: int | None = -1
    source_aliases: tuple[str, ...] = ()
    created_dagruns: tuple[Any, ...] = ()

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> AssetEventView:
        """From the store's event record (``queue/assets.py``: flat asset fields)."""
        asset = AssetView(
            str(record.get("name") or ""),
            str(record.get("uri") or ""),
            str(record.get("group") or "asset"),
            dict(record.get("asset_extra") or {}),
        )
        return cls(
            id=int(record.get("id") or 0),
            timestamp=str(record.get("timestamp") or ""),
            asset=asset,
            extra=dict(record.get("extra") or {}),
            source_task_id=record.get("source_task_id"),
            source_dag_id=record.get("source_dag_id"),
            source_run_id=record.get("source_run_id"),
            source_map_index=record.get("source_map_index", -1),
            source_aliases=tuple(record.get("source_aliases") or ()),
            created_dagruns=tuple(record.get("created_dagruns") or ()),
        )


class AssetEventReader(Protocol):
    """Where ``inlet_events`` reads an asset's (or an alias's) events, oldest first."""

    def events_for_asset(self, name: str) -> Sequence[Mapping[str, Any]]: ...

    def events_for_alias(self, alias: str) -> Sequence[Mapping[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class MemoryAssetEventReader:
    """Events held in memory (``dags test``, or events fetched before the task started)."""

    by_asset: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    by_alias: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)

    def events_for_asset(self, name: str) -> Sequence[Mapping[str, Any]]:
        return self.by_asset.get(name, ())

    def events_for_alias(self, alias: str) -> Sequence[Mapping[str, Any]]:
        return self.by_alias.get(alias, ())


class InletEventsAccessors(Mapping[Any, list[AssetEventView]]):
    """``inlet_events``: the events of each of the task's inlets (by object or index)."""

    def __init__(self, inlets: Sequence[Any], reader: AssetEventReader | None = None) -> None:
        self._inlets = list(inlets)
        self._reader: AssetEventReader = reader or MemoryAssetEventReader()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._inlets)

    def __len__(self) -> int:
        return len(self._inlets)

    def __getitem__(self, key: Any) -> list[AssetEventView]:
        obj = key
        if isinstance(key, int):
            obj = self._inlets[key]
            if not isinstance(obj, Asset | AssetAlias | AssetRef):
                raise IndexError(key)
        if isinstance(obj, AssetAlias):
            if obj not in self._inlets:
                raise KeyError(obj)
            records = self._reader.events_for_alias(obj.name)
        elif isinstance(obj, Asset | AssetRef):
            records = self._reader.events_for_asset(self._resolve(obj))
        else:
            raise TypeError(f"`key` is of unknown type ({type(key).__name__})")
        return [AssetEventView.from_record(r) for r in records]

    def _resolve(self, obj: Asset | AssetRef) -> str:
        """The name of the inlet ``obj`` stands for (an ``Asset.ref`` inlet matches by name or
        URI, as Airflow resolves it to its asset)."""
        for inlet in self._inlets:
            if isinstance(inlet, Asset) and _matches(obj, inlet.name, inlet.uri):
                return inlet.name
            if isinstance(inlet, AssetNameRef) and _matches(obj, inlet.value, None):
                return inlet.value
            if isinstance(inlet, AssetUriRef) and _matches(obj, None, inlet.value):
                return inlet.value
        raise KeyError(obj)

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> list[AssetEventView]:
        return self[_for_asset(name, uri)]

    def for_asset_alias(self, *, name: str) -> list[AssetEventView]:
        return self[AssetAlias(name)]


def _matches(obj: Asset | AssetRef, name: str | None, uri: str | None) -> bool:
    """Whether ``obj`` designates the inlet known by ``name`` and/or ``uri``."""
    if isinstance(obj, AssetNameRef):
        return name is not None and obj.value == name
    if isinstance(obj, AssetUriRef):
        return uri is not None and obj.value == uri
    assert isinstance(obj, Asset)
    if name is not None and uri is not None:
        return (obj.name, obj.uri) == (name, uri)
    return obj.name == name if name is not None else obj.uri == uri
