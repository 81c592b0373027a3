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

log = logging.getLogger("airlane.worker")


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    worker_id: str
    queues: tuple[str, ...]
    concurrency: int


class Heartbeat:
    """``running`` (the claim references of the tries running, as dict keys) is changed by the
    event loop only; the thread reads it whole (``refs``: one C-level copy under the GIL)."""

    def __init__(self, redis_url: str, keys: Keys, who: WorkerIdentity, interval_s: float) -> None:
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.keys = keys
        self.who = who
        self.interval_s = interval_s
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
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.workers, self.who.worker_id, self._describe())
            pipe.zadd(self.keys.worker_beats, {self.who.worker_id: time.time()})
            pipe.execute()

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
        self.client.close()
