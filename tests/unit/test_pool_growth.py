"""The task pool's growth policy: the decision as numbers, then the pool with fake processes
(no subprocess; tests wait on the pool's state, never on time)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from airlane.service.worker.cpu_share import Cpus, CpuShare
from airlane.service.worker.pool_growth import (
    MAX_GRACE_S,
    MIN_GRACE_S,
    TryDurations,
    grace_s,
    overdue,
    spawns_to_start,
)
from airlane.service.worker.task_pool import HOLD_MAX_S, TaskPool, TaskProcess
from airlane.service.worker.task_process import TaskProcessConfig


def test_nothing_busy_and_nothing_coming_means_no_wait() -> None:
    assert grace_s(0.001, ahead=0, busy=0, spawning=0) == 0.0


def test_a_process_being_started_is_waited_for() -> None:
    assert grace_s(None, ahead=5, busy=0, spawning=1) == MAX_GRACE_S


def test_unknown_durations_wait_the_longest_grace() -> None:
    assert grace_s(None, ahead=0, busy=3, spawning=0) == MAX_GRACE_S


def test_short_tries_at_the_head_wait_a_few_ms() -> None:
    assert grace_s(0.001, ahead=0, busy=8, spawning=0) == MIN_GRACE_S


def test_grace_grows_with_the_queue_ahead() -> None:
    # 20 tries of 1 ms ahead over 4 processes: 5.25 ms expected, twice that of grace
    assert grace_s(0.001, ahead=20, busy=4, spawning=0) == pytest.approx(0.0105)


def test_long_tries_get_their_process_after_the_longest_grace() -> None:
    assert grace_s(30.0, ahead=0, busy=8, spawning=0) == MAX_GRACE_S
    assert grace_s(0.001, ahead=10_000, busy=1, spawning=0) == MAX_GRACE_S


def test_one_spawn_per_overdue_waiter_within_the_limits() -> None:
    def start(**numbers: int) -> int:
        return spawns_to_start(**({"size": 4, "max_size": 64, "max_parallel": 2} | numbers))

    assert start(spawning=0, overdue=0) == 0
    assert start(spawning=0, overdue=1) == 1
    assert start(spawning=1, overdue=1) == 0  # the spawn in flight is for it
    assert start(spawning=0, overdue=9) == 2  # a few at a time
    assert start(spawning=1, overdue=9) == 1
    assert start(spawning=0, overdue=9, size=63) == 1  # the worker's concurrency bounds it
    assert start(spawning=0, overdue=9, size=64) == 0


def test_try_durations_are_running_means() -> None:
    durations = TryDurations()
    assert durations.mean_s is None
    durations.observe(0.016, 0.017)  # it ran no longer than it was held
    assert durations.mean_s == 0.016
    assert durations.ran_mean_s == 0.016
    durations.observe(0.032, 0.016)
    assert durations.mean_s == pytest.approx(0.017)
    assert durations.ran_mean_s == pytest.approx(0.016)


def test_processes_waiting_on_a_busy_worker_are_not_saturated() -> None:
    durations = TryDurations()
    assert durations.saturated()  # nothing known: grow as needed
    durations.observe(0.036, 0.002)  # held 36 ms, ran 2 ms: the worker was the bottleneck
    assert not durations.saturated()
    io_bound = TryDurations()
    io_bound.observe(0.036, 0.034)
    assert io_bound.saturated()


def test_a_waiter_is_owed_a_process_when_saturated_or_stalled() -> None:
    def owed(saturated: bool, released_meanwhile: bool, below_floor: bool = False) -> bool:
        return overdue(
            saturated=saturated, released_meanwhile=released_meanwhile, below_floor=below_floor
        )

    assert owed(saturated=True, released_meanwhile=True)
    assert owed(saturated=False, released_meanwhile=False)  # all busy with long tries
    assert not owed(saturated=False, released_meanwhile=True)  # wait another grace
    assert owed(saturated=False, released_meanwhile=True, below_floor=True)


class FakePool(TaskPool):
    """A pool whose processes are stand-ins, started when the test opens ``gate``."""

    def __init__(self, max_size: int) -> None:
        super().__init__(TaskProcessConfig.__new__(TaskProcessConfig), max_size, idle_s=60)
        self.gate = asyncio.Event()
        self.spawned = 0  # spawns begun

    async def _spawn(self) -> TaskProcess:
        self.spawned += 1
        await self.gate.wait()
        return fake_process()


class FakeProcess(TaskProcess):
    """No process behind it: nothing to kill (its pid must never reach os.kill)."""

    def kill(self) -> None:
        self.proc.returncode = -9


async def _exited() -> int:
    return -9


def fake_process() -> TaskProcess:
    proc: Any = SimpleNamespace(returncode=None, pid=None, wait=_exited)
    return FakeProcess(proc, reader=None, writer=None)  # type: ignore[arg-type]


async def until(condition: Callable[[], bool]) -> None:
    while not condition():  # noqa: ASYNC110 - waiting on the pool's state
        await asyncio.sleep(0.001)


async def busy_pool(max_size: int) -> tuple[FakePool, TaskProcess]:
    """A pool of one process, held by a try."""
    pool = FakePool(max_size)
    pool.gate.set()
    pool.prestart()
    await until(lambda: bool(pool._idle))
    return pool, await pool.acquire()


async def test_an_empty_pool_starts_a_process_at_once() -> None:
    pool = FakePool(max_size=4)
    pool.gate.set()
    process = await pool.acquire()
    assert pool.spawned == 1
    pool.release(process)
    await pool.close()


async def test_a_short_try_reuses_the_busy_process() -> None:
    pool, held = await busy_pool(max_size=4)
    waiting = asyncio.ensure_future(pool.acquire())
    await until(lambda: bool(pool._waiters))
    pool.release(held)  # comes free within the grace
    assert await waiting is held
    assert pool.spawned == 1  # the prestarted one only
    await pool.close()


async def test_a_try_behind_long_ones_gets_its_own_process_after_its_grace() -> None:
    pool, held = await busy_pool(max_size=4)
    waiting = asyncio.ensure_future(pool.acquire())
    await until(lambda: pool.spawned == 2)  # its grace has passed: a process for it
    process = await waiting
    assert process is not held
    assert pool._size == 2
    await pool.close()


async def test_the_worker_concurrency_bounds_the_pool() -> None:
    pool, held = await busy_pool(max_size=1)
    waiting = asyncio.ensure_future(pool.acquire())
    await until(lambda: bool(pool._waiters) and pool._waiters[0].overdue)
    assert pool.spawned == 1
    pool.release(held)
    assert await waiting is held
    await pool.close()


async def test_a_successor_claimed_for_the_worker_goes_before_the_tries_waiting() -> None:
    pool, held = await busy_pool(max_size=1)
    queued = asyncio.ensure_future(pool.acquire())  # a try read from the queue
    await until(lambda: len(pool._waiters) == 1)
    successor = asyncio.ensure_future(pool.acquire(first=True))  # its upstream's finish claimed it
    await until(lambda: len(pool._waiters) == 2)
    pool.release(held)
    assert await successor is held
    assert not queued.done()
    pool.release(held)
    assert await queued is held
    await pool.close()


async def test_a_process_held_for_a_successor_serves_it_before_the_tries_waiting() -> None:
    pool, held = await busy_pool(max_size=1)
    queued = asyncio.ensure_future(pool.acquire())
    await until(lambda: len(pool._waiters) == 1)
    pool.release(held, hold_for="upstream-ref")  # its try's finish may claim a successor
    await asyncio.sleep(0)
    assert not queued.done()
    assert await pool.acquire(first=True, held="upstream-ref") is held  # the successor
    pool.release(held, hold_for="successor-ref")
    pool.unhold("successor-ref")  # no successor claimed: to the try waiting
    assert await queued is held
    await pool.close()


async def test_a_process_held_too_long_goes_back_to_the_pool() -> None:
    pool, held = await busy_pool(max_size=1)
    pool.release(held, hold_for="upstream-ref")
    assert pool._idle == []
    held.held_since -= HOLD_MAX_S + 1  # nothing took it or gave it back
    pool.retire_idle()
    assert pool._idle == [held]
    assert await pool.acquire(held="upstream-ref") is held  # (gone: any process serves)
    await pool.close()


async def test_a_cancelled_waiter_is_owed_nothing() -> None:
    pool, held = await busy_pool(max_size=4)
    waiting = asyncio.ensure_future(pool.acquire())
    await until(lambda: bool(pool._waiters))
    timer = pool._waiters[0].timer
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not pool._waiters
    assert timer is not None
    assert timer.cancelled()
    pool.release(held)
    assert pool._idle == [held]
    await pool.close()


async def test_released_tries_feed_the_durations() -> None:
    pool, held = await busy_pool(max_size=4)
    held.busy_since -= 10.0  # held 10 s longer than it was
    held.ran_s = 10.0  # as its "done" frame said
    pool.release(held)
    assert pool._durations.mean_s is not None
    assert pool._durations.mean_s >= 10.0
    assert held.busy_since == 0.0
    await pool.close()


async def test_a_pool_turning_over_does_not_grow_while_not_saturated() -> None:
    pool, held = await busy_pool(max_size=4)
    pool._durations.observe(0.036, 0.002)  # processes mostly wait for the worker
    pool._share = CpuShare(Cpus(1), "")
    first = asyncio.ensure_future(pool.acquire())
    await until(lambda: bool(pool._waiters))
    second = asyncio.ensure_future(pool.acquire())
    await until(lambda: len(pool._waiters) == 2)
    watched = pool._waiters[1]
    grace_began = watched.timer
    pool.release(held)  # a process came free during the second waiter's grace
    assert await first is held
    await until(lambda: watched.timer is not grace_began)  # its grace passed: another one
    assert not watched.overdue
    assert pool.spawned == 1
    await until(lambda: watched.overdue)  # nothing came free in that one: now it is owed
    process = await second
    assert process is not held
    assert pool.spawned == 2
    await pool.close()


def test_saturated_processes_that_come_free_get_no_company_on_a_busy_machine() -> None:
    def owed(released_meanwhile: bool, below_floor: bool = False) -> bool:
        return overdue(
            saturated=True,
            released_meanwhile=released_meanwhile,
            below_floor=below_floor,
            machine_busy=True,
        )

    assert not owed(released_meanwhile=True)  # it would only compete for the same CPUs
    assert owed(released_meanwhile=False)  # stuck behind long tries: still one of its own
    assert owed(released_meanwhile=True, below_floor=True)


class _Machine:
    def __init__(self, busy: bool) -> None:
        self.is_busy = busy

    def busy(self) -> bool:
        return self.is_busy


def pool_of(idle: int, floor: int, machine_busy: bool) -> FakePool:
    """A pool of ``idle`` idle stand-ins, growing to ``floor`` on waiting alone."""
    pool = FakePool(max_size=8)
    pool._idle = [fake_process() for _ in range(idle)]
    pool._size = idle
    pool._share = CpuShare(Cpus(floor), "")
    pool._machine = _Machine(machine_busy)  # type: ignore[assignment]
    return pool


async def test_past_one_process_per_cpu_an_idle_one_waits_while_the_cpus_are_busy() -> None:
    pool = pool_of(idle=2, floor=1, machine_busy=True)
    running = await pool.acquire()
    waiting = asyncio.ensure_future(pool.acquire())
    await until(lambda: bool(pool._waiters))  # not the idle one: it would only queue for CPUs
    pool.release(running)
    assert await waiting is running
    assert len(pool._idle) == 1
    assert pool.spawned == 0
    await pool.close()


async def test_an_idle_process_serves_at_once_when_the_cpus_are_not_all_busy() -> None:
    pool = pool_of(idle=2, floor=1, machine_busy=False)
    running = await pool.acquire()
    assert await pool.acquire() is not running  # saturated (nothing known yet), CPUs to spare
    await pool.close()


async def test_a_process_held_for_a_successor_counts_as_under_way() -> None:
    pool = pool_of(idle=2, floor=1, machine_busy=True)
    running = await pool.acquire()
    pool.release(running, hold_for="upstream-ref")  # its run goes on there
    waiting = asyncio.ensure_future(pool.acquire())
    await until(lambda: bool(pool._waiters))
    assert await pool.acquire(first=True, held="upstream-ref") is running
    pool.release(running)  # the run's last task: back to the try waiting
    assert await waiting is running
    await pool.close()


async def test_a_try_kept_from_an_idle_process_takes_it_when_nothing_comes_free() -> None:
    pool = pool_of(idle=2, floor=1, machine_busy=True)
    running = await pool.acquire()  # a long try: never released here
    waiting = asyncio.ensure_future(pool.acquire())
    served = await waiting  # its grace passed without a release: the idle one, no new process
    assert served is not running
    assert pool._idle == []
    assert pool.spawned == 0
    await pool.close()


async def test_a_process_handed_to_a_successor_is_no_stall_to_grow_for() -> None:
    pool, held = await busy_pool(max_size=4)
    pool._durations.observe(0.036, 0.002)  # not saturated: growth only for a stalled pool
    pool._share = CpuShare(Cpus(1), "")
    waiting = asyncio.ensure_future(pool.acquire())
    await until(lambda: bool(pool._waiters))
    watched = pool._waiters[0]
    grace_began = watched.timer
    pool.release(held, hold_for="upstream-ref")
    assert await pool.acquire(first=True, held="upstream-ref") is held  # the run went on
    await until(lambda: watched.timer is not grace_began)  # its grace passed: another one
    assert not watched.overdue
    assert pool.spawned == 1
    pool.release(held)
    assert await waiting is held
    await pool.close()
