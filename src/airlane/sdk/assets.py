"""Assets (Airflow 2's datasets): what tasks update (``outlets``) and DAGs are scheduled on.

``Asset``, ``AssetAlias`` and their conditions (``a & b``, ``a | b``) as in Airflow 3.1's
``airflow.sdk.definitions.asset``; ``Dataset`` and friends are Airflow 2's names. Each object
has a JSON form (``as_ref()`` for an asset or alias, ``as_condition()`` for a schedule) that the
serialized DAG carries; the shapes are fixed in ``/work/wt/ASSETS8.md`` (issue 18).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

from airlane.sdk.asset_uri import check_asset_name, check_identifier, sanitize_uri
from airlane.sdk.triggers import BaseEventTrigger, BaseTrigger, serde


class BaseAsset:
    """What ``schedule=`` accepts as an asset condition; ``&`` and ``|`` combine them."""

    def __bool__(self) -> bool:
        return True

    def __or__(self, other: object) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAny(self, other)

    def __and__(self, other: object) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAll(self, other)

    def as_condition(self) -> dict[str, Any]:
        """The condition's JSON tree: ``{"asset"|"alias"|"all"|"any": ...}``."""
        raise ValueError(f"serialization not implemented for {type(self).__name__!r}")

    def as_expression(self) -> Any:
        """Airflow's ``as_expression()`` (what its API shows as ``asset_expression``)."""
        raise ValueError(f"serialization not implemented for {type(self).__name__!r}")

    def iter_assets(self) -> Iterator[Asset]:
        return iter(())

    def iter_asset_aliases(self) -> Iterator[AssetAlias]:
        return iter(())


class AssetWatcher:
    """A trigger that turns external messages into events of its asset (run by the triggerer)."""

    def __init__(self, name: str, trigger: Any) -> None:
        if isinstance(trigger, BaseTrigger) and not isinstance(trigger, BaseEventTrigger):
            raise ValueError("The trigger used to watch an asset must inherit ``BaseEventTrigger``")
        self.name = name
        self.trigger = trigger

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetWatcher):
            return NotImplemented
        return (self.name, self.trigger) == (other.name, other.trigger)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"AssetWatcher(name={self.name!r}, trigger={self.trigger!r})"

    def as_ref(self) -> dict[str, Any]:
        """``{"name", "trigger": {"classpath", "kwargs"}}``; kwargs as ``triggers.serde`` JSON."""
        if isinstance(self.trigger, dict):
            trigger = self.trigger
        else:
            classpath, kwargs = self.trigger.serialize()
            trigger = {"classpath": classpath, "kwargs": orjson.loads(serde.dumps(kwargs))}
        return {"name": self.name, "trigger": trigger}


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    return value


@dataclass
class AssetAccessControl:
    """Airflow 3.3's teams that may produce (and consume) an asset's events. Airflow applies it
    only in its multi-team mode (``[core] multi_team``, off by default); Airlane has no teams,
    so, as Airflow in its default mode, every DAG's events reach every consumer."""

    producer_teams: list[str] = field(default_factory=list)
    consumer_teams: list[str] | None = None
    allow_global: bool = True

    def __post_init__(self) -> None:
        for name in ("producer_teams", "consumer_teams"):
            for entry in getattr(self, name) or ():
                if not isinstance(entry, str) or not entry.strip():
                    raise ValueError(f"Each entry in {name} must be a non-empty string")
        if not isinstance(self.allow_global, bool):
            raise TypeError(f"'allow_global' must be <class 'bool'> (got {self.allow_global!r})")


