"""One tenure of the lease: the state and the parts that act on it, built in one place."""

from __future__ import annotations

import redis.asyncio as aioredis

from airlane.queue.keys import Keys
from airlane.queue.scripts import StreamRead
from airlane.queue.typed import StreamResponse
from airlane.scheduling.backfill import BackfillRunner
from airlane.scheduling.scheduler import Scheduler
from airlane.service.coordinator.admission import Admission
from airlane.service.coordinator.events import Events
from airlane.service.coordinator.fast_path import FastPath
from airlane.service.coordinator.hooks import Hooks
from airlane.service.coordinator.lease import Lease
from airlane.service.coordinator.outbox import Outbox
from airlane.service.coordinator.policies.assets import AssetTriggers
from airlane.service.coordinator.policies.auto_pause import AutoPause
from airlane.service.coordinator.policies.backfills import Backfills
from airlane.service.coordinator.policies.dag_callbacks import DagCallbacks
from airlane.service.coordinator.policies.deadlines import Deadlines
from airlane.service.coordinator.policies.depends_on_past import DependsOnPast
from airlane.service.coordinator.policies.retries import Retries
from airlane.service.coordinator.policies.run_after import RunAfter
from airlane.service.coordinator.policies.scheduling import Scheduling
from airlane.service.coordinator.policies.timeouts import Timeouts
from airlane.service.coordinator.progress import Progress
from airlane.service.coordinator.recovery import Recovery
from airlane.service.coordinator.runs import RunLoader
from airlane.service.coordinator.settings import CoordinatorSettings
from airlane.service.coordinator.state import SessionState


class Session:
    """What a coordinator holds while it holds the lease; dropped whole when it loses it.

    The parts reach each other through the session (``session.progress.after_step(...)``);
    the policies act through the hooks, called in the order listed here.
    """

    def __init__(
        self,
        settings: CoordinatorSettings,
        client: aioredis.Redis,
        keys: Keys,
        lease: Lease,
        scheduler: Scheduler,
        backfill_runner: BackfillRunner,
    ) -> None:
        self.settings = settings
        self.client = client
        self.keys = keys
        self.state = SessionState()
        self.outbox = Outbox(keys, lease)
        self.runs = RunLoader(self)
        self.admission = Admission(self)
        self.progress = Progress(self)
        self.events = Events(self)
        self.recovery = Recovery(self)
        self.retries = Retries(self)
        self.scheduling = Scheduling(self, scheduler)
        self.backfills = Backfills(self, backfill_runner)
        self.past = DependsOnPast(self)
        self.auto_pause = AutoPause(self, scheduler.store)
        self.timeouts = Timeouts(self)
        self.dag_callbacks = DagCallbacks(self)
        self.deadlines = Deadlines(self)
        self.assets = AssetTriggers(self)
        self.fast_path = FastPath(self)
        self.run_after = RunAfter(self)
        self.hooks = Hooks(
            [
                self.run_after,
                self.retries,
                self.scheduling,
                self.backfills,
                self.past,
                self.auto_pause,
                self.recovery,
                self.timeouts,
                self.dag_callbacks,
                self.deadlines,
                self.assets,
                self.fast_path,
            ]
        )

    async def flush(self) -> None:
        """Send the instances that have room, then write everything pending."""
        self.admission.dispatch_touched()
        await self.outbox.flush()

    async def flush_then_read(self, read: StreamRead) -> StreamResponse:
        """:meth:`flush`, then ``read``, in one round trip (Outbox.flush_then_read)."""
        self.admission.dispatch_touched()
        return await self.outbox.flush_then_read(read)

    async def flush_if_full(self) -> None:
        if self.outbox.full():
            await self.flush()
