"""AIRLANE_EVENT_LOOP: uvloop unless asked otherwise, asyncio's loop where uvloop is missing."""

from __future__ import annotations

import asyncio
import sys

import pytest

from airlane.config import Settings
from airlane.service.event_loop import ENV, LoopKind, kind_from_env, loop_factory


@pytest.mark.parametrize(
    ("value", "kind"),
    [(None, LoopKind.UVLOOP), ("uvloop", LoopKind.UVLOOP), (" AsyncIO ", LoopKind.ASYNCIO)],
)
def test_uvloop_unless_asked_otherwise(value: str | None, kind: LoopKind) -> None:
    env = {} if value is None else {ENV: value}
    assert kind_from_env(env) is kind
    assert Settings.from_env(env).event_loop is kind


def test_an_unknown_loop_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="AIRLANE_EVENT_LOOP='trio'"):
        Settings.from_env({ENV: "trio"})


def test_the_factory_makes_a_uvloop_loop() -> None:
    factory = loop_factory(LoopKind.UVLOOP)
    assert factory is not None
    with asyncio.Runner(loop_factory=factory) as runner:
        kind = runner.run(_loop_module())
    assert kind.startswith("uvloop")
    assert loop_factory(LoopKind.ASYNCIO) is None


def test_asyncio_loop_where_uvloop_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # (an import of it raises ImportError)
    assert loop_factory(LoopKind.UVLOOP) is None


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__
