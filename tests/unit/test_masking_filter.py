"""The shared log masking filter (triggerer and callbacks child) and the triggerer's stored
tracebacks: a secret registered in this process never leaves it in a log line or a ``__fail__``."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from airlane.sdk.secrets_masker import (
    mask_handlers,
    mask_secret,
    reset_secrets_masker,
    unmask_handlers,
)
from airlane.service.triggerer.decisions import fire_for_failure

SECRET = "Sup3rSecretPw"


@pytest.fixture(autouse=True)
def _fresh_masker() -> Iterator[None]:
    reset_secrets_masker()
    yield
    reset_secrets_masker()


def test_masked_handlers_mask_messages_and_tracebacks() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger = logging.getLogger("test_masking_filter")
    logger.addHandler(handler)
    mask_secret(SECRET)
    assert mask_handlers([handler, handler]) == [handler]
    assert len(handler.filters) == 1
    try:
        raise RuntimeError(f"cannot reach app:{SECRET}@db")
    except RuntimeError:
        logger.exception("failed with %s", SECRET)
    unmask_handlers([handler])
    logger.removeHandler(handler)
    assert not handler.filters
    text = out.getvalue()
    assert "failed with ***" in text
    assert "RuntimeError: cannot reach app:***@db" in text
    assert SECRET not in text


def test_a_failed_triggers_traceback_is_masked() -> None:
    mask_secret(SECRET)
    try:
        raise RuntimeError(f"cannot reach app:{SECRET}@db")
    except RuntimeError as err:
        fire = fire_for_failure("k", err)
    lines = orjson.loads(fire.kwargs_json)["traceback"]
    assert "RuntimeError: cannot reach app:***@db\n" in lines
    assert SECRET not in fire.kwargs_json
