"""Trigger rules: when a task runs, given the states of its direct upstream tasks."""

from __future__ import annotations

from enum import StrEnum


class TriggerRule(StrEnum):
    """Airflow's trigger rules, with the legacy spellings of 1.x and 2.x."""

    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ALL_SKIPPED = "all_skipped"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"
    #: a teardown's rule: all upstream done and, if any upstream is a setup, one succeeded
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"
    #: Airflow 3.1: every upstream done and at least one succeeded (any skipped: skipped)
    ALL_DONE_MIN_ONE_SUCCESS = "all_done_min_one_success"
    # Legacy names, normalised by :func:`normalize_trigger_rule`.
    DUMMY = "dummy"
    NONE_FAILED_OR_SKIPPED = "none_failed_or_skipped"

    @classmethod
    def is_valid(cls, value: str) -> bool:
        return value in _BY_VALUE

    @classmethod
    def all_triggers(cls) -> set[str]:
        return {rule.value for rule in (*CANONICAL_RULES, *NEWER_RULES, TEARDOWN_RULE)}


_LEGACY = {
    TriggerRule.DUMMY: TriggerRule.ALWAYS,
    TriggerRule.NONE_FAILED_OR_SKIPPED: TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
}
_BY_VALUE = {rule.value: rule for rule in TriggerRule}

#: The rule Airflow gives teardown tasks (it reads which upstream tasks are setups).
TEARDOWN_RULE = TriggerRule.ALL_DONE_SETUP_SUCCESS

#: Rules added after Airflow 2 (3.1's all_done_min_one_success).
NEWER_RULES: tuple[TriggerRule, ...] = (TriggerRule.ALL_DONE_MIN_ONE_SUCCESS,)

#: The eleven rules of Airflow 2 with distinct behaviour that depend on upstream states
#: alone, in Airflow's documentation order.
CANONICAL_RULES: tuple[TriggerRule, ...] = tuple(
    r for r in TriggerRule if r not in _LEGACY and r is not TEARDOWN_RULE and r not in NEWER_RULES
)


def normalize_trigger_rule(value: str | TriggerRule) -> TriggerRule:
    """Return the canonical rule for ``value``; raise ``ValueError`` naming it when unknown."""
    rule = _BY_VALUE.get(str(value.value if isinstance(value, TriggerRule) else value))
    if rule is None:
        valid = ", ".join(sorted(TriggerRule.all_triggers()))
        raise ValueError(f"unknown trigger_rule {value!r}; expected one of: {valid}")
    return _LEGACY.get(rule, rule)
