"""A DAG's asset schedule as a pure JSON tree, and whether queued events satisfy it.

The tree (``DagSpec.asset_condition``, made by ``sdk.assets``)::

    {"asset": name} | {"alias": alias name} | {"all": [cond, ...]} | {"any": [cond, ...]}

plus ``{"asset_uri": uri}`` for ``Asset.ref(uri=...)``, matched against the queued names as
they are (an asset whose name is its URI). An alias stands for the assets it resolved to at run
time: ``aliases`` maps an alias name to those asset names. As in Airflow, an empty ``all`` is
satisfied and an empty ``any`` is not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

Condition = Mapping[str, Any]

_EMPTY: frozenset[str] = frozenset()


class AssetConditionError(ValueError):
    """A condition that is not one of the tree's node kinds."""


def _node(cond: Condition) -> tuple[str, Any]:
    if not isinstance(cond, Mapping) or len(cond) != 1:
        raise AssetConditionError(f"not an asset condition: {cond!r}")
    ((kind, value),) = cond.items()
    if kind in ("all", "any"):
        if not isinstance(value, Sequence) or isinstance(value, str):
            raise AssetConditionError(f"{kind!r} takes a list of conditions: {cond!r}")
    elif kind not in ("asset", "alias", "asset_uri") or not isinstance(value, str):
        raise AssetConditionError(f"not an asset condition: {cond!r}")
    return str(kind), value


def evaluate(
    cond: Condition,
    queued: AbstractSet[str],
    aliases: Mapping[str, AbstractSet[str]],
) -> bool:
    """Whether the assets with a queued event (``queued``: names) satisfy ``cond``."""
    kind, value = _node(cond)
    if kind in ("asset", "asset_uri"):
        return value in queued
    if kind == "alias":
        return any(name in queued for name in aliases.get(value, _EMPTY))
    results = (evaluate(child, queued, aliases) for child in value)
    return all(results) if kind == "all" else any(results)


def _leaves(cond: Condition) -> Iterator[tuple[str, str]]:
    kind, value = _node(cond)
    if kind in ("all", "any"):
        for child in value:
            yield from _leaves(child)
    else:
        yield kind, value


def asset_names(cond: Condition, aliases: Mapping[str, AbstractSet[str]]) -> frozenset[str]:
    """Every asset whose event the condition reacts to (aliases resolved through ``aliases``)."""
    names: set[str] = set()
    for kind, value in _leaves(cond):
        if kind == "alias":
            names.update(aliases.get(value, _EMPTY))
        else:
            names.add(value)
    return frozenset(names)


def alias_names(cond: Condition) -> frozenset[str]:
    """The aliases the condition names."""
    return frozenset(value for kind, value in _leaves(cond) if kind == "alias")


def check(cond: Condition) -> None:
    """Raise :class:`AssetConditionError` unless ``cond`` is a well-formed tree."""
    for _ in _leaves(cond):
        pass
