"""When the coordinator reads again (service/coordinator/pacing.py), and the setting."""

from __future__ import annotations

import pytest

from airlane.config import Settings
from airlane.service.coordinator.pacing import quiet_finish, wait_before_read_s


@pytest.mark.parametrize(
    ("read_quiet_finish", "queued_any", "expected_s"),
    [
        (True, False, 0.002),  # it only recorded ends nothing waits on: let more gather
        (True, True, 0.0),  # it drives an edge itself (a task it queued): at once
        (False, False, 0.0),  # an end tasks may wait on (a chain it drives, a fan-in): at once
        (False, True, 0.0),
    ],
)
def test_waits_only_after_a_pass_that_read_ends_nothing_waits_on(
    read_quiet_finish: bool, queued_any: bool, expected_s: float
) -> None:
    assert wait_before_read_s(read_quiet_finish, queued_any, 0.002) == expected_s


def test_nothing_waits_on_a_fast_path_end_or_a_leaf() -> None:
    assert quiet_finish(fast=True, downstream=("b",))  # its successor already started
    assert quiet_finish(fast=False, downstream=())  # a fan-out's leaf: only the run's end
    assert not quiet_finish(fast=False, downstream=("b",))  # the coordinator decides b
    assert not quiet_finish(fast=False, downstream=None)  # a task it does not know


def test_a_zero_batch_reads_at_once() -> None:
    assert wait_before_read_s(True, False, 0.0) == 0.0


def test_the_setting_from_the_environment() -> None:
    assert Settings.from_env({}).coordinator_fast_batch_ms == 2.0
    env = {"AIRLANE_COORDINATOR_FAST_BATCH_MS": "0"}
    assert Settings.from_env(env).coordinator_fast_batch_ms == 0.0
