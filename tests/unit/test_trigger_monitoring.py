"""The deferred state outside the engine, without Redis: triggerer statuses as metrics and as
the health check reads them, the trigger fields of a deferred task instance, and deferred
tries in the run event stream."""

from __future__ import annotations

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from airlane.api.event_format import EventFilter
from airlane.api.metrics import _Snapshot, _triggerers
from airlane.api.trigger_shapes import numeric_id, trigger_response, triggerer_job_response
from airlane.queue.events_protocol import TIEvent, decode_event
from airlane.queue.trigger_monitoring import DeferredTrigger, TriggerBacklog, triggerer_info
from airlane.sdk.state import TaskInstanceState

NOW = 1_800_000_000.0
STATUS = {
    "running": 3,
    "capacity": 1000,
    "events_fired": 7,
    "blocked": 1,
    "last_block_s": 0.4,
    "at": NOW - 1,
}


def test_a_triggerer_status_is_read_and_goes_stale() -> None:
    info = triggerer_info("t1", orjson.dumps(STATUS).decode(), NOW)
    assert (info.running, info.capacity, info.events_fired, info.blocked) == (3, 1000, 7, 1)
    assert info.alive
    assert not triggerer_info("t1", orjson.dumps(STATUS).decode(), NOW + 60).alive


def test_triggerer_metrics_follow_prometheus_names() -> None:
    alive = triggerer_info("t1", orjson.dumps(STATUS).decode(), NOW)
    dead = triggerer_info("t0", orjson.dumps({**STATUS, "at": NOW - 600}).decode(), NOW)
    backlog = TriggerBacklog(stored=5, unclaimed=2, overdue_s=1.5, resumes_pending=1)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(_triggerers([alive, dead], backlog)))
    text = generate_latest(registry).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    one = (("triggerer", "t1"),)
    assert samples[("airlane_triggerers", ())] == 1
    assert samples[("airlane_triggers_running", one)] == 3
    assert samples[("airlane_triggerer_capacity", one)] == 1000
    assert samples[("airlane_trigger_events_fired_total", one)] == 7
    assert samples[("airlane_triggerer_blocked_total", one)] == 1
    assert ("airlane_triggers_running", (("triggerer", "t0"),)) not in samples
    assert samples[("airlane_triggers", ())] == 5
    assert samples[("airlane_triggers_unclaimed", ())] == 2
    assert samples[("airlane_trigger_lag_seconds", ())] == 1.5
    assert samples[("airlane_trigger_resumes_pending", ())] == 1


def test_a_deferred_instance_shows_its_trigger_and_triggerer_in_airflow_shapes() -> None:
    holder = triggerer_info("host-1-abc", orjson.dumps(STATUS).decode(), NOW)
    found = DeferredTrigger("k" * 32, "airflow.x.DateTimeTrigger", '{"moment":1}', holder)
    trigger = trigger_response(found, "2025-01-01T00:00:00Z")
    assert trigger == {
        "id": numeric_id("k" * 32),
        "classpath": "airflow.x.DateTimeTrigger",
        "kwargs": '{"moment":1}',
        "created_date": "2025-01-01T00:00:00Z",
        "triggerer_id": numeric_id("host-1-abc"),
    }
    assert 0 < trigger["id"] < 2**63
    job = triggerer_job_response(holder)
    assert (job["id"], job["job_type"], job["state"], job["hostname"]) == (
        numeric_id("host-1-abc"),
        "TriggererJob",
        "running",
        "host-1-abc",
    )


def test_a_deferred_try_is_a_ti_event_of_the_run_stream() -> None:
    event = TIEvent("d", "r", "wait", -1, TaskInstanceState.DEFERRED, 1)
    decoded = decode_event(event.to_fields())
    assert decoded == event
    payload = {"kind": "ti", **decoded.payload()}
    assert payload["state"] == "deferred"
    assert EventFilter(dag_id="d", run_id="r", kinds=frozenset({"ti"})).wants(payload)
