"""The redis-server a benchmark measures against: tests' ``RedisServer`` at the CPU priority
``airlane standalone`` gives its own Redis (``AIRLANE_REDIS_PRIORITY``, normal by default,
realtime when asked and permitted; service/redis_priority.py says why), so that the figures
are the standalone's.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.integration.cluster import RedisServer

from airlane.service.redis_priority import PriorityOutcome, apply_priority, priority_from_env


def start_redis(work: Path) -> tuple[RedisServer, PriorityOutcome]:
    """A started redis-server with its data under ``work``, and the priority it runs at."""
    redis = RedisServer(work / "redis", appendfsync="everysec")
    redis.start()
    assert redis.proc is not None
    outcome = apply_priority(redis.proc.pid, priority_from_env(os.environ))
    print(f"redis-server at {outcome.describe()} CPU priority", flush=True)
    return redis, outcome
