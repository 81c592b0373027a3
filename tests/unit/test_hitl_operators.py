"""Human-in-the-loop operators through the task runner, with an in-memory store: a try asks,
then defers on Airflow's HITLTrigger (run here in line, as ``dags test`` runs triggers) and
resumes once answered, ending as Airflow's execute_complete does; the defaults are taken after
response_timeout; answers are checked as the API checks them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pendulum
import pytest

from airlane import DAG
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.sdk.hitl_detail import (
    HITL_WATCH,
    HITLDetail,
    HITLIdent,
    HITLRequest,
    HITLResponse,
    response_problems,
    use_hitl_store,
)
from airlane.sdk.node import DAGNode
from airlane.sdk.operators.empty import EmptyOperator
from airlane.sdk.operators.hitl import (
    ApprovalOperator,
    HITLBranchOperator,
    HITLEntryOperator,
    HITLOperator,
)
from airlane.sdk.params import Param
from airlane.sdk.state import TaskInstanceState
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.inline_trigger import run_inline
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task

S = TaskInstanceState
WHEN = pendulum.datetime(2024, 3, 5, 6, tz="UTC")


class MemoryStore:
    def __init__(self) -> None:
        self.details: dict[HITLIdent, HITLDetail] = {}

    def read(self, ident: HITLIdent) -> HITLDetail | None:
        return self.details.get(ident)

    def ask(self, ident: HITLIdent, request: HITLRequest) -> None:
        self.details[ident] = HITLDetail(request)

    def respond(self, ident: HITLIdent, response: HITLResponse) -> HITLResponse:
        detail = self.details[ident]
        if detail.response is None:
            self.details[ident] = HITLDetail(detail.request, response)
        return self.details[ident].response or response

    def answer(self, task_id: str, *options: str, **params: Any) -> None:
        ident = HITLIdent("d", "run1", task_id)
        request = self.details[ident].request
        assert response_problems(request, list(options), params) == []
        user = {"id": "u1", "name": "Ann"}
        answer = HITLResponse(options, params, time.time(), request.try_number, user)
        self.respond(ident, answer)


class MemoryWatch:
    """The triggerer's view of a MemoryStore: reads, the defaults' write, answer notices."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.events: dict[HITLIdent, set[asyncio.Event]] = {}
        #: set once a trigger watches (it read no answer and waits)
        self.registered = asyncio.Event()

    async def read(self, ident: HITLIdent) -> HITLDetail | None:
        return self.store.read(ident)

    async def respond(self, ident: HITLIdent, response: HITLResponse) -> HITLResponse:
        return self.store.respond(ident, response)

    @contextlib.contextmanager
    def watching(self, ident: HITLIdent) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self.events.setdefault(ident, set()).add(event)
        self.registered.set()
        try:
            yield event
        finally:
            self.events[ident].discard(event)

    def notify(self, ident: HITLIdent) -> None:
        for event in self.events.get(ident, ()):
            event.set()


def _try(node: DAGNode, store: MemoryStore, xcoms: InMemoryXComs, resume: str) -> TaskOutcome:
    assert node.dag is not None
    info = RunInfo("d", "run1", WHEN, WHEN, WHEN, {})
    request = TaskRequest(info, TIKey(node.task_id), 1, 0, resume_json=resume)
    env = ExecutionEnv(xcoms=xcoms, log=lambda _: None)
    with use_hitl_store(store):
        return asyncio.run(execute_task(node, node.dag, request, env))


def run(node: DAGNode, store: MemoryStore, xcoms: InMemoryXComs) -> TaskOutcome:
    """The try's start: it asks and defers."""
    outcome = _try(node, store, xcoms, "")
    assert outcome.state is S.DEFERRED, outcome
    assert outcome.deferral is not None
    deferred[node.task_id] = outcome.deferral
    return outcome


