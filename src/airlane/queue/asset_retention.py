"""What leaves the asset store with a run, a DAG or age (``asset*`` keys in queue/keys.py).

As Airflow's tables:
- a run removed (deleted, or by retention): its tries' ``asset_event_sources`` entries (their
  dedupe records) go, and it leaves the ``created_dagruns`` of the events it consumed (Airflow's
  ``dagrun_asset_event`` rows go with their dag_run). The events themselves stay: Airflow's
  ``asset_event`` has no foreign key to the run that produced it.
- a DAG deleted: its declarations (``asset_deps``: Airflow's schedule, outlet and inlet
  references), its queued events (``asset_queue``: AssetDagRunQueue, whose target_dag_id
  cascades) and its latest asset-triggered run date go. Other DAGs' entries are not touched.
- ``db clean`` (and the coordinator's retention): events whose timestamp is before the cutoff
  go with their links, as Airflow's ``db clean`` cleans ``asset_event`` by ``timestamp``; the
  registry of assets and aliases stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis.asyncio as aioredis

from airlane.queue.asset_records import EventSource, parse_queue_field
from airlane.queue.keys import Keys

#: fields given to one HDEL
CHUNK = 1000
#: events looked at per asset and round trip while cleaning
EVENTS_PAGE = 500

# KEYS: asset_event_runs. ARGV: run ref, then event ids.
# Each event's run refs (one a line) lose the run's; an event left with none loses its field.
UNLINK_RUN = """
for i = 2, #ARGV do
  local refs = redis.call('HGET', KEYS[1], ARGV[i])
  if refs then
    local kept = {}
    for ref in string.gmatch(refs, '[^\\n]+') do
      if ref ~= ARGV[1] then kept[#kept + 1] = ref end
    end
    if #kept == 0 then redis.call('HDEL', KEYS[1], ARGV[i])
    else redis.call('HSET', KEYS[1], ARGV[i], table.concat(kept, '\\n')) end
  end
end
return 0
"""


def source_fields(dag_id: str, run_id: str, last_tries: Mapping[tuple[str, int], int]) -> list[str]:
    """The ``asset_event_sources`` fields every try of the run can have written."""
    return [
        EventSource(dag_id, run_id, task_id, map_index, n).idempotency_field()
        for (task_id, map_index), last in sorted(last_tries.items())
        for n in range(1, last + 1)
    ]


def consumed_ids(raw: str | None) -> list[int]:
    """The ids of the events a run consumed (its hash's ``asset_events``: their references)."""
    if not raw:
        return []
    try:
        return sorted({int(ref["id"]) for ref in orjson.loads(raw)})
    except (ValueError, TypeError, KeyError):
        return []  # a malformed record: its links stay rather than guessed


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def forget_run_assets(
    pipe: Any,
    keys: Keys,
    ref: str,
    fields: Sequence[str],
    consumed: Sequence[int],
) -> None:
    """Queue on ``pipe`` (a redis pipeline) the removal of run ``ref``'s asset entries: its
    tries' ``fields`` (:func:`source_fields`), its links from the events it ``consumed``."""
    for part in chunks(fields):
        pipe.hdel(keys.asset_event_sources, *part)
    if consumed:
        pipe.eval(UNLINK_RUN, 1, keys.asset_event_runs, ref, *consumed)


async def forget_dag_assets(client: aioredis.Redis, pipe: Any, keys: Keys, dag_id: str) -> None:
    """Queue on ``pipe`` the removal of DAG ``dag_id``'s asset entries (its queued events read
    with ``client`` first)."""
    queued = [
        field
        for field in cast(list[str], await client.hkeys(keys.asset_queue))
        if parse_queue_field(field)[0] == dag_id
    ]
    pipe.hdel(keys.asset_deps, dag_id)
    pipe.hdel(keys.asset_triggered, dag_id)
    for part in chunks(queued):
        pipe.hdel(keys.asset_queue, *part)


@dataclass(frozen=True, slots=True)
class EventCleaning:
    """Which events ``clean_events`` removes: timestamp before ``before_us``; with ``dag_ids``
    only those some listed DAG produced; never those of an excluded DAG."""

    before_us: int
    dag_ids: frozenset[str] | None = None
    exclude_dag_ids: frozenset[str] = frozenset()
    dry_run: bool = False
    #: stop after this many (housekeeping's bounded batch); None: no limit
    max_events: int | None = None

    def wanted(self, event: Mapping[str, Any]) -> bool:
        source = event.get("source_dag_id")
        if self.dag_ids is not None and source not in self.dag_ids:
            return False
        return source not in self.exclude_dag_ids


async def clean_events(client: aioredis.Redis, keys: Keys, request: EventCleaning) -> int:
    """Remove (with ``dry_run`` only count) the events before the cutoff, with their links."""
    asset_ids = sorted(int(i) for i in cast(list[str], await client.hkeys(keys.asset_ids)))
    found = 0
    for asset_id in asset_ids:
        limit = None if request.max_events is None else request.max_events - found
        if limit is not None and limit <= 0:
            break
        found += await _clean_asset(client, keys, asset_id, request, limit)
    return found


async def _clean_asset(
    client: aioredis.Redis, keys: Keys, asset_id: int, request: EventCleaning, limit: int | None
) -> int:
    index = keys.asset_events_of(asset_id)
    found = 0
    offset = 0
    while limit is None or found < limit:
        page = cast(
            list[str],
            await client.zrangebyscore(
                index, "-inf", f"({request.before_us}", start=offset, num=EVENTS_PAGE
            ),
        )
        if not page:
            break
        bodies = cast(list[str | None], await client.hmget(keys.asset_events, page))
        doomed = [
            event_id
            for event_id, body in zip(page, bodies, strict=True)
            if body is None or request.wanted(orjson.loads(body))
        ]
        if limit is not None:
            doomed = doomed[: limit - found]
        found += len(doomed)
        if request.dry_run or not doomed:
            offset += len(page)
            continue
        async with client.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.asset_events, *doomed)
            pipe.hdel(keys.asset_event_runs, *doomed)
            pipe.zrem(keys.asset_event_index, *doomed)
            pipe.zrem(index, *doomed)
            await pipe.execute()
        offset += len(page) - len(doomed)
    return found
