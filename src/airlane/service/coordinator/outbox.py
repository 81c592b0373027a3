"""The writes one pass collects, sent under the lease in calls of bounded size."""

from __future__ import annotations

from airlane.queue.keys import Keys
from airlane.queue.scripts import Batch, StreamRead
from airlane.queue.typed import StreamResponse, xreadgroup
from airlane.service.coordinator.lease import Lease
from airlane.service.coordinator.settings import CALL_OPS, MAX_BATCH_OPS
from airlane.service.run_context import Persister


class Outbox:
    """The pending batch and the records and metrics the persister holds for it.

    Always reach the batch through ``outbox.batch``: a flush replaces it.
    """

    def __init__(self, keys: Keys, lease: Lease) -> None:
        self.lease = lease
        self.persister = Persister(keys)
        self.batch = Batch()

    def full(self) -> bool:
        """Long batches write as they go, which also keeps the lease renewed."""
        return len(self.batch.ops) + len(self.persister.dirty) > MAX_BATCH_OPS

    async def flush(self) -> None:
        """Write the batch: in one call, or, when long, in calls of about CALL_OPS operations
        sent one after the other without waiting (Redis runs one while the next is encoded)."""
        batch, self.batch = self.batch, Batch()
        chunks = self.persister.write_chunks(batch, CALL_OPS)
        if len(batch) > CALL_OPS:
            await self.lease.apply_many(chunks)
            return
        for chunk in chunks:  # one, but for the metrics write_chunks adds to the batch
            if chunk:
                await self.lease.apply(chunk)

    async def flush_then_read(self, read: StreamRead) -> StreamResponse:
        """:meth:`flush`, then ``read``: in one round trip when the batch goes in one call (a
        long one is written first, in its calls, and the read follows)."""
        batch, self.batch = self.batch, Batch()
        chunks = self.persister.write_chunks(batch, CALL_OPS)
        if len(batch) > CALL_OPS:
            await self.lease.apply_many(chunks)
            chunks = iter(())
        for chunk in chunks:  # one, but for the metrics write_chunks adds to the batch
            if chunk:
                return await self.lease.apply_then_read(chunk, read)
        return await xreadgroup(
            self.lease.client,
            read.group,
            read.consumer,
            read.streams,
            count=read.count,
            block=read.block_ms,
        )
