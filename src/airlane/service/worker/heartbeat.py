"""A worker's heartbeats, from a thread of their own on a Redis connection of their own.

A busy event loop (a flood of log lines, a slow Redis call, a try being set up) must never make
a live worker look dead to the coordinator, which fails the tries of a silent worker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

import redis

from airlane.queue.codec import dumps
from airlane.queue.keys import Keys
from airlane.service.worker.cpu_share import CpuShare

log = logging.getLogger("airlane.worker")

#: a worker silent for this many of its beats no longer counts on its machine
MACHINE_SILENT_BEATS = 3.0


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    worker_id: str
    queues: tuple[str, ...]
    concurrency: int


class Heartbeat:
    """``running`` (the claim references of the tries running, as dict keys) is changed by the
    event loop only; the thread reads it whole (``refs``: one C-level copy under the GIL)."""

    def __init__(
        self,
        redis_url: str,
        keys: Keys,
        who: WorkerIdentity,
        interval_s: float,
        share: CpuShare | None = None,
    ) -> None:
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.keys = keys
        self.who = who
        self.interval_s = interval_s
        #: counts the live workers on this machine after each beat (``cpu_share``)
        self.share = share
        self.running: dict[str, None] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._forever, name="heartbeat", daemon=True)

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(self.running)

    def _describe(self) -> str:
        return dumps(
            {
                "worker_id": self.who.worker_id,
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "queues": list(self.who.queues),
                "concurrency": self.who.concurrency,
                "running": list(self.refs),
                "heartbeat_at": time.time(),
            }
        )

    def beat(self) -> None:
        """One heartbeat (blocking)."""
        now = time.time()
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.workers, self.who.worker_id, self._describe())
            pipe.zadd(self.keys.worker_beats, {self.who.worker_id: now})
            if self.share is not None:
                self._count_machine(pipe, self.share.machine, now)
            found = pipe.execute()
        if self.share is not None:
            self.share.workers_on_machine = max(1, int(found[-1]))

    def _count_machine(self, pipe: redis.client.Pipeline, machine: str, now: float) -> None:
        """Our beat on the machine's own set, the silent ones dropped (a worker that died
        stops counting after a few beats), then its size; the set expires with its workers."""
        key = self.keys.machine_workers(machine)
        pipe.zadd(key, {self.who.worker_id: now})
        pipe.zremrangebyscore(key, "-inf", now - MACHINE_SILENT_BEATS * self.interval_s)
        pipe.pexpire(key, max(1, int(MACHINE_SILENT_BEATS * self.interval_s * 1000)))
        pipe.zcard(key)

    def _forever(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.beat()
            except redis.RedisError as err:  # Redis restarting: the next beat retries
                log.debug("heartbeat failed: %r", err)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Blocking: the last beat is sent before this returns (deregistration comes after)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self.share is not None:  # the other workers of this machine share its CPUs again
            try:
                self.client.zrem(self.keys.machine_workers(self.share.machine), self.who.worker_id)
            except redis.RedisError:
                pass  # ages out of the set after a few beats
        self.client.close()
