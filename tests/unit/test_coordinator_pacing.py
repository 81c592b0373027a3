"""When the coordinator reads again (service/coordinator/pacing.py), and the setting."""

from __future__ import annotations

import pytest

from airlane.config import Settings
from airlane.service.coordinator.pacing import wait_before_read_s


@pytest.mark.parametrize(
    ("read_fast_finish", "queued_any", "expected_s"),
    [
        (True, False, 0.002),  # it only recorded what the fast path did: let more gather
        (True, True, 0.0),  # it drives an edge itself (a task it queued): at once
        (False, False, 0.0),  # no fast-path finish (a chain it drives, a failure): at once
        (False, True, 0.0),
    ],
)
def test_waits_only_after_a_pass_that_followed_the_fast_path(
    read_fast_finish: bool, queued_any: bool, expected_s: float
) -> None:
    assert wait_before_read_s(read_fast_finish, queued_any, 0.002) == expected_s


def test_a_zero_batch_reads_at_once() -> None:
    assert wait_before_read_s(True, False, 0.0) == 0.0


def test_the_setting_from_the_environment() -> None:
    assert Settings.from_env({}).coordinator_fast_batch_ms == 2.0
    env = {"AIRLANE_COORDINATOR_FAST_BATCH_MS": "0"}
    assert Settings.from_env(env).coordinator_fast_batch_ms == 0.0
