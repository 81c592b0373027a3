"""The compatibility suite's comparison of end states (tests/compat/compare.py)."""

from __future__ import annotations

from tests.compat.compare import airlane_states, differences

BRANCHES = [{"kind": "one_branch", "groups": [["branch_a", "follow_a"], ["branch_b", "follow_b"]]}]


def test_exact_states_agree_and_differ_per_task() -> None:
    expected = {"a": "success", "b[0]": "success", "c": "skipped"}
    assert differences(expected, dict(expected)) == []
    actual = {"a": "success", "b[0]": "failed", "d": "success"}
    assert differences(expected, actual) == [
        "b[0]: Airflow success, Airlane failed",
        "c: Airflow skipped, Airlane <absent>",
        "d: Airflow <absent>, Airlane success",
    ]


def test_one_branch_rule_accepts_either_branch_but_not_both_or_none() -> None:
    recorded = {"start": "success", "branch_a": "success", "follow_a": "success",
                "branch_b": "skipped", "follow_b": "skipped", "join": "success"}  # fmt: skip
    other = {**recorded, "branch_a": "skipped", "follow_a": "skipped",
             "branch_b": "success", "follow_b": "success"}  # fmt: skip
    assert differences(recorded, other, BRANCHES) == []
    both = {**recorded, "branch_b": "success", "follow_b": "success"}
    assert len(differences(recorded, both, BRANCHES)) == 1
    torn = {**recorded, "follow_a": "skipped"}
    assert len(differences(recorded, torn, BRANCHES)) == 1
    assert differences(recorded, {**other, "join": "failed"}, BRANCHES) == [
        "join: Airflow success, Airlane failed"
    ]


def test_airlane_states_reads_dags_test_json() -> None:
    result = {"tasks": {"t": {"state": "success", "try_number": 1}, "m[1]": {"state": "skipped"}}}
    assert airlane_states(result) == {"t": "success", "m[1]": "skipped"}


def test_one_of_rule_accepts_each_listed_outcome_only() -> None:
    monday = {"branch_true": "success", "branch_false": "skipped", "weekend": "skipped"}
    weekend = {"branch_true": "skipped", "branch_false": "success", "weekend": "success"}
    rule = [{"kind": "one_of", "alternatives": [monday, weekend]}]
    recorded = {"make_choice": "success", **weekend}
    assert differences(recorded, {"make_choice": "success", **monday}, rule) == []
    mixed = {"make_choice": "success", **monday, "weekend": "success"}
    assert len(differences(recorded, mixed, rule)) == 1
