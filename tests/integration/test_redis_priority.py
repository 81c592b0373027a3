"""The CPU priority of a redis-server Airlane starts itself (service/redis_priority.py), on real
processes: realtime when permitted, an ordinary process with a reason when not, ordinary
children of a realtime parent, and the setting's parsing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from airlane.config import Settings
from airlane.service.redis_priority import (
    ENV,
    PriorityOutcome,
    RedisPriority,
    apply_priority,
    current_priority,
    priority_from_env,
)
from tests.integration.cluster import die_with_test

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="realtime priority needs root here")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"], preexec_fn=die_with_test)
    yield proc
    proc.kill()
    proc.wait()


def test_the_default_is_normal_and_the_setting_is_read_case_blind() -> None:
    assert priority_from_env({}) is RedisPriority.NORMAL
    assert priority_from_env({ENV: " Realtime "}) is RedisPriority.REALTIME
    assert Settings.from_env({ENV: "realtime"}).redis_priority is RedisPriority.REALTIME
    assert Settings.from_env({}).redis_priority is RedisPriority.NORMAL


def test_an_unknown_priority_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="AIRLANE_REDIS_PRIORITY='fast': expected one of"):
        Settings.from_env({ENV: "fast"})


@needs_root
def test_realtime_is_applied_and_normal_undoes_it(sleeper: subprocess.Popen[bytes]) -> None:
    assert current_priority(sleeper.pid) is RedisPriority.NORMAL
    outcome = apply_priority(sleeper.pid, RedisPriority.REALTIME)
    assert outcome == PriorityOutcome(RedisPriority.REALTIME)
    assert current_priority(sleeper.pid) is RedisPriority.REALTIME
    assert os.sched_getparam(sleeper.pid).sched_priority == 1
    assert apply_priority(sleeper.pid, RedisPriority.NORMAL).priority is RedisPriority.NORMAL
    assert current_priority(sleeper.pid) is RedisPriority.NORMAL


UNPRIVILEGED = """
import subprocess
from airlane.service.redis_priority import RedisPriority, apply_priority, current_priority
child = subprocess.Popen(["sleep", "60"])
try:
    outcome = apply_priority(child.pid, RedisPriority.REALTIME)
    print(outcome.priority.value, current_priority(child.pid).value, outcome.describe())
finally:
    child.kill()
"""


@needs_root
def test_without_the_privilege_redis_stays_ordinary_and_says_why() -> None:
    # root without CAP_SYS_NICE (util-linux's setpriv), and an RLIMIT_RTPRIO of 0
    without = ["setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice"]
    done = subprocess.run(
        [*without, "prlimit", "--rtprio=0", sys.executable, "-c", UNPRIVILEGED],
        capture_output=True,
        text=True,
        preexec_fn=die_with_test,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 2) == [
        "normal",
        "normal",
        "normal (realtime needs CAP_SYS_NICE (root) or an RLIMIT_RTPRIO of at least 1)\n",
    ]


FORKS = """
import os, sys
sys.stdin.readline()  # the parent's priority is set by now
pid = os.fork()
if pid == 0:
    print(os.sched_getscheduler(0), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
"""


@needs_root
def test_what_a_realtime_redis_forks_is_an_ordinary_process() -> None:
    """Redis forks to rewrite its append-only file: that child must not hold a core."""
    proc = subprocess.Popen(
        [sys.executable, "-c", FORKS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_test,
    )
    try:
        assert apply_priority(proc.pid, RedisPriority.REALTIME).priority is RedisPriority.REALTIME
        out, _ = proc.communicate("go\n", timeout=30)
    finally:
        proc.kill()
    assert int(out) == os.SCHED_OTHER
