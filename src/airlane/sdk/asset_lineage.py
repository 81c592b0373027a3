"""A task's ``outlets`` and ``inlets`` as the serialized DAG carries them.

Only assets and aliases are serialized (Airflow keeps other lineage objects on the task, and so
does Airlane, but no scheduler reads them): an ``Asset`` as its ref, an ``AssetAlias`` as
``{"alias", "group"}``, an ``Asset.ref(...)`` as ``{"asset_ref": {"name"|"uri": ...}}``. The keys
are left out when the task has no asset there (a DAG without assets keeps its form and hash).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from airlane.sdk.assets import Asset, AssetAlias, AssetNameRef, AssetRef


def lineage_ref(item: Any) -> dict[str, Any] | None:
    """The JSON of one inlet or outlet, None when it is no asset."""
    if isinstance(item, Asset | AssetAlias):
        return item.as_ref()
    if isinstance(item, AssetRef):
        key = "name" if isinstance(item, AssetNameRef) else "uri"
        return {"asset_ref": {key: item.value}}
    return None


def lineage_refs(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [ref for ref in map(lineage_ref, items) if ref is not None]


def asset_lineage_json(task: Any) -> dict[str, Any]:
    """``{"outlets": [...], "inlets": [...]}``, each only when not empty."""
    result: dict[str, Any] = {}
    for key in ("outlets", "inlets"):
        refs = lineage_refs(getattr(task, key, None) or ())
        if refs:
            result[key] = refs
    return result
