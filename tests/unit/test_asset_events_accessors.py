"""sdk.asset_events: outlet_events / inlet_events accessors and the events a success records."""

from __future__ import annotations

import pytest

from airlane.sdk.asset_events import (
    InletEventsAccessors,
    MemoryAssetEventReader,
    OutletEventAccessors,
)
from airlane.sdk.assets import Asset, AssetAlias

A = Asset(uri="s3://output/1.txt", name="test-asset")
B = Asset("s3://b")
ALIAS = AssetAlias("example-alias")


def test_one_event_per_outlet_asset_with_its_extra() -> None:
    events = OutletEventAccessors([A, B, "not an asset"])
    events[A].extra = {"hi": "bye"}
    events[Asset("s3://elsewhere")].extra = {"x": 1}  # not an outlet: not recorded
    assert events.emitted() == [
        {"asset": A.as_ref(), "extra": {"hi": "bye"}, "source_alias_names": []},
        {"asset": B.as_ref(), "extra": {}, "source_alias_names": []},
    ]


def test_alias_adds_are_events_of_the_added_assets() -> None:
    other = AssetAlias("other")
    events = OutletEventAccessors([ALIAS, other])
    events[ALIAS].add(Asset("s3://bucket/my-task"))
    events[other].add(Asset("s3://bucket/my-task"))  # same asset, same extra: one event
    events[ALIAS].add(B, extra={"k": 1})
    events[AssetAlias("not-an-outlet")].add(B)
    events[A].add(B)  # an asset's accessor adds nothing
    assert events.emitted() == [
        {
            "asset": Asset("s3://bucket/my-task").as_ref(),
            "extra": {},
            "source_alias_names": ["example-alias", "other"],
        },
        {"asset": B.as_ref(), "extra": {"k": 1}, "source_alias_names": ["example-alias"]},
    ]


def test_accessor_keys_and_lookups() -> None:
    events = OutletEventAccessors([A])
    assert events.for_asset(name="test-asset") is events[A]
    assert events.for_asset(uri="s3://output/1.txt") is events[A]
    assert events.for_asset_alias(name="al") is events[AssetAlias("al")]
    assert len(events) == 2
    with pytest.raises(TypeError):
        events[1]


def _record(event_id: int, name: str, extra: dict) -> dict:
    return {
        "id": event_id,
        "name": name,
        "uri": name,
        "group": "asset",
        "extra": extra,
        "timestamp": "2026-01-01T00:00:00+00:00",
        "source_dag_id": "p",
        "source_task_id": "t",
        "source_run_id": "r",
        "source_map_index": -1,
        "source_aliases": [],
    }


def test_inlet_events_read_through_the_reader() -> None:
    reader = MemoryAssetEventReader(
        by_asset={"s3://b": [_record(1, "s3://b", {"hi": "a"}), _record(2, "s3://b", {"hi": "b"})]},
        by_alias={"example-alias": [_record(3, "s3://x", {})]},
    )
    inlets = InletEventsAccessors([B, ALIAS, Asset.ref(name="n")], reader)
    assert [e.extra["hi"] for e in inlets[B]] == ["a", "b"]
    assert inlets[0][-1].id == 2
    assert inlets.for_asset(uri="s3://b/")[-1].extra == {"hi": "b"}
    assert inlets[ALIAS][0].asset.name == "s3://x"
    assert inlets[Asset("n", uri="s3://n")] == []  # a ref inlet matches by name
    assert list(inlets) == [B, ALIAS, Asset.ref(name="n")]
    with pytest.raises(KeyError):
        inlets[Asset("unknown")]
    with pytest.raises(IndexError):
        inlets[5]
