"""Airflow 3.3's retry policies: the rules, the task runner's use of a decision (as Airflow's
``_handle_current_task_failed``), the delay it gives in the run's state machine, and the
outcome carrying it. tests/dags/behaviour/retry_policy.py runs them end to end (its end states
and try numbers are real Airflow 3.3.2's)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from airlane import DAG, PythonOperator
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.engine.state_machine import RunMachine
from airlane.queue.codec import decode_outcome, encode_outcome
from airlane.sdk import (
    ExceptionRetryPolicy,
    RetryAction,
    RetryDecision,
    RetryPolicy,
    RetryRule,
)
from airlane.sdk.exceptions import AirflowException, AirflowFailException
from airlane.sdk.state import TaskInstanceState
from tests.unit.graphs import graph
from tests.unit.test_task_runner import run

S = TaskInstanceState
T0 = 1_000_000.0


class Oops(ConnectionError):
    pass


def test_a_rule_matches_classes_paths_and_lists() -> None:
    assert RetryRule(exception=ConnectionError).matches(Oops())
    assert not RetryRule(exception=ConnectionError, match_subclasses=False).matches(Oops())
    assert RetryRule(exception="builtins.KeyError").matches(KeyError("k"))
    both = RetryRule(exception=[ValueError, "builtins.IndexError"])
    assert both.matches(IndexError())
    assert both.matches(ValueError())
    assert not both.matches(KeyError())
    assert both.exception_path == "builtins.ValueError,builtins.IndexError"


def test_a_rule_refuses_a_word_and_warns_of_a_path_it_cannot_import(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(ValueError, match="must be a dotted import path"):
        RetryRule(exception="ValueError")
    with caplog.at_level(logging.WARNING):
        rule = RetryRule(exception="nowhere.Missing")
    assert "could not be imported at parse time" in caplog.text
    assert not rule.matches(RuntimeError())


def test_the_first_matching_rule_decides_else_the_default() -> None:
    policy = ExceptionRetryPolicy(
        rules=[
            RetryRule(exception=ConnectionError, retry_delay=timedelta(seconds=3)),
            RetryRule(exception=OSError, action=RetryAction.FAIL, reason="disk"),
        ],
        default=RetryAction.FAIL,
    )
    assert policy.evaluate(Oops(), 1, 3) == RetryDecision(
        RetryAction.RETRY, timedelta(seconds=3), "Matched rule for Oops"
    )
    assert policy.evaluate(OSError(), 1, 3) == RetryDecision.fail("disk")
    assert policy.evaluate(KeyError(), 1, 3) == RetryDecision(RetryAction.FAIL)
    again = ExceptionRetryPolicy.deserialize(policy.serialize())
    assert again.serialize() == policy.serialize()
    assert again.evaluate(Oops(), 1, 3).retry_delay == timedelta(seconds=3)


class Always(RetryPolicy):
    def __init__(self, decision: RetryDecision) -> None:
        self.decision = decision
        self.asked: list[tuple[str, int, int, bool]] = []

    def evaluate(
        self, exception: BaseException, try_number: int, max_tries: int, context: Any = None
    ) -> RetryDecision:
        self.asked.append((type(exception).__name__, try_number, max_tries, context is not None))
        return self.decision


class Broken(RetryPolicy):
    def evaluate(
        self, exception: BaseException, try_number: int, max_tries: int, context: Any = None
    ) -> RetryDecision:
        raise RuntimeError("policy bug")


def _failing(policy: RetryPolicy, error: BaseException, **kw: Any) -> PythonOperator:
    def boom() -> None:
        raise error

    with DAG("d", schedule=None):
        return PythonOperator(task_id="t", python_callable=boom, retry_policy=policy, **kw)


def test_fail_ends_the_try_without_its_retries_and_runs_the_failure_callback() -> None:
    called: list[str] = []
    policy = Always(RetryDecision.fail("no point"))
    op = _failing(
        policy,
        ValueError("x"),
        retries=3,
        on_failure_callback=lambda ctx: called.append("failure"),
        on_retry_callback=lambda ctx: called.append("retry"),
    )
    outcome, lines, _ = run(op, try_number=1, max_tries=3)
    assert (outcome.state, outcome.retryable, outcome.retry_delay_s) == (S.FAILED, False, None)
    assert policy.asked == [("ValueError", 1, 3, True)]
    assert "Retry policy decision: action=fail reason='no point'" in lines
    assert called == ["failure"]


def test_retry_gives_its_delay_and_default_leaves_the_task_s() -> None:
    retry = _failing(Always(RetryDecision.retry(timedelta(seconds=7))), OSError(), retries=2)
    outcome, _, _ = run(retry, max_tries=2)
    assert (outcome.retryable, outcome.retry_delay_s) == (True, 7.0)
    plain = _failing(Always(RetryDecision.retry()), OSError(), retries=2)
    assert run(plain, max_tries=2)[0].retry_delay_s is None
    default = _failing(Always(RetryDecision.default()), AirflowException("x"), retries=2)
    outcome, _, _ = run(default, max_tries=2)
    assert (outcome.retryable, outcome.retry_delay_s) == (True, None)


def test_a_policy_that_raises_leaves_the_task_s_retries() -> None:
    outcome, lines, _ = run(_failing(Broken(), OSError(), retries=1), max_tries=1)
    assert (outcome.retryable, outcome.retry_delay_s) == (True, None)
    assert any("Retry policy evaluation failed" in line for line in lines)


def test_fail_exceptions_and_skips_never_ask_the_policy() -> None:
    policy = Always(RetryDecision.retry(timedelta(0)))
    outcome, _, _ = run(_failing(policy, AirflowFailException("stop"), retries=3), max_tries=3)
    assert (outcome.state, outcome.retryable) == (S.FAILED, False)
    assert policy.asked == []


def test_retry_policy_comes_from_default_args() -> None:
    policy = Always(RetryDecision.default())
    with DAG("d", schedule=None, default_args={"retry_policy": policy}):
        op = PythonOperator(task_id="t", python_callable=lambda: None)
    assert op.retry_policy is policy
    assert op.has_retry_policy


def test_the_policy_s_delay_replaces_the_task_s_and_its_backoff() -> None:
    spec = {"retries": 3, "retry_delay_s": 3600.0, "retry_exponential_backoff": True}
    m = RunMachine(graph({"a": []}, a=spec))
    m.start(T0)
    key = TIKey("a")
    assert m.task_started(key, 1)
    m.task_finished(key, TaskOutcome(S.FAILED, 1, retry_delay_s=2.5), T0)
    assert (m.tis[key].state, m.tis[key].next_at_s) == (S.UP_FOR_RETRY, T0 + 2.5)
    m.tick(T0 + 2.5)
    assert m.task_started(key, 2)
    m.task_finished(key, TaskOutcome(S.FAILED, 2), T0 + 3)
    assert m.tis[key].next_at_s is not None
    assert m.tis[key].next_at_s >= T0 + 3 + 7200


def test_the_outcome_carries_the_delay_only_when_there_is_one() -> None:
    with_delay = TaskOutcome(S.FAILED, 1, retry_delay_s=0.0)
    assert decode_outcome(encode_outcome(with_delay)).retry_delay_s == 0.0
    assert "retry_delay_s" not in encode_outcome(TaskOutcome(S.FAILED, 1))


def test_the_backoff_is_airflow_3_3s_multiplier() -> None:
    """``retry_exponential_backoff`` is a multiplier in Airflow 3.3 (its docs: 5 with a 4 min
    delay retries after 4, 20, 100 min, before the jitter); True doubles, 0 and 1 keep the
    delay constant (and leave max_retry_delay unused), as its ``next_retry_datetime``."""
    from airlane.engine.retry_policy import backoff_multiplier, retry_delay_s

    assert [backoff_multiplier(v) for v in (True, False, 5, 1.5, None)] == [2.0, 0.0, 5.0, 1.5, 0.0]

    def delay(multiplier: float, try_number: int, cap: float | None = None) -> float:
        return retry_delay_s(
            retry_delay_s=240.0,
            exponential_backoff=multiplier,
            max_retry_delay_s=cap,
            try_number=try_number,
            ti_identity="d#t#2026-01-01",
        )

    for try_number, base in ((1, 240), (2, 1200), (3, 6000)):
        assert base <= delay(5.0, try_number) < 2 * base  # the jitter: up to as much again
    assert delay(1.0, 3) == delay(0.0, 3) == 240.0
    assert delay(1.0, 3, cap=10.0) == 240.0  # no backoff: the cap is not read, as in Airflow
    assert delay(5.0, 3, cap=600.0) == 600.0
