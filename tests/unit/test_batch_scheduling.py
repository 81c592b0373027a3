"""AIRLANE_BATCH_SCHEDULING: parsed strictly; entering SCHED_BATCH (in a child process, so that
this one stays ordinary)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from airlane.config import Settings
from airlane.service.batch_scheduling import ENV, enabled_from_env


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, True), ("on", True), ("1", True), (" TRUE ", True), ("off", False), ("no", False)],
)
def test_on_unless_turned_off(value: str | None, enabled: bool) -> None:
    env = {} if value is None else {ENV: value}
    assert enabled_from_env(env) is enabled
    assert Settings.from_env(env).batch_scheduling is enabled


def test_an_unknown_value_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="AIRLANE_BATCH_SCHEDULING='sometimes'"):
        Settings.from_env({ENV: "sometimes"})


def test_a_process_enters_it_without_privileges() -> None:
    code = (
        "from airlane.service.batch_scheduling import enter_batch, runs_batch\n"
        "before = runs_batch()\n"
        "print(before, enter_batch(), runs_batch())\n"
    )
    # an unprivileged user where the tests run as root (setpriv drops every capability)
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    command = [sys.executable, "-c", code]
    done = subprocess.run(
        prefix + command if _root_with_setpriv() else command,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.split() == ["False", "True", "True"], done.stderr


def _root_with_setpriv() -> bool:
    return os.geteuid() == 0 and shutil.which("setpriv") is not None
