"""The asset step's plan (queue/asset_step.py), pure: which consumers get a run in the step,
which ask for the full look, which wait for max_active_runs, and what each planned run takes."""

from __future__ import annotations

from typing import Any

import orjson

from airlane.queue.asset_records import (
    AssetRecord,
    AssetRef,
    DagAssets,
    EmittedEvent,
    EventSource,
    iso_us,
    queue_field,
)
from airlane.queue.asset_runs import triggering_refs
from airlane.queue.asset_step import Consumers, Known, plan
from airlane.queue.assets import consumers_of
from airlane.queue.keys import Keys

SOURCE = EventSource("producer", "run_1", "make", -1, 1)


def _record(asset_id: int, name: str) -> tuple[AssetRecord, str]:
    record = AssetRecord(asset_id, name, f"s3://{name}", "asset", {}, "t", "t")
    return record, orjson.dumps(record.to_json()).decode()


def _consumer(dag_id: str, condition: dict[str, Any] | None, limit: int = 16) -> DagAssets:
    return DagAssets(dag_id, {}, {}, {}, condition, "", limit)


RECORDS = {"a": _record(1, "a"), "b": _record(2, "b")}
DEPS = {
    "producer": DagAssets("producer", {"make": ["a", "b"]}, {}, {}, None, ""),
    "on_a": _consumer("on_a", {"asset": "a"}),
    "a_or_b": _consumer("a_or_b", {"any": [{"asset": "a"}, {"asset": "b"}]}),
    "a_and_b": _consumer("a_and_b", {"all": [{"asset": "a"}, {"asset": "b"}]}),
    "held": _consumer("held", {"asset": "a"}, limit=1),
    "on_alias": _consumer("on_alias", {"alias": "al"}),
}


def _known(**changes: Any) -> Known:
    fields: dict[str, Any] = {
        "deps": DEPS,
        "consumers": Consumers.of(DEPS),
        "records": RECORDS,
        "previous": {"on_a": "2026-01-01T00:00:00+00:00"},
        "going": {"held": 1},
        "aliases": {"al": {"a"}},
    }
    return Known(**{**fields, **changes})


def _emit(*names: str) -> list[EmittedEvent]:
    return [EmittedEvent(AssetRef(name, name), {"n": name}) for name in names]


def test_consumers_the_events_make_ready_alone_get_a_run_the_rest_the_full_look() -> None:
    planned = plan(_known(), _emit("a"), SOURCE)
    assert planned is not None
    (event,) = planned.step.events
    rows = {dag_id: look for dag_id, _, look in event.rows}
    # an alias (resolved at run time) and a condition that needs b go to the full look; a
    # consumer at its max_active_runs waits (queued) for the end of one of its runs
    looks = {"on_a": False, "a_or_b": False, "a_and_b": True, "held": False, "on_alias": True}
    assert rows == looks
    assert [run.dag_id for run in planned.step.runs] == ["a_or_b", "on_a"]
    assert [call.dag_id for call in planned.calls] == ["a_or_b", "on_a"]


def test_a_planned_run_takes_the_steps_events_and_checks_its_other_assets() -> None:
    planned = plan(_known(), _emit("a", "b"), SOURCE)
    assert planned is not None
    runs = {run.dag_id: run for run in planned.step.runs}
    assert set(runs) == {"on_a", "a_or_b", "a_and_b"}  # both assets: a & b is met
    on_a, either = runs["on_a"], runs["a_or_b"]
    assert on_a.fresh == (queue_field("on_a", "a"),)
    assert on_a.absent == []
    assert on_a.events == [0]
    assert on_a.asset_ids == [1]
    assert on_a.previous == "2026-01-01T00:00:00+00:00"
    assert on_a.previous_us == iso_us("2026-01-01T00:00:00+00:00")
    assert either.events == [0, 1]
    assert either.asset_ids == [1, 2]
    assert either.previous == ""
    assert either.previous_us is None
    # run_after: the step's time, as the rows it queues carry it
    (event, _) = planned.step.events
    assert {run.run_after for run in planned.step.runs} == {event.created_at}
    assert all(run.run_id.startswith("asset_triggered__") for run in planned.step.runs)
    assert all("asset_events" not in run.run_hash for run in planned.step.runs)


def test_one_missing_asset_of_a_condition_goes_to_the_full_look() -> None:
    planned = plan(_known(records={"a": RECORDS["a"]}), _emit("a"), SOURCE)
    assert planned is not None
    assert "a_or_b" not in [run.dag_id for run in planned.step.runs]
    assert {d: look for d, _, look in planned.step.events[0].rows}["a_or_b"]


def test_alias_events_and_unknown_assets_take_the_full_path() -> None:
    through_alias = [EmittedEvent(AssetRef("a", "a"), {}, ("al",))]
    assert plan(_known(), through_alias, SOURCE) is None
    assert plan(_known(), _emit("a", "unknown"), SOURCE) is None


def test_an_events_ref_is_its_entry_in_the_runs_asset_events() -> None:
    planned = plan(_known(), _emit("a"), SOURCE)
    assert planned is not None
    (event,) = planned.step.events
    record = orjson.loads('{"id":7,' + event.body)
    assert orjson.loads('{"id":7,' + event.ref) == triggering_refs([record])[0]
    assert record["extra"] == {"n": "a"}
    assert record["source_task_id"] == "make"


def test_the_consumer_index_finds_what_consumers_of_finds() -> None:
    index = Consumers.of(DEPS)
    for name in ("a", "b", "c"):
        for aliases in ({}, {"al": {"a"}}, {"al": {"c"}}):
            assert index.of_asset(name, aliases) == consumers_of(DEPS, name, aliases)


def test_the_script_call_names_every_key_it_touches() -> None:
    planned = plan(_known(), _emit("a", "b"), SOURCE)
    assert planned is not None
    keys = Keys()
    wire = planned.step.encode(keys)
    for run in planned.step.runs:
        assert keys.run(run.dag_id, run.run_id) in wire.keys
        assert keys.runs_of(run.dag_id) in wire.keys
    assert {keys.asset_events_of(1), keys.asset_events_of(2)} <= set(wire.keys)
    assert len(wire.keys) == len(set(wire.keys))
