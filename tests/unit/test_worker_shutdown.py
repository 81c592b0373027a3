"""A stopping worker starts no try: whatever starts after the drain began would outlive it."""

from __future__ import annotations

import asyncio

from airlane.queue.connection import connect
from airlane.queue.keys import Keys
from airlane.queue.messages import TaskMessage
from airlane.service.worker import TaskIsolation, Worker, WorkerSettings

#: nothing listens there: the test must not reach Redis
NOWHERE = "redis://127.0.0.1:9/0"


def _message() -> TaskMessage:
    return TaskMessage(
        dag_id="d",
        run_id="r",
        task_id="t",
        map_index=-1,
        try_number=1,
        max_tries=1,
        fileloc="/dags/d.py",
        logical_date="",
        data_interval_start="",
        data_interval_end="",
        run_type="manual",
        run_queued_at="",
        queued_at=0.0,
    )


async def test_a_message_recovered_during_the_drain_starts_no_try() -> None:
    """Housekeeping re-claims our idle pending messages and starts them; during the drain it
    could re-claim one just before its try handed itself back, and start it again after the
    drain had listed the tries to wait for. The event loop's shutdown then hung on that try
    (a worker that did not exit 30 s after SIGTERM)."""
    client = connect(NOWHERE)
    settings = WorkerSettings(NOWHERE, task_isolation=TaskIsolation.INLINE)
    worker = Worker(settings, client, Keys())
    try:
        await worker._drain()  # nothing runs: the drain is over at once
        worker._start(Keys().queue("default"), "1-0", _message().to_fields())
        assert not worker.running
    finally:
        for task in worker.running:
            task.cancel()
        await asyncio.gather(*worker.running, return_exceptions=True)
        worker.sync_client.close()
        await client.aclose()