class Asset(os.PathLike[str], BaseAsset):
    """A piece of data that tasks update and DAGs are scheduled on; named by ``name`` and
    ``uri`` (either defaults to the other), in a ``group``, with ``extra`` information."""

    asset_type: ClassVar[str] = "asset"

    def __init__(
        self,
        name: str | None = None,
        uri: Any = None,
        *,
        group: str | None = None,
        extra: dict[str, Any] | None = None,
        watchers: list[AssetWatcher] | None = None,
        access_control: AssetAccessControl | None = None,
    ) -> None:
        if name is None and uri is None:
            raise TypeError("Asset() requires either 'name' or 'uri'")
        if name is None:
            name = str(uri)
        elif uri is None:
            uri = name
        owner = type(self).__name__
        # as attrs does: the URI's converter first, then each field's validator in order
        sanitized = sanitize_uri(uri)
        self.name: str = check_asset_name(owner, name)
        self.uri: str = check_identifier(owner, "uri", sanitized, empty_ok=False)
        self.group: str = check_identifier(
            owner, "group", self.asset_type if group is None else group
        )
        self.extra: dict[str, Any] = {} if extra is None else extra
        self.watchers: list[AssetWatcher] = list(watchers or [])
        if access_control is not None and not isinstance(access_control, AssetAccessControl):
            raise TypeError(f"access_control must be an AssetAccessControl, not {access_control!r}")
        self.access_control = access_control or AssetAccessControl()

    @staticmethod
    def ref(*, name: str = "", uri: str = "") -> AssetRef:
        """A reference to an asset defined elsewhere, by name or by URI."""
        if name and uri:
            raise TypeError("Asset reference must be made to either name or URI, not both")
        if name:
            return AssetNameRef(name)
        if uri:
            return AssetUriRef(uri)
        raise TypeError("Asset reference expects keyword argument 'name' or 'uri'")

    def _key(self) -> tuple[Any, ...]:
        return (self.name, self.uri, self.group, _hashable(self.extra), tuple(self.watchers))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Asset):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __fspath__(self) -> str:
        return self.uri

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, uri={self.uri!r}, group={self.group!r}, "
            f"extra={self.extra!r}, watchers={self.watchers!r})"
        )

    def as_ref(self) -> dict[str, Any]:
        ref: dict[str, Any] = {
            "name": self.name,
            "uri": self.uri,
            "group": self.group,
            "extra": dict(self.extra),
        }
        if self.watchers:
            ref["watchers"] = [w.as_ref() for w in self.watchers]
        return ref

    def as_condition(self) -> dict[str, Any]:
        return {"asset": self.name}

    def as_expression(self) -> Any:
        return {"asset": {"uri": self.uri, "name": self.name, "group": self.group}}

    def iter_assets(self) -> Iterator[Asset]:
        yield self


class Dataset(Asset):
    """Airflow 2's name for an asset (``Dataset(uri, extra)`` there: a dict given second is
    its ``extra``)."""

    asset_type: ClassVar[str] = "dataset"

    def __init__(self, name: str | None = None, uri: Any = None, **kwargs: Any) -> None:
        if isinstance(uri, dict) and "extra" not in kwargs:
            uri, kwargs["extra"] = None, uri
        super().__init__(name, uri, **kwargs)


class Model(Asset):
    """An asset that is a model (Airflow 3's group "model")."""

    asset_type: ClassVar[str] = "model"


