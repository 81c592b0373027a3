"""Trigger kwargs at rest: Fernet with AIRLANE_FERNET_KEY, plain JSON without (as Airflow)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from airlane.api.trigger_shapes import trigger_response
from airlane.queue.trigger_monitoring import DeferredTrigger
from airlane.service.execution.trigger_kwargs import TriggerKwargsUnreadable, seal, unseal

KWARGS = '{"token": "abc123secret"}'


def test_without_a_key_kwargs_stay_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRLANE_FERNET_KEY", raising=False)
    monkeypatch.delenv("AIRFLOW__CORE__FERNET_KEY", raising=False)
    assert seal(KWARGS) == KWARGS
    assert unseal(KWARGS) == KWARGS


def test_with_a_key_kwargs_are_encrypted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__CORE__FERNET_KEY", raising=False)
    monkeypatch.setenv("AIRLANE_FERNET_KEY", Fernet.generate_key().decode())
    stored = seal(KWARGS)
    assert "abc123secret" not in stored
    assert unseal(stored) == KWARGS
    assert unseal(KWARGS) == KWARGS  # stored before the key was set
    monkeypatch.setenv("AIRLANE_FERNET_KEY", Fernet.generate_key().decode())
    with pytest.raises(TriggerKwargsUnreadable, match="wrong key"):
        unseal(stored)
    monkeypatch.delenv("AIRLANE_FERNET_KEY")
    with pytest.raises(TriggerKwargsUnreadable, match="not set"):
        unseal(stored)


def test_the_api_shows_the_kwargs_decrypted(monkeypatch: pytest.MonkeyPatch) -> None:
    """As Airflow's TriggerResponse (the ORM's decrypted ``kwargs``); still encrypted when the
    API has no key."""
    monkeypatch.delenv("AIRFLOW__CORE__FERNET_KEY", raising=False)
    monkeypatch.setenv("AIRLANE_FERNET_KEY", Fernet.generate_key().decode())
    found = DeferredTrigger("k1", "my.Trigger", seal(KWARGS), None)
    assert trigger_response(found, None)["kwargs"] == KWARGS
    monkeypatch.delenv("AIRLANE_FERNET_KEY")
    assert trigger_response(found, None)["kwargs"] == found.kwargs_json
