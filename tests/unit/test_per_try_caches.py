"""What a process caches across tries still follows what it depends on: the environment's
masking settings, and each callable's own signature."""

from __future__ import annotations

from typing import Any

import pytest

from airlane.sdk.operators.python import determine_kwargs
from airlane.sdk.secrets_masker import redact, should_hide_value_for_key


def test_masking_follows_the_environment_between_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not should_hide_value_for_key("my_pin")
    monkeypatch.setenv("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES", "pin")
    assert should_hide_value_for_key("my_pin")
    assert redact({"my_pin": "1234"}) == {"my_pin": "***"}
    monkeypatch.setenv("AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS", "False")
    assert not should_hide_value_for_key("my_pin")
    monkeypatch.delenv("AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS")
    monkeypatch.delenv("AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES")
    assert not should_hide_value_for_key("my_pin")
    assert should_hide_value_for_key("api_key")


class _Unhashable:
    __hash__ = None  # type: ignore[assignment]

    def __call__(self, ds: str, **kwargs: Any) -> None:
        return None


def test_kwargs_are_chosen_per_callable_hashable_or_not() -> None:
    def takes_ds(ds: str) -> None:
        return None

    def takes_nothing() -> None:
        return None

    context = {"ds": "2024-01-01", "ti": object()}
    for _ in range(2):  # the second time from the cache
        assert determine_kwargs(takes_ds, [], context) == {"ds": "2024-01-01"}
        assert determine_kwargs(takes_ds, ["x"], context) == {}
        assert determine_kwargs(takes_nothing, [], context) == {}
        assert determine_kwargs(_Unhashable(), [], context) == context
