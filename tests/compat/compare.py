"""Comparing Airlane's end states of one DAG run with the states recorded from real Airflow.

By default every task instance must end in the recorded state. A DAG that chooses at random (or
by the wall clock) has ``one_branch`` rules in the expected file's ``rules`` (a list per DAG id,
one rule per choice the DAG makes): the tasks of a rule's ``groups`` are compared on what Airflow
guarantees, exactly one group followed (every task in it ``success``) and every task of the
other groups ``skipped``. A ``one_of`` rule lists ``alternatives``, each a ``{task: state}``
for the same tasks, and the run must end its tasks as one of them (a choice with more than two
levels, such as the weekday example). The tasks no rule names are compared exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FOLLOWED = "success"
NOT_FOLLOWED = "skipped"


def airlane_states(result: Mapping[str, Any]) -> dict[str, str | None]:
    """``{task label: state}`` from the JSON that ``airlane dags test --json`` prints."""
    tasks: Mapping[str, Any] = result.get("tasks", {})
    return {label: info.get("state") for label, info in tasks.items()}


def differences(
    expected: Mapping[str, str | None],
    actual: Mapping[str, str | None],
    rules: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """What differs, one line per task instance or branch choice; empty when they agree."""
    grouped: set[str] = set()
    problems: list[str] = []
    for rule in rules:
        if rule.get("kind") == "one_branch":
            groups: list[list[str]] = rule["groups"]
            grouped |= {task for group in groups for task in group}
            problems += _one_branch(groups, actual)
        elif rule.get("kind") == "one_of":
            alternatives: list[dict[str, str]] = rule["alternatives"]
            grouped |= {task for alternative in alternatives for task in alternative}
            problems += _one_of(alternatives, actual)
        else:
            return [f"unknown rule kind {rule.get('kind')!r}"]
    for label in sorted(set(expected) | set(actual)):
        if label in grouped:
            continue
        want, got = expected.get(label, "<absent>"), actual.get(label, "<absent>")
        if want != got:
            problems.append(f"{label}: Airflow {want}, Airlane {got}")
    return problems


def _one_branch(groups: list[list[str]], actual: Mapping[str, str | None]) -> list[str]:
    followed = [g for g in groups if all(actual.get(t) == FOLLOWED for t in g)]
    left = [g for g in groups if all(actual.get(t) == NOT_FOLLOWED for t in g)]
    if len(followed) == 1 and len(followed) + len(left) == len(groups):
        return []
    seen = {t: actual.get(t, "<absent>") for g in groups for t in g}
    return [f"branches: expected exactly one followed and the rest skipped, got {seen}"]


def _one_of(alternatives: list[dict[str, str]], actual: Mapping[str, str | None]) -> list[str]:
    if any(all(actual.get(t) == s for t, s in alt.items()) for alt in alternatives):
        return []
    seen = {t: actual.get(t, "<absent>") for alt in alternatives for t in alt}
    return [f"choice: expected one of {len(alternatives)} recorded outcomes, got {seen}"]
