"""Trigger rules against every combination of upstream states, following Airflow's table.

Airflow's rules (``TriggerRuleDep`` with ``flag_upstream_failed``), for the direct upstream
task instances of a task in state none. "done" = success, skipped, failed, upstream_failed.

| rule                        | settles as skipped when              | settles as upstream_failed when  | runs when                          |
|-----------------------------|--------------------------------------|----------------------------------|------------------------------------|
| all_success                 | any skipped (and none failed)        | any failed or upstream_failed    | all success                        |
| all_failed                  | any success or skipped               | -                                | all failed or upstream_failed      |
| all_done                    | -                                    | -                                | all done                           |
| all_skipped                 | any success, failed, upstream_failed | -                                | all skipped                        |
| one_success                 | all done and all skipped             | all done and no success          | at least one success (no waiting)  |
| one_failed                  | all done and none failed             | -                                | at least one failed (no waiting)   |
| one_done                    | all done and none success or failed  | -                                | at least one success or failed     |
| none_failed                 | -                                    | any failed or upstream_failed    | all success or skipped             |
| none_failed_min_one_success | all skipped                          | any failed or upstream_failed    | all success or skipped, >= 1 success|
| none_skipped                | any skipped                          | -                                | all done and none skipped          |
| always                      | -                                    | -                                | at once                            |

A task without upstream tasks always runs. The oracle below restates this table over lists of
states, independently of the counting implementation, and a few literal rows pin it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest

from airlane.engine.trigger_rules import RuleDecision, UpstreamCounts, evaluate_trigger_rule
from airlane.sdk.trigger_rule import CANONICAL_RULES, TriggerRule, normalize_trigger_rule

R = RuleDecision
UPSTREAM_STATES = ("success", "skipped", "failed", "upstream_failed", "running", "none")
FINISHED = {"success", "skipped", "failed", "upstream_failed"}


def counts_of(states: Sequence[str]) -> UpstreamCounts:
    return UpstreamCounts(
        total=len(states),
        success=states.count("success"),
        skipped=states.count("skipped"),
        failed=states.count("failed"),
        upstream_failed=states.count("upstream_failed"),
    )


def oracle(rule: TriggerRule, states: Sequence[str]) -> RuleDecision:
    if not states or rule is TriggerRule.ALWAYS:
        return R.RUN
    done = all(s in FINISHED for s in states)
    fail = any(s in ("failed", "upstream_failed") for s in states)
    has = set(states)
    table = {
        TriggerRule.ALL_SUCCESS: (
            R.UPSTREAM_FAILED
            if fail
            else R.SKIP
            if "skipped" in has
            else R.RUN
            if has == {"success"}
            else R.WAIT
        ),
        TriggerRule.ALL_FAILED: (
            R.SKIP
            if has & {"success", "skipped"}
            else R.RUN
            if has <= {"failed", "upstream_failed"}
            else R.WAIT
        ),
        TriggerRule.ALL_DONE: R.RUN if done else R.WAIT,
        TriggerRule.ALL_SKIPPED: (
            R.SKIP
            if has & {"success", "failed", "upstream_failed"}
            else R.RUN
            if has == {"skipped"}
            else R.WAIT
        ),
        TriggerRule.ONE_SUCCESS: (
            R.SKIP
            if done and has == {"skipped"}
            else R.UPSTREAM_FAILED
            if done and "success" not in has
            else R.RUN
            if "success" in has
            else R.WAIT
        ),
        TriggerRule.ONE_FAILED: (R.SKIP if done and not fail else R.RUN if fail else R.WAIT),
        TriggerRule.ONE_DONE: (
            R.SKIP
            if done and not has & {"success", "failed"}
            else R.RUN
            if has & {"success", "failed"}
            else R.WAIT
        ),
        TriggerRule.NONE_FAILED: (
            R.UPSTREAM_FAILED if fail else R.RUN if has <= {"success", "skipped"} else R.WAIT
        ),
        TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS: (
            R.UPSTREAM_FAILED
            if fail
            else R.SKIP
            if has == {"skipped"}
            else R.RUN
            if has <= {"success", "skipped"}
            else R.WAIT
        ),
        TriggerRule.NONE_SKIPPED: (R.SKIP if "skipped" in has else R.RUN if done else R.WAIT),
    }
    return table[rule]


def all_combinations(max_upstream: int = 3) -> list[tuple[str, ...]]:
    combos: list[tuple[str, ...]] = [()]
    for n in range(1, max_upstream + 1):
        combos.extend(itertools.combinations_with_replacement(UPSTREAM_STATES, n))
    return combos


@pytest.mark.parametrize("rule", CANONICAL_RULES, ids=str)
def test_every_rule_against_every_upstream_combination(rule: TriggerRule) -> None:
    for states in all_combinations():
        assert evaluate_trigger_rule(rule, counts_of(states)) == oracle(rule, states), (
            rule,
            states,
        )


@pytest.mark.parametrize(
    ("rule", "states", "expected"),
    [
        ("all_success", ["success", "running"], R.WAIT),
        ("all_success", ["failed", "running"], R.UPSTREAM_FAILED),  # does not wait for the rest
        ("all_success", ["skipped", "success"], R.SKIP),
        ("all_failed", ["failed", "upstream_failed"], R.RUN),
        ("one_success", ["success", "running"], R.RUN),
        ("one_success", ["failed", "skipped"], R.UPSTREAM_FAILED),
        ("one_failed", ["success", "success"], R.SKIP),
        ("one_done", ["skipped", "skipped"], R.SKIP),
        ("none_failed", ["skipped", "skipped"], R.RUN),
        ("none_failed_min_one_success", ["skipped", "skipped"], R.SKIP),
        ("none_skipped", ["success", "running"], R.WAIT),
        ("all_skipped", ["skipped", "running"], R.WAIT),
        ("always", ["failed", "running"], R.RUN),
    ],
)
def test_pinned_rows(rule: str, states: list[str], expected: RuleDecision) -> None:
    assert evaluate_trigger_rule(TriggerRule(rule), counts_of(states)) == expected


def test_no_upstream_always_runs() -> None:
    for rule in CANONICAL_RULES:
        assert evaluate_trigger_rule(rule, UpstreamCounts(total=0)) is R.RUN


def test_legacy_names_and_unknown_rules() -> None:
    assert normalize_trigger_rule("dummy") is TriggerRule.ALWAYS
    assert (
        normalize_trigger_rule("none_failed_or_skipped") is TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    )
    assert normalize_trigger_rule(TriggerRule.ONE_DONE) is TriggerRule.ONE_DONE
    with pytest.raises(ValueError, match="unknown trigger_rule 'sometimes'"):
        normalize_trigger_rule("sometimes")
    assert len(CANONICAL_RULES) == 11
