"""The triggerer's pure decisions: trigger identity (deduplication), what a trigger's end means
for its tries (the resume message), capacity and lease expiry; the codec of trigger arguments."""

from __future__ import annotations

import datetime as dt

import orjson
import pendulum
import pytest

from airlane.queue.scripts import Fire
from airlane.sdk.triggers import TaskSkippedEvent, TaskSuccessEvent, TriggerEvent, serde
from airlane.sdk.triggers.file import FileTrigger
from airlane.sdk.triggers.temporal import DateTimeTrigger
from airlane.service.execution.deferral import END_FROM_TRIGGER, Resume
from airlane.service.triggerer.decisions import (
    claim_limit,
    fire_for_event,
    fire_for_failure,
    lease_expired,
    resume_json,
    timeout_fire,
)


def _key(trigger: object) -> str:
    classpath, kwargs = trigger.serialize()  # type: ignore[attr-defined]
    return serde.trigger_key(classpath, serde.dumps(kwargs))


def test_identical_triggers_share_a_key_and_different_ones_do_not() -> None:
    moment = pendulum.datetime(2030, 1, 1, tz="UTC")
    assert _key(DateTimeTrigger(moment)) == _key(DateTimeTrigger(moment))
    assert _key(DateTimeTrigger(moment)) != _key(DateTimeTrigger(moment.add(seconds=1)))
    assert _key(FileTrigger("/a", poke_interval=1)) == _key(FileTrigger("/a", poke_interval=1))
    assert _key(FileTrigger("/a")) != _key(FileTrigger("/b"))


@pytest.mark.parametrize(
    "value",
    [
        {"when": pendulum.datetime(2030, 1, 1, tz="UTC"), "n": [1, (2, 3)], "s": {"x"}},
        {"delta": dt.timedelta(seconds=90), "day": dt.date(2024, 2, 29), "t": dt.time(1, 2)},
        {"nested": {"__airlane_type": "looks tagged"}, 1: "int key"},
    ],
)
def test_trigger_arguments_round_trip(value: object) -> None:
    assert serde.loads(serde.dumps(value)) == value


def test_a_value_that_cannot_travel_is_refused_with_its_type() -> None:
    with pytest.raises(TypeError, match="object"):
        serde.dumps({"x": object()})


def test_an_event_resumes_the_method_asked_for_with_its_payload() -> None:
    fire = fire_for_event("k", TriggerEvent({"status": "success"}))
    raw = resume_json(fire, "execute_complete", serde.dumps({"extra": 1}))
    assert Resume.from_json(raw) == Resume(
        "execute_complete", {"extra": 1, "event": {"status": "success"}}
    )


def test_an_end_event_ends_the_task_without_resuming_it() -> None:
    fire = fire_for_event("k", TaskSuccessEvent(xcoms={"k": 1}))
    resume = Resume.from_json(resume_json(fire, "ignored", "{}"))
    assert resume.method == END_FROM_TRIGGER
    assert resume.end_state() == "success"
    assert resume.kwargs["xcoms"] == {"k": 1}
    skipped = Resume.from_json(resume_json(fire_for_event("k", TaskSkippedEvent()), "m", "{}"))
    assert skipped.end_state() == "skipped"


def test_a_failure_or_a_timeout_resumes_in_fail_as_airflow() -> None:
    try:
        raise ValueError("broke")
    except ValueError as err:
        failed = Resume.from_json(resume_json(fire_for_failure("k", err), "m", "{}"))
    assert failed.method == "__fail__"
    assert failed.kwargs["error"] == "Trigger failure"
    assert "ValueError: broke\n" in failed.kwargs["traceback"]
    no_event = Resume.from_json(resume_json(fire_for_failure("k", None), "m", "{}"))
    assert no_event.kwargs == {"error": "Trigger failure", "traceback": None}
    timed_out = Resume.from_json(resume_json(timeout_fire("k"), "m", "{}"))
    assert timed_out == Resume("__fail__", {"error": "Trigger timeout"})


def test_the_resume_message_is_what_the_fire_script_writes() -> None:
    raw = resume_json(Fire("k", event_json="3"), "m", '{"a": 1}')
    assert orjson.loads(raw) == {"m": "m", "n": '{"a": 1}', "e": "3"}


def test_capacity_bounds_claims_and_leases_expire_on_time() -> None:
    assert claim_limit(capacity=1000, running=990, batch=500) == 10
    assert claim_limit(capacity=1000, running=0, batch=500) == 500
    assert claim_limit(capacity=10, running=12, batch=500) == 0
    assert lease_expired(0, 1)  # never held
    assert lease_expired(1000, 1000)
    assert not lease_expired(1001, 1000)
