"""Retry policies (Airflow 3.3): a rule's own delay (0 s, where the task's is an hour), a rule that
fails at once, a rule saying DEFAULT (the task's retries), a policy that raises (the task's
retries), AirflowFailException (the policy is not asked) and a policy class of the DAG's own.
Real Airflow 3.3.2's ``dags test`` ends every task so, with these try numbers."""

from datetime import timedelta

import pendulum
from airflow.exceptions import AirflowFailException
from airflow.sdk import (
    DAG,
    ExceptionRetryPolicy,
    RetryAction,
    RetryDecision,
    RetryPolicy,
    RetryRule,
    task,
)

EXPECTED = {
    "dag_id": "retry_policy",
    "state": "failed",
    "tasks": {
        "quick_retry": ["success", 2],
        "fail_now": ["failed", 1],
        "no_rule": ["failed", 2],
        "broken_policy": ["failed", 2],
        "hard_fail": ["failed", 1],
        "by_class": ["success", 3],
    },
}

POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(exception=ConnectionError, action=RetryAction.RETRY, retry_delay=timedelta(0)),
        RetryRule(exception="builtins.ValueError", action=RetryAction.FAIL, reason="bad input"),
        RetryRule(exception=[KeyError, "builtins.IndexError"], action=RetryAction.DEFAULT),
    ],
)


class Broken(RetryPolicy):
    def evaluate(self, exception, try_number, max_tries, context=None):
        raise RuntimeError("policy bug")


class EveryOther(RetryPolicy):
    def evaluate(self, exception, try_number, max_tries, context=None):
        if try_number < 3:
            return RetryDecision.retry(timedelta(0), reason=f"try {try_number} of {max_tries}")
        return RetryDecision.fail()


with DAG("retry_policy", schedule=None, start_date=pendulum.datetime(2024, 1, 1)):

    @task(retries=3, retry_delay=timedelta(hours=1), retry_policy=POLICY)
    def quick_retry(ti=None):
        if ti.try_number == 1:
            raise ConnectionError("flaky")

    @task(retries=3, retry_delay=timedelta(0), retry_policy=POLICY)
    def fail_now():
        raise ValueError("never works")

    @task(retries=1, retry_delay=timedelta(0), retry_policy=POLICY)
    def no_rule():
        raise KeyError("x")

    @task(retries=1, retry_delay=timedelta(0), retry_policy=Broken())
    def broken_policy():
        raise OSError("x")

    @task(retries=3, retry_delay=timedelta(0), retry_policy=POLICY)
    def hard_fail():
        raise AirflowFailException("stop")

    @task(retries=5, retry_delay=timedelta(hours=1), retry_policy=EveryOther())
    def by_class(ti=None):
        if ti.try_number < 3:
            raise OSError("again")

    quick_retry()
    fail_now()
    no_rule()
    broken_policy()
    hard_fail()
    by_class()
