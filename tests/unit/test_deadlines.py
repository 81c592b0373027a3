"""Deadline alerts without Redis: the SDK's classes (their errors and serialized forms are what
real Airflow 3.3.2 gave for the same calls), the DAG's serialized alerts, the deadline
arithmetic (engine/deadlines.py) and the call of a callback with Airflow's simple context."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airlane import DAG
from airlane.dag_loader import airflow_compat
from airlane.dag_loader.serialize import serialize_dag
from airlane.engine.dag_spec import DagSpec
from airlane.engine.deadlines import (
    RunTimes,
    deadline_s,
    entry,
    history_needed,
    met_by_success,
    parse_entry,
    run_deadlines,
    run_entries,
)
from airlane.queue.deadline_jobs import DeadlineCallbackJob, deadline_job_ids
from airlane.queue.events_protocol import DeadlineMissedEvent, decode_event
from airlane.queue.task_callback_jobs import decode_job
from airlane.sdk.deadline import (
    AsyncCallback,
    BaseDeadlineReference,
    DeadlineAlert,
    DeadlineReference,
    SyncCallback,
    deadline_reference,
)
from airlane.sdk.notifier import BaseNotifier
from airlane.service.execution.deadline_callback import (
    accepts_context,
    call_deadline_callback,
    deadline_context,
    deadline_id,
    pick_alert,
)

SEEN: list[Any] = []


async def notify(label: str, context: dict[str, Any]) -> str:
    await asyncio.sleep(0)
    SEEN.append((label, context["dag_run"]["dag_run_id"]))
    return "sent"


def plain(**kwargs: Any) -> None:
    SEEN.append(sorted(kwargs))


def no_context(label: str) -> None:
    SEEN.append(label)


class Pager(BaseNotifier):
    template_fields = ("text",)

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    async def async_notify(self, context: Any) -> None:
        SEEN.append(("paged", self.text))


def alert(reference: BaseDeadlineReference, seconds: float = 60.0) -> DeadlineAlert:
    return DeadlineAlert(reference, timedelta(seconds=seconds), AsyncCallback(notify))


# -- the SDK --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: AsyncCallback(plain), AttributeError, "is not awaitable"),
        (
            lambda: AsyncCallback(notify, kwargs={"context": 1}),
            ValueError,
            "context is a reserved kwarg for this class",
        ),
        (lambda: AsyncCallback("not a path"), ImportError, "doesn't look like a valid dot path"),
        (
            lambda: DeadlineAlert(DeadlineReference.DAGRUN_QUEUED_AT, timedelta(1), object()),  # type: ignore[arg-type]
            ValueError,
            "Callbacks of type object are not currently supported",
        ),
        (
            lambda: DeadlineReference.AVERAGE_RUNTIME(5, 0),
            ValueError,
            "min_runs must be at least 1",
        ),
    ],
)
def test_errors_as_airflows(build: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        build()


def test_serialized_forms_as_airflows() -> None:
    callback = AsyncCallback(notify, kwargs={"x": 1})
    assert callback.serialize() == {"path": f"{__name__}.notify", "kwargs": {"x": 1}}
    assert SyncCallback(plain).serialize() == {
        "path": f"{__name__}.plain",
        "kwargs": {},
        "executor": None,
    }
    assert SyncCallback("os.path.join").path == "os.path.join"
    fixed = DeadlineReference.FIXED_DATETIME(datetime(2025, 1, 1, tzinfo=UTC))
    assert fixed.serialize_reference() == {
        "reference_type": "FixedDatetimeDeadline",
        "datetime": 1735689600.0,
    }
    assert DeadlineReference.AVERAGE_RUNTIME().serialize_reference() == {
        "reference_type": "AverageRuntimeDeadline",
        "max_runs": 10,
        "min_runs": 10,
    }
    assert DeadlineReference.DAGRUN_LOGICAL_DATE.serialize_reference() == {
        "reference_type": "DagRunLogicalDateDeadline"
    }
    same = DeadlineAlert(DeadlineReference.DAGRUN_QUEUED_AT, timedelta(1), callback)
    other = DeadlineAlert(
        DeadlineReference.DAGRUN_QUEUED_AT, timedelta(1), AsyncCallback(notify, kwargs={"x": 1})
    )
    assert same == other


def test_what_airlane_refuses_at_load() -> None:
    class Mine(BaseDeadlineReference):
        pass

    with pytest.raises(NotImplementedError, match="custom deadline references are not supported"):
        DeadlineAlert(Mine(), timedelta(1), AsyncCallback(notify))
    with pytest.raises(NotImplementedError, match="custom deadline references"):
        deadline_reference(Mine)
    with pytest.raises(TypeError, match="interval must be a timedelta"):
        DeadlineAlert(DeadlineReference.DAGRUN_QUEUED_AT, 5, AsyncCallback(notify))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="deadline must be a DeadlineAlert"):
        DAG("bad_deadline", schedule=None, deadline=[1])
    with pytest.raises(Exception, match="specifies executor 'celery', which is not available"):
        SyncCallback(plain, executor="celery")


def test_a_dag_carries_its_alerts_serialized() -> None:
    with DAG(
        "with_deadline",
        schedule=None,
        deadline=DeadlineAlert(
            DeadlineReference.DAGRUN_QUEUED_AT,
            timedelta(minutes=5),
            SyncCallback(plain),
            name="five minutes",
        ),
    ) as dag:
        pass
    assert len(dag.deadline) == 1
    data = serialize_dag(dag)
    assert data["deadline"] == [
        {
            "reference": {"reference_type": "DagRunQueuedAtDeadline"},
            "interval_s": 300.0,
            "callback": {"kind": "sync", "path": f"{__name__}.plain"},
            "name": "five minutes",
        }
    ]
    assert DagSpec.from_serialized(data).deadlines == tuple(data["deadline"])
    with DAG("without_deadline", schedule=None) as plain_dag:
        pass
    assert "deadline" not in serialize_dag(plain_dag)  # (its form and hash as before)


def test_airflow_import_paths() -> None:
    airflow_compat.install()
    import importlib

    for module in ("airflow.sdk", "airflow.sdk.definitions.deadline"):
        found = importlib.import_module(module)
        assert found.DeadlineAlert is DeadlineAlert
        assert found.AsyncCallback is AsyncCallback
    assert importlib.import_module("airflow.sdk.definitions.callback").SyncCallback is SyncCallback


# -- the arithmetic -------------------------------------------------------------------------

RUN = RunTimes(logical_date_s=1_000.0, queued_at_s=5_000.0)


def test_deadline_times() -> None:
    queued = alert(DeadlineReference.DAGRUN_QUEUED_AT).to_json()
    logical = alert(DeadlineReference.DAGRUN_LOGICAL_DATE).to_json()
    fixed = alert(DeadlineReference.FIXED_DATETIME(datetime(2025, 1, 1, tzinfo=UTC))).to_json()
    assert deadline_s(queued, RUN) == 5_060.0
    assert deadline_s(logical, RUN) == 1_060.0
    assert deadline_s(logical, RunTimes(None, 5_000.0)) is None  # no logical date, no deadline
    assert deadline_s(fixed, RUN) == 1735689660.0


def test_an_average_runtime_needs_enough_finished_runs() -> None:
    average = alert(DeadlineReference.AVERAGE_RUNTIME(max_runs=3, min_runs=2), 10).to_json()
    assert history_needed(average) == 3
    assert history_needed(alert(DeadlineReference.DAGRUN_QUEUED_AT).to_json()) == 0
    assert deadline_s(average, RUN, [4.0]) is None
    assert deadline_s(average, RUN, [4.0, 8.0]) == 5_000.0 + 6.0 + 10
    assert deadline_s(average, RUN, [3.0, 6.0, 9.0, 1000.0]) == 5_000.0 + 6.0 + 10  # the last 3


def test_entries_and_what_a_success_drops() -> None:
    name = entry("dag", "run 1", 2)
    assert parse_entry(name) == ("dag", "run 1", 2)
    assert parse_entry("garbage") is None
    fields = {"state": "success", "deadline:0": "100.5", "deadline:1": "200.0", "deadline:x": "1"}
    assert run_deadlines(fields) == {0: 100.5, 1: 200.0}
    assert sorted(run_entries("dag", "r", fields)) == [entry("dag", "r", 0), entry("dag", "r", 1)]
    dues = {entry("dag", "r", 0): 100.5, entry("dag", "r", 1): 200.0}
    # a success at 150 met the second deadline; the first passed and is still reported
    assert met_by_success(dues, 150.0) == [entry("dag", "r", 1)]


# -- the call -------------------------------------------------------------------------------


def context() -> dict[str, Any]:
    return deadline_context({"dag_run_id": "r1", "dag_id": "d"}, "d", "r1", 0, 1735689600.0)


def test_the_simple_context() -> None:
    built = context()
    assert built["deadline"] == {
        "id": deadline_id("d", "r1", 0),
        "deadline_time": datetime(2025, 1, 1, tzinfo=UTC),
    }
    assert deadline_id("d", "r1", 0) != deadline_id("d", "r1", 1)


def test_callbacks_are_called_as_airflows_triggerer_calls_them() -> None:
    SEEN.clear()
    assert call_deadline_callback(AsyncCallback(notify, kwargs={"label": "a"}), context()) == "sent"
    call_deadline_callback(SyncCallback(plain, kwargs={"label": "b"}), context())
    call_deadline_callback(SyncCallback(no_context, kwargs={"label": "c"}), context())
    call_deadline_callback(AsyncCallback(Pager, kwargs={"text": "late"}), context())
    assert SEEN == [("a", "r1"), ["context", "label"], "c", ("paged", "late")]
    assert accepts_context(notify)
    assert accepts_context(plain)
    assert not accepts_context(no_context)
    by_path = SyncCallback(f"{__name__}.no_context", kwargs={"label": "d"})
    call_deadline_callback(by_path, context())
    assert SEEN[-1] == "d"


def test_the_alert_called_is_the_one_the_run_was_created_with() -> None:
    first = DeadlineAlert(DeadlineReference.DAGRUN_QUEUED_AT, timedelta(1), AsyncCallback(notify))
    second = DeadlineAlert(DeadlineReference.DAGRUN_QUEUED_AT, timedelta(2), SyncCallback(plain))
    path = f"{__name__}.plain"
    assert pick_alert([first, second], 1, path) is second
    assert pick_alert([second, first], 1, path) is second  # moved: found by its callable
    assert pick_alert([first], 1, path) is None  # removed
    assert pick_alert([first], 0, f"{__name__}.plain") is None  # another callable now
    assert pick_alert([first, second], 1, "") is second  # (no path recorded: by position)


def test_the_missed_event_and_the_job() -> None:
    event = DeadlineMissedEvent("d", "r 1", 2, 1735689600.25)
    assert decode_event(event.to_fields()) == event
    assert event.payload() == {
        "dag_id": "d",
        "run_id": "r 1",
        "alert_index": 2,
        "deadline_time": "2025-01-01T00:00:00.250000Z",
    }
    job = DeadlineCallbackJob("d", "r 1", 2, 1735689600.25, 1735689700.0)
    assert decode_job(job.encode()) == job
    assert job.job_id == "airlane-deadline-callback:d|r 1|2|1735689600250"
    assert job.ended_at_s == 1735689700.0  # (staleness counts from the report)
    assert deadline_job_ids("d", "r 1", {2: 1735689600.25}) == [job.job_id]


def test_an_unreadable_run_is_left_out_of_an_average() -> None:
    from airlane.service.coordinator.policies.deadlines import _duration_s

    assert _duration_s("10.5", "12.0") == 1.5
    assert _duration_s("10.5", "") is None  # still running
    assert _duration_s("garbage", "12.0") is None  # (never stops the coordinator)
