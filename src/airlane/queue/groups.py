"""Consumer groups on the streams, shared by the services that read them.

The coordinator reads the completion and command streams in its group, workers read the task
streams in theirs; each creates its group at start, and a group that already exists is kept.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import ResponseError


async def ensure_group(client: aioredis.Redis, stream: str, group: str) -> None:
    """Create ``group`` on ``stream`` (and the stream) reading from the start, unless it exists."""
    try:
        await client.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as err:
        if "BUSYGROUP" not in str(err):
            raise