class AssetRef(BaseAsset):
    """A reference to an asset by name or URI (``Asset.ref(...)``), resolved by the scheduler."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.value == other.value

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.value))


class AssetNameRef(AssetRef):
    @property
    def name(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"AssetNameRef(name={self.value!r})"

    def as_condition(self) -> dict[str, Any]:
        return {"asset": self.value}

    def as_expression(self) -> Any:
        return {"asset_ref": {"name": self.value}}


class AssetUriRef(AssetRef):
    @property
    def uri(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"AssetUriRef(uri={self.value!r})"

    def as_condition(self) -> dict[str, Any]:
        return {"asset_uri": self.value}

    def as_expression(self) -> Any:
        return {"asset_ref": {"uri": self.value}}


class AssetAlias(BaseAsset):
    """A name that a task resolves to assets at run time (``outlet_events[alias].add(...)``)."""

    def __init__(self, name: str, *, group: str = "asset") -> None:
        self.name = check_identifier("AssetAlias", "name", name, empty_ok=False)
        self.group = check_identifier("AssetAlias", "group", group)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AssetAlias):
            return NotImplemented
        return (self.name, self.group) == (other.name, other.group)

    def __hash__(self) -> int:
        return hash((self.name, self.group))

    def __repr__(self) -> str:
        return f"AssetAlias(name={self.name!r}, group={self.group!r})"

    def as_ref(self) -> dict[str, Any]:
        return {"alias": self.name, "group": self.group}

    def as_condition(self) -> dict[str, Any]:
        return {"alias": self.name}

    def as_expression(self) -> Any:
        return {"alias": {"name": self.name, "group": self.group}}

    def iter_asset_aliases(self) -> Iterator[AssetAlias]:
        yield self


DatasetAlias = AssetAlias


class _BooleanCondition(BaseAsset):
    _key: ClassVar[str]

    def __init__(self, *objects: BaseAsset) -> None:
        if not all(isinstance(o, BaseAsset) for o in objects):
            raise TypeError("expect asset expressions in condition")
        self.objects = objects

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.objects == other.objects

    def __hash__(self) -> int:
        return hash((self._key, self.objects))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(str, self.objects))})"

    def as_condition(self) -> dict[str, Any]:
        return {self._key: [o.as_condition() for o in self.objects]}

    def as_expression(self) -> Any:
        return {self._key: [o.as_expression() for o in self.objects]}

    def iter_assets(self) -> Iterator[Asset]:
        for o in self.objects:
            yield from o.iter_assets()

    def iter_asset_aliases(self) -> Iterator[AssetAlias]:
        for o in self.objects:
            yield from o.iter_asset_aliases()


class AssetAny(_BooleanCondition):
    """Either of the conditions (``a | b``)."""

    _key = "any"

    def __or__(self, other: object) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAny(*self.objects, other)  # X | (Y | Z) is X | Y | Z


class AssetAll(_BooleanCondition):
    """All the conditions (``a & b``; a list schedule is one too)."""

    _key = "all"

    def __and__(self, other: object) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAll(*self.objects, other)


DatasetAny = AssetAny
DatasetAll = AssetAll


class Metadata:
    """What a task yields to attach ``extra`` to its outlet's event (through ``alias`` if given)."""

    def __init__(
        self, asset: Asset, extra: dict[str, Any] | None = None, alias: AssetAlias | None = None
    ) -> None:
        self.asset = asset
        self.extra = {} if extra is None else extra
        self.alias = alias

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metadata):
            return NotImplemented
        return (self.asset, self.extra, self.alias) == (other.asset, other.extra, other.alias)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Metadata(asset={self.asset!r}, extra={self.extra!r}, alias={self.alias!r})"


def as_asset_condition(value: Any) -> BaseAsset | None:
    """``schedule`` as an asset condition: a condition itself, or a collection of assets (all
    of them, as Airflow 3.1's DAG makes it; anything else in it is refused as there); None
    when it is no asset schedule."""
    if isinstance(value, BaseAsset):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if not all(isinstance(v, BaseAsset) for v in items):
            raise ValueError(
                "All elements in 'schedule' should be either assets, asset references, or "
                "asset aliases"
            )
        return AssetAll(*items)
    return None


def unique_refs(items: Iterable[Asset | AssetAlias]) -> list[dict[str, Any]]:
    """The refs of ``items`` in order, each name once."""
    seen: set[tuple[str, str]] = set()
    refs: list[dict[str, Any]] = []
    for item in items:
        key = ("alias" if isinstance(item, AssetAlias) else "asset", item.name)
        if key not in seen:
            seen.add(key)
            refs.append(item.as_ref())
    return refs


__all__ = [
    "Asset",
    "AssetAccessControl",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetNameRef",
    "AssetRef",
    "AssetUriRef",
    "AssetWatcher",
    "BaseAsset",
    "Dataset",
    "DatasetAlias",
    "DatasetAll",
    "DatasetAny",
    "Metadata",
    "Model",
]
