"""Comparing Airlane's end states of one DAG run with the states recorded from real Airflow.

By default every task instance must end in the recorded state. A DAG that chooses at random (or
by the wall clock) has a ``one_branch`` rule in the expected file's ``rules``: the tasks of its
``groups`` are compared on what Airflow guarantees, exactly one group followed (every task in
it ``success``) and every task of the other groups ``skipped``; the other tasks exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    rule: Mapping[str, Any] | None = None,
) -> list[str]:
    """What differs, one line per task instance or branch group; empty when they agree."""
    grouped: set[str] = set()
    problems: list[str] = []
    if rule is not None:
        if rule.get("kind") != "one_branch":
            return [f"unknown rule kind {rule.get('kind')!r}"]
        groups: list[list[str]] = rule["groups"]
        grouped = {task for group in groups for task in group}
        problems += _one_branch(groups, actual)
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