def resume(node: DAGNode, store: MemoryStore, xcoms: InMemoryXComs) -> TaskOutcome:
    """Its trigger run to its event (in line), then the try resumed with it."""
    watch = MemoryWatch(store)
    HITL_WATCH.append(watch)
    try:
        resume_json = asyncio.run(run_inline(deferred[node.task_id]))
    finally:
        HITL_WATCH.remove(watch)
    return _try(node, store, xcoms, resume_json)


#: the deferral of each task's last try
deferred: dict[str, str] = {}


def test_a_try_waits_until_answered_then_returns_the_answer() -> None:
    with DAG("d", schedule=None):
        ask = HITLOperator(task_id="ask", subject="Pick {{ 1 + 1 }}", options=["a", "b"])
    store, xcoms = MemoryStore(), InMemoryXComs()
    first = run(ask, store, xcoms)
    assert first.state is S.DEFERRED
    request = store.details[HITLIdent("d", "run1", "ask")].request
    assert (request.subject, request.options, request.try_number) == ("Pick 2", ("a", "b"), 1)
    store.answer("ask", "b")
    assert resume(ask, store, xcoms).state is S.SUCCESS
    value = xcoms.get("ask", -1, "return_value")
    assert value["chosen_options"] == ["b"]
    assert value["responded_by_user"] == {"id": "u1", "name": "Ann"}


def test_approval_reject_skips_direct_downstream_and_approve_continues() -> None:
    with DAG("d", schedule=None):
        gate = ApprovalOperator(task_id="gate", subject="OK?")
        gate >> EmptyOperator(task_id="after")
    for choice, scope in (("Reject", "direct"), ("Approve", None)):
        store, xcoms = MemoryStore(), InMemoryXComs()
        run(gate, store, xcoms)
        store.answer("gate", choice)
        outcome = resume(gate, store, xcoms)
        assert (outcome.state, outcome.short_circuit) == (S.SUCCESS, scope)


def test_approval_fail_on_reject_and_ignore_downstream_trigger_rules() -> None:
    with DAG("d", schedule=None):
        strict = ApprovalOperator(task_id="strict", subject="OK?", fail_on_reject=True)
        wide = ApprovalOperator(task_id="wide", subject="OK?", ignore_downstream_trigger_rules=True)
        strict >> wide >> EmptyOperator(task_id="after")
    store, xcoms = MemoryStore(), InMemoryXComs()
    for task in (strict, wide):
        run(task, store, xcoms)
        store.answer(task.task_id, "Reject")
    failed = resume(strict, store, xcoms)
    assert failed.state is S.FAILED
    assert "HITLRejectException" in (failed.error or "")
    assert resume(wide, store, xcoms).short_circuit == "all"


def test_branch_follows_the_chosen_options_through_the_mapping() -> None:
    with DAG("d", schedule=None):
        pick = HITLBranchOperator(
            task_id="pick",
            subject="Which?",
            options=["first", "second", "third"],
            multiple=True,
            options_mapping={"first": "t1"},
        )
        pick >> [EmptyOperator(task_id=t) for t in ("t1", "second", "third")]
    store, xcoms = MemoryStore(), InMemoryXComs()
    run(pick, store, xcoms)
    store.answer("pick", "first", "second")
    outcome = resume(pick, store, xcoms)
    assert outcome.follow == ("t1", "second")
    assert xcoms.get("pick", -1, "return_value") == ["t1", "second"]


def test_entry_returns_the_params_in_xcom() -> None:
    with DAG("d", schedule=None, params={"dag_level": 1}):
        entry = HITLEntryOperator(
            task_id="entry", subject="Fill in", params={"name": Param("x", type="string")}
        )
    store, xcoms = MemoryStore(), InMemoryXComs()
    run(entry, store, xcoms)
    request = store.details[HITLIdent("d", "run1", "entry")].request
    assert request.params["name"] == {
        "value": "x",
        "description": None,
        "schema": {"type": "string"},
    }
    assert list(request.params) == ["name"]  # the task's params only, not the DAG's
    assert request.options == ("OK",)
    assert request.defaults == ("OK",)
    store.answer("entry", "OK", name="Bo")
    assert resume(entry, store, xcoms).state is S.SUCCESS
    assert xcoms.get("entry", -1, "return_value")["params_input"] == {"name": "Bo"}


