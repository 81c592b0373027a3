"""A coordinator session built without Redis, for tests of its parts on plain data.

Nothing here connects: the client is never used by the parts under test (they write to the
session's batch), and a test that reached Redis would fail at once on the closed port.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from airlane.engine.graph import DagGraph
from airlane.engine.state_machine import RunMachine
from airlane.queue.keys import Keys
from airlane.queue.store import Store
from airlane.scheduling.backfill import BackfillRunner
from airlane.scheduling.scheduler import Scheduler
from airlane.service.coordinator.lease import Lease
from airlane.service.coordinator.session import Session
from airlane.service.coordinator.settings import CoordinatorSettings
from airlane.service.run_context import RunContext

UNUSED_URL = "redis://127.0.0.1:1/0"


def offline_session() -> Session:
    client = aioredis.Redis.from_url(UNUSED_URL)
    keys = Keys("test:")
    store = Store(client, keys)
    return Session(
        CoordinatorSettings(UNUSED_URL),
        client,
        keys,
        Lease(client, keys, ttl_ms=10_000),
        Scheduler(store),
        BackfillRunner(store),
    )


def add_run(session: Session, dag_id: str, run_id: str, graph: DagGraph, **dag: Any) -> RunContext:
    """A running run of ``graph``, started (its first instances are ready), as activation
    leaves it."""
    fields = {
        "state": "running",
        "logical_date": "2026-01-01T00:00:00+00:00",
        "data_interval_start": "2026-01-01T00:00:00+00:00",
        "data_interval_end": "2026-01-01T00:00:00+00:00",
        "run_type": dag.pop("run_type", "manual"),
    }
    machine = RunMachine(graph, None, ti_identity=f"{dag_id}#{fields['logical_date']}")
    ctx = RunContext(dag_id, run_id, {"fileloc": "/dags/x.py", **dag}, graph, machine, fields)
    session.state.runs.runs[ctx.ref] = ctx
    session.progress.after_step(ctx, machine.start(0.0), 0.0)
    return ctx
