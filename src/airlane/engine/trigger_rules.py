"""Trigger-rule evaluation (pure): given counts of upstream task-instance states, decide.

Follows Airflow's ``TriggerRuleDep`` with ``flag_upstream_failed``: first a rule may settle the
task as skipped or upstream_failed (some rules before every upstream is done), then it
runs when the rule is met, else it waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from airlane.sdk.trigger_rule import TriggerRule


class RuleDecision(StrEnum):
    WAIT = "wait"
    RUN = "run"
    SKIP = "skip"
    UPSTREAM_FAILED = "upstream_failed"


@dataclass(frozen=True, slots=True)
class UpstreamCounts:
    """How many upstream task instances are in each finished state, out of ``total``."""

    total: int
    success: int = 0
    skipped: int = 0
    failed: int = 0
    upstream_failed: int = 0
    removed: int = 0
    #: of these, the instances of setup tasks, and how many of them succeeded / were skipped
    #: (read by all_done_setup_success only, as Airflow's success_setup / skipped_setup)
    setups: int = 0
    success_setup: int = 0
    skipped_setup: int = 0

    @property
    def done(self) -> int:
        return self.success + self.skipped + self.failed + self.upstream_failed + self.removed


def _settled(rule: TriggerRule, c: UpstreamCounts) -> RuleDecision | None:
    """The skip/upstream_failed verdict of ``rule``, or None when it does not settle the task."""
    failures = c.failed + c.upstream_failed
    all_done = c.done >= c.total
    verdict: RuleDecision | None = None
    if rule in (TriggerRule.ALL_SUCCESS,):
        if failures:
            verdict = RuleDecision.UPSTREAM_FAILED
        elif c.skipped:
            verdict = RuleDecision.SKIP
    elif rule is TriggerRule.ALL_FAILED:
        if c.success or c.skipped:
            verdict = RuleDecision.SKIP
    elif rule is TriggerRule.ONE_SUCCESS:
        if all_done and c.done == c.skipped:
            verdict = RuleDecision.SKIP
        elif all_done and c.success <= 0:
            verdict = RuleDecision.UPSTREAM_FAILED
    elif rule is TriggerRule.ONE_FAILED:
        if all_done and not failures:
            verdict = RuleDecision.SKIP
    elif rule is TriggerRule.ONE_DONE:
        if all_done and not (c.failed or c.success):
            verdict = RuleDecision.SKIP
    elif rule is TriggerRule.NONE_FAILED:
        if failures:
            verdict = RuleDecision.UPSTREAM_FAILED
    elif rule is TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS:
        if failures:
            verdict = RuleDecision.UPSTREAM_FAILED
        elif c.skipped == c.total:
            verdict = RuleDecision.SKIP
    elif rule is TriggerRule.NONE_SKIPPED:
        if c.skipped:
            verdict = RuleDecision.SKIP
    elif rule is TriggerRule.ALL_SKIPPED and (c.success or failures):
        verdict = RuleDecision.SKIP
    elif rule is TriggerRule.ALL_DONE_MIN_ONE_SUCCESS:
        # as Airflow 3.1: a skipped upstream skips it at once; every other upstream done
        # without a success: upstream_failed
        if c.skipped:
            verdict = RuleDecision.SKIP
        elif all_done and c.success == 0:
            verdict = RuleDecision.UPSTREAM_FAILED
    elif rule is TriggerRule.ALL_DONE_SETUP_SUCCESS and all_done and c.setups:
        # the setups all skipped: skip; none succeeded: upstream_failed; one ran: run
        if c.skipped_setup >= c.setups:
            verdict = RuleDecision.SKIP
        elif c.success_setup == 0:
            verdict = RuleDecision.UPSTREAM_FAILED
    return verdict


def _met(rule: TriggerRule, c: UpstreamCounts) -> bool:
    failures = c.failed + c.upstream_failed
    all_done = c.done >= c.total
    if rule is TriggerRule.ALL_SUCCESS:
        return c.total - c.success <= 0
    if rule is TriggerRule.ALL_FAILED:
        return c.total - failures <= 0
    if rule in (TriggerRule.ALL_DONE, TriggerRule.ALL_DONE_SETUP_SUCCESS):
        return all_done
    if rule is TriggerRule.ALL_SKIPPED:
        return c.total - c.skipped <= 0
    if rule is TriggerRule.ONE_SUCCESS:
        return c.success > 0
    if rule is TriggerRule.ONE_FAILED:
        return failures > 0
    if rule is TriggerRule.ONE_DONE:
        return c.success + c.failed > 0
    if rule in (TriggerRule.NONE_FAILED, TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS):
        return c.total - c.success - c.skipped <= 0
    if rule is TriggerRule.NONE_SKIPPED:
        return all_done and c.skipped == 0
    if rule is TriggerRule.ALL_DONE_MIN_ONE_SUCCESS:
        return all_done and c.skipped == 0 and c.success > 0
    raise ValueError(f"no strategy to evaluate trigger rule {rule!r}")


def settle_and_met(rule: TriggerRule, counts: UpstreamCounts) -> tuple[RuleDecision | None, bool]:
    """Airflow's two separate checks, for a task that has upstream tasks (and a rule other than
    always): the state the rule settles the task in (or None), and whether the rule is met.
    Both may hold (none_failed_min_one_success with every upstream skipped): Airflow then sets
    the state and still expands an unexpanded instance of a mapped task group's task."""
    return _settled(rule, counts), _met(rule, counts)


def evaluate_trigger_rule(rule: TriggerRule, counts: UpstreamCounts) -> RuleDecision:
    """What happens to a task in state none whose direct upstream instances are ``counts``."""
    if counts.total == 0 or rule is TriggerRule.ALWAYS:
        return RuleDecision.RUN
    verdict = _settled(rule, counts)
    if verdict is not None:
        return verdict
    return RuleDecision.RUN if _met(rule, counts) else RuleDecision.WAIT
