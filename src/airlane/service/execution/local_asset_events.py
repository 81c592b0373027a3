"""Asset events under ``dags test``: held in memory for the run (and the runs it triggers), so
that a later task's ``inlet_events`` sees what an earlier task's outlets recorded, as Airflow's
``dags test`` records them (its execution API writes them to the database). Nothing reads them
to start consumers: like Airflow's, ``dags test`` runs no scheduler.

The records have the asset store's shape (queue/assets.py: flat asset fields, ``asset_extra``)
that ``AssetEventView.from_record`` reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from airlane.sdk.asset_runtime import current_asset_event_reader
from airlane.sdk.assets import Asset


class LocalAssetEvents:
    """sdk.asset_events.AssetEventReader over the events of this process's runs."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    @classmethod
    def current_or_new(cls) -> LocalAssetEvents:
        """The one installed already (a run that ``dags test`` triggered shares its caller's),
        or a new one."""
        found = current_asset_event_reader()
        return found if isinstance(found, LocalAssetEvents) else cls()

    def events_for_asset(self, name: str) -> Sequence[Mapping[str, Any]]:
        return [r for r in self.records if name in (r["name"], r["uri"])]

    def events_for_alias(self, alias: str) -> Sequence[Mapping[str, Any]]:
        return [r for r in self.records if alias in {a["name"] for a in r["source_aliases"]}]

    def record(
        self, source: tuple[str, str, str, int], raw: str | None, outlets: Iterable[Any]
    ) -> None:
        """A successful try's events: its completion's (``raw``, the JSON of
        ``OutletEventAccessors.emitted()``), or else one per declared outlet ``Asset``
        (``source``: dag_id, run_id, task_id, map_index)."""
        emitted = orjson.loads(raw) if raw else _declared(outlets)
        for event in emitted:
            self._add(source, event)

    def _add(self, source: tuple[str, str, str, int], event: Mapping[str, Any]) -> None:
        asset = event.get("asset") or {}
        name = str(asset.get("name") or asset.get("uri") or "")
        dag_id, run_id, task_id, map_index = source
        self.records.append(
            {
                "id": len(self.records) + 1,
                "name": name,
                "uri": str(asset.get("uri") or name),
                "group": str(asset.get("group") or "asset"),
                "asset_extra": dict(asset.get("extra") or {}),
                "extra": dict(event.get("extra") or {}),
                "source_dag_id": dag_id,
                "source_task_id": task_id,
                "source_run_id": run_id,
                "source_map_index": map_index,
                "source_aliases": [
                    {"name": n, "group": "asset"} for n in event.get("source_alias_names") or ()
                ],
                "timestamp": datetime.now(UTC).isoformat(),
                "created_dagruns": [],
            }
        )


def _declared(outlets: Iterable[Any]) -> list[dict[str, Any]]:
    return [
        {"asset": {"name": o.name, "uri": o.uri, "group": o.group, "extra": dict(o.extra)}}
        for o in outlets
        if isinstance(o, Asset)
    ]
