"""Airflow 3.1's all_done_min_one_success, as its TriggerRuleDep decides it.

Airflow (ti_deps/deps/trigger_rule_dep.py, 3.1.8): any skipped upstream settles the task as
skipped at once (skipped upstreams are not "done" for this rule); every other upstream done and
none succeeded: upstream_failed; every upstream done, none skipped, one success: run.
"""

from __future__ import annotations

import pytest

from airlane.engine.trigger_rules import RuleDecision, UpstreamCounts, evaluate_trigger_rule
from airlane.sdk.trigger_rule import TriggerRule, normalize_trigger_rule

R = RuleDecision
RULE = TriggerRule.ALL_DONE_MIN_ONE_SUCCESS


def counts_of(*states: str) -> UpstreamCounts:
    return UpstreamCounts(
        total=len(states),
        success=states.count("success"),
        skipped=states.count("skipped"),
        failed=states.count("failed"),
        upstream_failed=states.count("upstream_failed"),
    )


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (("success", "failed"), R.RUN),
        (("success", "upstream_failed"), R.RUN),
        (("success", "success"), R.RUN),
        (("success", "running"), R.WAIT),
        (("failed", "running"), R.WAIT),
        (("failed", "failed"), R.UPSTREAM_FAILED),
        (("failed", "upstream_failed"), R.UPSTREAM_FAILED),
        (("skipped", "running"), R.SKIP),
        (("skipped", "success"), R.SKIP),
        (("skipped", "skipped"), R.SKIP),
    ],
)
def test_all_done_min_one_success(states: tuple[str, ...], expected: RuleDecision) -> None:
    assert evaluate_trigger_rule(RULE, counts_of(*states)) is expected


def test_no_upstream_runs_and_the_name_is_known() -> None:
    assert evaluate_trigger_rule(RULE, UpstreamCounts(total=0)) is R.RUN
    assert normalize_trigger_rule("all_done_min_one_success") is RULE
    assert TriggerRule.is_valid("all_done_min_one_success")
    assert "all_done_min_one_success" in TriggerRule.all_triggers()


def test_every_airflow_3_1_rule_is_known() -> None:
    # Airflow 3.1.8's airflow.task.trigger_rule.TriggerRule values
    airflow_rules = {
        "all_success", "all_failed", "all_done", "all_done_min_one_success",
        "all_done_setup_success", "one_success", "one_failed", "one_done", "none_failed",
        "none_skipped", "always", "none_failed_min_one_success", "all_skipped",
    }  # fmt: skip
    assert airflow_rules <= TriggerRule.all_triggers()
