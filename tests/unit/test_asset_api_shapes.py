"""The API's asset shapes (Airflow 3.1's), DAG details' asset_expression, the plan of which
asset watchers run, the Redis-stream trigger's arguments, and asset events on the stream."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from airlane.api.asset_shapes import (
    asset_expression,
    asset_shape,
    event_filter,
    event_shape,
    sort_shapes,
)
from airlane.api.event_format import EventFilter, event_payload
from airlane.dag_loader.serialize import serialize_dag
from airlane.queue.asset_records import AliasRecord, AssetRecord, DagAssets
from airlane.sdk import DAG, Asset, AssetAlias
from airlane.sdk.triggers.redis_stream import CLASSPATH, RedisStreamTrigger
from airlane.service.triggerer.watcher_plan import active_assets, plan, watcher_key

AT = "2026-01-01T00:00:00+00:00"


def test_asset_expression_is_airflows_with_ids() -> None:
    """Checked against Airflow 3.1.8: ``((a & b) | alias).as_expression()`` with the ids the
    DAG processor adds to each asset."""
    b = Asset(name="b", uri="s3://x/b", group="g")
    with DAG("consumer", schedule=(Asset("a") & b) | AssetAlias("al")) as dag:
        pass
    schedule = serialize_dag(dag)["schedule"]
    assert asset_expression(schedule, {"a": 1, "b": 2}) == {
        "any": [
            {
                "all": [
                    {"asset": {"uri": "a", "name": "a", "group": "asset", "id": 1}},
                    {"asset": {"uri": "s3://x/b", "name": "b", "group": "g", "id": 2}},
                ]
            },
            {"alias": {"name": "al", "group": "asset"}},
        ]
    }
    assert asset_expression({"kind": "cron", "expression": "@daily"}, {}) is None


def test_an_assets_shape_lists_its_dags_tasks_and_aliases() -> None:
    record = AssetRecord(3, "a", "s3://a", "asset", {"k": 1}, AT, AT)
    dags = [
        DagAssets("producer", {"make": ["a"], "other": ["b"]}, {}, {}, None, AT),
        DagAssets("consumer", {}, {"read": ["a"]}, {}, {"all": [{"asset": "a"}]}, AT),
    ]
    aliases = [AliasRecord(7, "al", "asset", frozenset({"a"})), AliasRecord(8, "x", "asset")]
    shape = asset_shape(record, dags, aliases, {"id": 9, "timestamp": AT})
    assert shape["scheduled_dags"] == [{"dag_id": "consumer", "created_at": AT, "updated_at": AT}]
    assert [(t["dag_id"], t["task_id"]) for t in shape["producing_tasks"]] == [("producer", "make")]
    assert [(t["dag_id"], t["task_id"]) for t in shape["consuming_tasks"]] == [("consumer", "read")]
    assert shape["aliases"] == [{"id": 7, "name": "al", "group": "asset"}]
    assert shape["last_asset_event"] == {"id": 9, "timestamp": AT}


def test_events_filter_by_fields_and_time_and_sort_with_nulls_first() -> None:
    events = [
        event_shape({"id": i, "asset_id": 1, "timestamp": f"2026-01-0{i}T00:00:00+00:00", **src})
        for i, src in ((1, {"source_dag_id": "p"}), (2, {}), (3, {"source_dag_id": "p"}))
    ]
    keep = event_filter({"source_dag_id": "p"}, [("gt", datetime(2026, 1, 1, tzinfo=UTC))])
    assert [e["id"] for e in events if keep(e)] == [3]
    ordered = sort_shapes(list(events), [("source_dag_id", False), ("timestamp", True)])
    assert [e["id"] for e in ordered] == [2, 3, 1]


def test_watchers_run_for_assets_an_active_unpaused_dag_is_scheduled_on() -> None:
    """As Airflow 3.1.8's add_asset_trigger_references: a paused or stale consumer counts as
    none; identical triggers are one watcher for all their assets."""
    trigger = {"classpath": CLASSPATH, "kwargs": {"stream": "s"}}
    watchers = {
        "a": [{"name": "w1", "trigger": trigger}],
        "b": [{"name": "w2", "trigger": trigger}],
    }
    conditions = {"on_a": {"asset": "a"}, "on_b": {"any": [{"asset": "b"}]}}
    assert plan(watchers, active_assets(conditions, {"on_b"}, set())).keys() == {
        watcher_key(CLASSPATH, {"stream": "s"})
    }
    both = plan(watchers, active_assets(conditions, set(), set()))
    assert [spec.asset_names for spec in both.values()] == [("a", "b")]
    assert plan(watchers, active_assets(conditions, {"on_b"}, {"on_a"})) == {}


def test_the_redis_stream_trigger_serializes_and_refuses_unknown_arguments() -> None:
    trigger = RedisStreamTrigger(stream="orders", redis_url="redis://h:1/0")
    classpath, kwargs = trigger.serialize()
    assert classpath == CLASSPATH
    assert RedisStreamTrigger(**kwargs).serialize() == (classpath, kwargs)
    with pytest.raises(TypeError, match="unexpected"):
        RedisStreamTrigger(stream="s", channel="c")


def test_asset_events_follow_their_source_on_the_stream() -> None:
    event = {"kind": "asset", "source_dag_id": "p", "source_run_id": "r", "source_task_id": "t"}
    assert EventFilter(dag_id="p", run_id="r", task_id="t").wants(event)
    assert EventFilter(kinds=frozenset({"asset"})).wants(event)
    assert not EventFilter(dag_id="other").wants(event)
    assert not EventFilter(dag_id="other").wants({**event, "source_dag_id": None})


def test_an_asset_entry_is_sent_with_its_event_record() -> None:
    record = {"id": 4, "asset_id": 2, "name": "a", "source_dag_id": "p"}
    fields = {
        "kind": "asset",
        "event": '{"id": 4, "asset_id": 2, "name": "a", "source_dag_id": "p"}',
    }
    data = event_payload("1700000000000-0", fields)
    assert data == {"kind": "asset", "at": "2023-11-14T22:13:20Z", **record}
    with pytest.raises(ValueError):
        event_payload("1-0", {"kind": "asset", "event": "[1]"})