def test_timeout_takes_the_defaults_or_fails_without_them() -> None:
    with DAG("d", schedule=None):
        soft = HITLOperator(
            task_id="soft",
            subject="?",
            options=["a", "b"],
            defaults="b",
            response_timeout=timedelta(microseconds=1),
        )
        hard = HITLOperator(
            task_id="hard", subject="?", options=["a"], execution_timeout=timedelta(microseconds=1)
        )
    assert hard.execution_timeout is None
    assert hard.response_timeout == timedelta(microseconds=1)
    store, xcoms = MemoryStore(), InMemoryXComs()
    for task in (soft, hard):
        assert run(task, store, xcoms).state is S.DEFERRED
    assert resume(soft, store, xcoms).state is S.SUCCESS
    value = xcoms.get("soft", -1, "return_value")
    assert value["chosen_options"] == ["b"]
    assert value["responded_by_user"] is None
    kept = store.details[HITLIdent("d", "run1", "soft")].response
    assert kept is not None
    assert kept.timed_out  # the defaults are the try's recorded answer
    failed = resume(hard, store, xcoms)
    assert failed.state is S.FAILED
    assert "HITLTimeoutError" in (failed.error or "")


def test_without_a_store_the_try_fails_at_once_as_in_airflows_dags_test() -> None:
    with DAG("d", schedule=None):
        ask = HITLOperator(task_id="ask", subject="?", options=["a"])
    info = RunInfo("d", "run1", WHEN, WHEN, WHEN, {})
    env = ExecutionEnv(xcoms=InMemoryXComs(), log=lambda _: None)
    assert ask.dag is not None
    outcome = asyncio.run(execute_task(ask, ask.dag, TaskRequest(info, TIKey("ask"), 1, 0), env))
    assert outcome.state is S.FAILED
    assert not outcome.retryable
    assert "nobody to ask" in (outcome.error or "")


def test_response_problems_name_the_field() -> None:
    request = HITLRequest(
        options=("a", "b"),
        subject="?",
        try_number=1,
        created_at_s=0.0,
        params={"n": {"value": 1, "description": None, "schema": {"type": "integer"}}},
    )
    assert response_problems(request, ["a"], {}) == []
    assert response_problems(request, ["a"], {"n": 3}) == []
    assert response_problems(request, [], {})[0][0] == "chosen_options"
    unknown = ("chosen_options", "Responses ['c'] not in ['a', 'b']")
    assert response_problems(request, ["c"], {})[0] == unknown
    assert response_problems(request, ["a", "b"], {})[0][0] == "chosen_options"
    assert response_problems(request, "a", {})[0][0] == "chosen_options"
    assert response_problems(request, ["a"], {"m": 1})[0][0] == "params_input"
    assert response_problems(request, ["a"], {"n": "x"})[0][0] == "params_input.n"
    assert response_problems(request, ["a"], [])[0][0] == "params_input"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"options": []}, '"options" cannot be empty.'),
        ({"options": ["a"], "defaults": "b"}, "should be a subset of options"),
        ({"options": ["a", "b"], "defaults": ["a", "b"]}, "More than one defaults"),
        ({"options": ["a"], "params": {"_options": 1}}, '"_options" is not allowed'),
    ],
)
def test_bad_arguments_are_refused_at_load_time(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HITLOperator(task_id="t", subject="?", **kwargs)
    with pytest.raises(ValueError, match="Passing options to ApprovalOperator"):
        ApprovalOperator(task_id="a", subject="?", options=["x"])
    with pytest.raises(ValueError, match="not in `options`"):
        HITLBranchOperator(task_id="b", subject="?", options=["x"], options_mapping={"y": "t"})
