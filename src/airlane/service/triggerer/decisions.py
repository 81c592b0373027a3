"""What a trigger's end means for the tries waiting on it (pure: no I/O).

As Airflow: an event resumes them in their method with ``event=<payload>``; an end event
(TaskSuccessEvent...) ends them without running anything; a trigger that raised, or returned
without an event, fails them (method ``__fail__``, ``error`` "Trigger failure" and the
traceback); a timeout fails them with "Trigger timeout" (TaskDeferralTimeout).
"""

from __future__ import annotations

import traceback

import orjson

from airlane.queue.scripts import Fire
from airlane.sdk.deferral import TRIGGER_FAIL_REPR, TriggerFailureReason
from airlane.sdk.secrets_masker import mask_text
from airlane.sdk.triggers import BaseTaskEndEvent, TriggerEvent, serde
from airlane.service.execution.deferral import END_FROM_TRIGGER

#: the ``__fail__`` kwargs of a try past its trigger timeout
TIMEOUT_KWARGS_JSON = serde.dumps({"error": TriggerFailureReason.TRIGGER_TIMEOUT.value})
#: Airflow's log line for a trigger that ended without an event
NO_EVENT = "Trigger exited without sending an event. Dependent tasks will be failed."


def fire_for_event(key: str, event: TriggerEvent) -> Fire:
    if isinstance(event, BaseTaskEndEvent):
        state = event.task_instance_state.value
        kwargs = {"state": state, "xcoms": event.xcoms or {}}
        # XComs to push: the try ends on a worker, which pushes them
        end_state = "" if event.xcoms else state
        return Fire(
            key, method=END_FROM_TRIGGER, kwargs_json=serde.dumps(kwargs), end_state=end_state
        )
    return Fire(key, event_json=serde.dumps(event.payload))


def fire_for_failure(key: str, err: BaseException | None) -> Fire:
    """The trigger raised ``err`` (None: it ended without an event). Its traceback goes to the
    resumed try's process, which never saw the secrets the trigger read: masked here."""
    lines = None
    if err is not None:
        lines = [mask_text(line) for line in traceback.format_exception(err)]
    kwargs = {"error": TriggerFailureReason.TRIGGER_FAILURE.value, "traceback": lines}
    return Fire(key, method=TRIGGER_FAIL_REPR, kwargs_json=serde.dumps(kwargs))


def claim_limit(capacity: int, running: int, batch: int) -> int:
    """How many triggers to claim now: what capacity leaves, at most ``batch`` at a time."""
    return max(0, min(capacity - running, batch))


def lease_expired(score_ms: float, now_ms: float) -> bool:
    """Whether a trigger may be taken (the rule CLAIM_TRIGGERS applies): its lease's expiry
    passed (0: never held), so its triggerer, if any, stopped renewing."""
    return score_ms <= now_ms


def resume_json(fire: Fire, method: str, kwargs_json: str) -> str:
    """The ``resumes`` entry of a try that asked to resume in ``method`` with ``kwargs_json``
    when ``fire`` ends its trigger (what FIRE_TRIGGERS writes, for ``dags test``)."""
    if fire.method:
        method, kwargs_json = fire.method, fire.kwargs_json
    return orjson.dumps({"m": method, "n": kwargs_json, "e": fire.event_json}).decode()


def timeout_fire(key: str) -> Fire:
    return Fire(key, method=TRIGGER_FAIL_REPR, kwargs_json=TIMEOUT_KWARGS_JSON)
