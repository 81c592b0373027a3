"""engine.asset_condition: evaluate, asset_names, alias_names on the JSON tree."""

from __future__ import annotations

import pytest

from airlane.engine.asset_condition import (
    AssetConditionError,
    alias_names,
    asset_names,
    check,
    evaluate,
)

A, B, C = {"asset": "a"}, {"asset": "b"}, {"asset": "c"}
ALIAS = {"alias": "al"}


@pytest.mark.parametrize(
    ("cond", "queued", "expected"),
    [
        (A, set(), False),
        (A, {"a"}, True),
        ({"all": [A, B]}, {"a"}, False),
        ({"all": [A, B]}, {"a", "b"}, True),
        ({"any": [A, B]}, {"b"}, True),
        ({"any": [A, B]}, {"c"}, False),
        ({"any": [A, {"all": [B, C]}]}, {"b"}, False),
        ({"any": [A, {"all": [B, C]}]}, {"b", "c"}, True),
        ({"any": [A, {"all": [B, C]}]}, {"a"}, True),
        ({"all": []}, set(), True),
        ({"any": []}, {"a"}, False),
        ({"asset_uri": "s3://x/"}, {"s3://x/"}, True),
    ],
)
def test_evaluate(cond: dict, queued: set[str], expected: bool) -> None:
    assert evaluate(cond, queued, {}) is expected


def test_an_alias_is_satisfied_by_any_asset_it_resolved_to() -> None:
    aliases = {"al": {"x", "y"}}
    assert not evaluate(ALIAS, {"a"}, aliases)
    assert evaluate(ALIAS, {"y"}, aliases)
    assert not evaluate(ALIAS, {"y"}, {})  # not resolved yet
    assert evaluate({"all": [A, ALIAS]}, {"a", "x"}, aliases)
    assert not evaluate({"all": [A, ALIAS]}, {"x"}, aliases)


def test_asset_names_and_alias_names() -> None:
    cond = {"any": [A, {"all": [B, ALIAS]}, {"alias": "other"}]}
    assert asset_names(cond, {"al": {"x"}}) == {"a", "b", "x"}
    assert asset_names(cond, {}) == {"a", "b"}
    assert alias_names(cond) == {"al", "other"}
    assert alias_names(A) == frozenset()


@pytest.mark.parametrize(
    "bad",
    [{}, {"asset": 1}, {"all": "ab"}, {"nope": "a"}, {"asset": "a", "alias": "b"}, ["a"]],
)
def test_malformed_conditions_are_refused(bad: object) -> None:
    with pytest.raises(AssetConditionError):
        check(bad)  # type: ignore[arg-type]
    with pytest.raises(AssetConditionError):
        evaluate({"any": [bad]}, set(), {})  # type: ignore[list-item]
