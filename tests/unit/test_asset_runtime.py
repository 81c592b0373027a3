"""The pure parts of asset-triggered runs: when a consumer is ready and what its run carries,
how a DAG's declarations are read, the events a task emits on the wire, the context's
``triggering_asset_events``."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pendulum

from airlane.engine.run_state import TaskOutcome
from airlane.queue.asset_records import (
    AssetRef,
    DagAssets,
    EmittedEvent,
    EventSource,
    iso_us,
    parse_queue_field,
    queue_field,
)
from airlane.queue.asset_registry import declared
from airlane.queue.asset_runs import asset_run_id, ready, triggering_refs
from airlane.queue.assets import EventFilter, consumers_of, links, merged
from airlane.queue.codec import decode_outcome, encode_outcome
from airlane.queue.events_protocol import AssetEventMessage, decode_event
from airlane.sdk.asset_events import OutletEventAccessors
from airlane.sdk.asset_runtime import TriggeringAssetEvents
from airlane.sdk.assets import Asset, AssetAlias
from airlane.sdk.context import Context
from airlane.sdk.state import TaskInstanceState
from airlane.service.execution.task_runner import emitted_asset_events

T1, T2 = "2026-01-01T00:00:00.000001+00:00", "2026-01-01T00:00:01+00:00"


def _dag(condition: dict[str, Any], max_active_runs: int = 16) -> DagAssets:
    return DagAssets("c", {}, {}, {}, condition, "", max_active_runs)


def test_a_consumer_is_ready_when_its_condition_is_met() -> None:
    both = _dag({"all": [{"asset": "a"}, {"asset": "b"}]})
    assert ready(both, {"a": T1}, {}) is None
    found = ready(both, {"b": T2, "a": T1}, {})
    assert found is not None
    assert found.run_after == T2
    assert found.queue_fields == ("c|a", "c|b")
    either = _dag({"any": [{"asset": "a"}, {"alias": "al"}]})
    assert ready(either, {"x": T1}, {"al": {"x"}}) is not None
    assert ready(either, {}, {}) is None


def test_the_run_id_is_airflows_for_a_run_without_logical_date() -> None:
    run_id = asset_run_id(T1)
    assert re.fullmatch(
        r"asset_triggered__2026-01-01T00:00:00\.000001\+00:00_[A-Za-z0-9]{8}", run_id
    )


def test_consumers_of_an_asset_and_of_its_aliases() -> None:
    deps = {
        "on_a": _dag({"asset": "a"}),
        "on_alias": _dag({"alias": "al"}),
        "on_b": _dag({"asset": "b"}),
    }
    assert consumers_of(deps, "a", {}) == {"on_a"}
    assert consumers_of(deps, "a", {"al": {"a"}}) == {"on_a", "on_alias"}


def test_an_assets_producers_and_consumers() -> None:
    deps = {
        "p": DagAssets("p", {"t": ["a"], "u": ["b"]}, {"r": ["a"]}, {}, None, ""),
        "on_a": _dag({"asset": "a"}),
    }
    found = links(deps, "a", {})
    assert found.producers == (("p", "t"),)
    assert found.consumers == ("on_a",)
    assert found.consuming_tasks == (("p", "r"),)


def test_alias_events_of_one_asset_and_extra_are_one() -> None:
    x = AssetRef("x", "x")
    events = [
        EmittedEvent(x, {"k": 1}, ("one",)),
        EmittedEvent(x, {"k": 1}, ("two",)),
        EmittedEvent(x, {"k": 2}, ("one",)),
        EmittedEvent(x),
    ]
    found = merged(events)
    assert [(e.extra, e.source_alias_names) for e in found] == [
        ({"k": 1}, ("one", "two")),
        ({"k": 2}, ("one",)),
        ({}, ()),
    ]


def test_a_serialized_dags_declarations() -> None:
    asset = {"name": "a", "uri": "s3://a", "group": "asset", "extra": {}}
    dag = {
        "max_active_runs": 2,
        "schedule": {"kind": "assets", "condition": {"asset": "a"}, "assets": [asset]},
        "tasks": [
            {"task_id": "t", "outlets": [asset, {"alias": "al", "group": "asset"}], "inlets": None}
        ],
    }
    deps, assets, aliases = declared("d", dag)
    assert (deps.outlets, deps.outlet_aliases, deps.inlets) == ({"t": ["a"]}, {"t": ["al"]}, {})
    assert deps.condition == {"asset": "a"}
    assert deps.max_active_runs == 2
    assert {ref.name for ref, _ in assets} == {"a"}
    assert [a["alias"] for a in aliases] == ["al"]
    assert DagAssets.from_json(orjson.loads(orjson.dumps(deps.to_json()))) == deps


def test_records_helpers() -> None:
    assert parse_queue_field(queue_field("dag", "name|with|bars")) == ("dag", "name|with|bars")
    assert iso_us(T2) - iso_us(T1) == 999_999
    assert EventSource().idempotency_field() == ""
    assert orjson.loads(EventSource("d", "r", "t", 2, 3).idempotency_field()) == [
        "d",
        "r",
        "t",
        2,
        3,
    ]


def test_event_filters() -> None:
    event = {"asset_id": 1, "source_dag_id": "d", "source_map_index": -1, "timestamp": T1}
    assert EventFilter(asset_id=1, source_dag_id="d").matches(event)
    assert not EventFilter(source_dag_id="e").matches(event)
    assert not EventFilter(timestamp_gte=T2).matches(event)
    assert EventFilter(timestamp_lte=T2, source_map_index=-1).matches(event)


def _record(event_id: int, name: str, aliases: list[str]) -> dict[str, Any]:
    return {
        "id": event_id,
        "name": name,
        "uri": f"s3://bucket/{name}",
        "extra": {"n": event_id},
        "source_dag_id": "p",
        "source_task_id": "t",
        "source_run_id": "r",
        "source_map_index": -1,
        "source_aliases": [{"id": 1, "name": a, "group": "asset"} for a in aliases],
        "timestamp": T1,
    }


def test_triggering_asset_events_in_the_context() -> None:
    refs = triggering_refs([_record(1, "a", []), _record(2, "b", ["al"])])
    assert refs[1]["asset"] == {"name": "b", "uri": "s3://bucket/b", "extra": {}}
    assert refs[1]["source_aliases"] == [{"name": "al"}]
    found = TriggeringAssetEvents.from_json(orjson.loads(orjson.dumps(refs)))
    (event,) = found[Asset("a", uri="s3://bucket/a")]
    assert event.extra == {"n": 1}
    assert event.source_dag_id == "p"
    assert event.timestamp == pendulum.parse(T1)
    assert [e.id for e in found[AssetAlias("al")]] == [2]
    assert [e.id for e in found["s3://bucket/b"]] == [2]
    assert len(found) == 3
    assert {getattr(k, "name", None) for k in found} == {"a", "b", "al"}
    assert list(found.by_uri()) == ["s3://bucket/a", "s3://bucket/b"]


def test_a_successful_outcome_carries_the_emitted_events() -> None:
    asset, alias = Asset("a", uri="s3://a"), AssetAlias("al")
    accessors = OutletEventAccessors([asset, alias])
    accessors[asset].extra = {"rows": 1}
    accessors[alias].add(Asset("dyn"), extra={"k": 2})
    raw = emitted_asset_events(Context(outlet_events=accessors))
    assert raw is not None
    events = [EmittedEvent.from_json(e) for e in orjson.loads(raw)]
    assert [(e.asset.name, dict(e.extra), tuple(e.source_alias_names)) for e in events] == [
        ("a", {"rows": 1}, ()),
        ("dyn", {"k": 2}, ("al",)),
    ]
    assert emitted_asset_events(Context()) is None
    outcome = TaskOutcome(TaskInstanceState.SUCCESS, 1, asset_events=raw)
    assert decode_outcome(encode_outcome(outcome)) == outcome


def test_the_asset_event_on_the_events_stream() -> None:
    record = _record(7, "a", [])
    message = decode_event({"kind": "asset", "event": orjson.dumps(record).decode()})
    assert isinstance(message, AssetEventMessage)
    assert message.payload() == record
