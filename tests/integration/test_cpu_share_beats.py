"""Workers count each other on their machine through their heartbeats (real redis-server), so
that each takes its share of the CPUs (service/worker/cpu_share.py)."""

from __future__ import annotations

import time

import redis

from airlane.queue.keys import Keys
from airlane.service.worker.cpu_share import Cpus, CpuShare
from airlane.service.worker.heartbeat import Heartbeat, WorkerIdentity
from tests.integration.cluster import RedisServer


def _worker(url: str, keys: Keys, worker_id: str, machine: str, interval_s: float) -> Heartbeat:
    share = CpuShare(Cpus(2), machine)
    return Heartbeat(url, keys, WorkerIdentity(worker_id, ("default",), 4), interval_s, share)


def test_workers_on_one_machine_share_its_cpus(clean_redis: RedisServer) -> None:
    keys = Keys()
    a = _worker(clean_redis.url, keys, "w-a", "boot-1", 60)
    b = _worker(clean_redis.url, keys, "w-b", "boot-1", 60)
    elsewhere = _worker(clean_redis.url, keys, "w-c", "boot-2", 60)
    try:
        for beat in (a, b, elsewhere):
            beat.beat()
        a.beat()
        assert a.share is not None
        assert b.share is not None
        assert elsewhere.share is not None
        assert (a.share.workers_on_machine, a.share.floor()) == (2, 1)
        assert b.share.workers_on_machine == 2
        assert (elsewhere.share.workers_on_machine, elsewhere.share.floor()) == (1, 2)
        b.stop()  # leaves the machine's set: a has both CPUs again at its next beat
        a.beat()
        assert (a.share.workers_on_machine, a.share.floor()) == (1, 2)
    finally:
        for beat in (a, elsewhere):
            beat.stop()


def test_a_silent_worker_stops_counting_and_the_set_expires(clean_redis: RedisServer) -> None:
    keys = Keys()
    interval_s = 0.5  # silent after 1.5 s: no stall of the test itself reads as a death
    live = _worker(clean_redis.url, keys, "w-live", "boot-1", interval_s)
    dead = _worker(clean_redis.url, keys, "w-dead", "boot-1", interval_s)
    try:
        dead.beat()  # then never again: as a worker SIGKILLed
        live.beat()
        assert live.share is not None
        assert live.share.workers_on_machine == 2
        deadline = time.monotonic() + 10
        while live.share.workers_on_machine != 1:
            assert time.monotonic() < deadline, "a silent worker kept counting"
            time.sleep(interval_s / 10)
            live.beat()  # its silence is measured in beats, as the coordinator's reaper does
        client = redis.Redis.from_url(clean_redis.url)
        ttl_ms = client.pttl(keys.machine_workers("boot-1"))
        client.close()
        assert 0 < ttl_ms <= 3 * interval_s * 1000  # no set outlives its workers
    finally:
        live.stop()
        dead.client.close()
