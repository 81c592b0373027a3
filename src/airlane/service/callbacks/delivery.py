"""The arq job that delivers one DAG callback (or a dead try's task callback): its user code
in a child process with a time limit, retried with backoff (arq's ``Retry``) while tries
remain, its outcome in the run's events (``callback``: ``done``, or ``failed`` after the last
try) and the role's log.

Delivery is at least once, deduplicated by job id: a job that completed is never run again
(arq keeps its result under the job id and refuses the id while it does); a job whose worker
was killed mid-call is run again once arq's in-progress mark expires, so a callback with a
side effect may see it twice if the kill came after the side effect and before the result.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, replace
from typing import Any

import orjson
import redis.asyncio as aioredis
from arq import Retry
from arq.constants import in_progress_key_prefix

from airlane.queue import typed
from airlane.queue.events_protocol import CallbackEvent, CallbackOutcome
from airlane.queue.keys import Keys
from airlane.queue.messages import EVENTS_MAXLEN
from airlane.queue.store import Store
from airlane.queue.task_callback_jobs import CallbackJob, TaskCallbackJob
from airlane.service.callbacks.callback_process import ERROR_MAX_CHARS, CallbackRequest
from airlane.service.callbacks.child import run_child
from airlane.service.callbacks.in_progress import renewing
from airlane.service.callbacks.request import RunGone, build_request

log = logging.getLogger("airlane.callbacks")

CHILD_MODULE = "airlane.service.callbacks.callback_process"
#: arq marks a job in progress for its whole timeout (+10 s): a job of a killed role waits
#: that long to run again. Here the mark lasts IN_PROGRESS_S and the role renews it every
#: RENEW_S from the first line of ``deliver`` to its last, so a killed role's job runs again
#: within IN_PROGRESS_S. A mark that lapses while the role still works on the job lets the job
#: run twice at once: the margin (8 s without a renewal) covers a loaded host's stalls of the
#: event loop, and the kill-and-rerun stays within ten seconds.
IN_PROGRESS_S = 10.0
RENEW_S = 2.0
#: how long the positions of a job's delivered callbacks are kept (arq keeps its result so long)
DONE_KEPT_S = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    redis_url: str
    dags_folder: str | None
    #: the interpreter that imports the DAG file and calls its callbacks (the services', where
    #: the packages DAG files import are installed; this role's own has arq's redis-py)
    child_python: str = sys.executable
    timeout_s: float = 60.0
    max_tries: int = 4
    retry_delay_s: float = 5.0

    def backoff_s(self, job_try: int) -> float:
        """The delay before try ``job_try + 1``: doubled after each try."""
        return float(self.retry_delay_s * 2 ** (job_try - 1))


class Delivery:
    def __init__(self, settings: DeliverySettings, client: aioredis.Redis, keys: Keys) -> None:
        self.settings = settings
        self.client = client
        self.keys = keys
        self.store = Store(client, keys)

    async def deliver(self, job: CallbackJob, job_try: int) -> str:
        """Run the job once; raise arq's Retry while tries remain, else report it failed.
        The job's in-progress mark is renewed all along (arq removes it when it returns)."""
        key = in_progress_key_prefix + job.job_id
        async with renewing(self.client, key, IN_PROGRESS_S, RENEW_S):
            return await self._deliver(job, job_try)

    async def _deliver(self, job: CallbackJob, job_try: int) -> str:
        if job_try > self.settings.max_tries:
            # its last try was cut short (the role was killed during it)
            cut = f"its last try (of {self.settings.max_tries}) did not finish"
            await self._event(job, CallbackOutcome.FAILED, job_try - 1, cut)
            return "failed"
        try:
            error = await self._attempt(job)
        except RunGone as err:
            log.warning("%s: %s; callback dropped", job.job_id, err)
            return "gone"
        if error is None:
            log.info("%s of %s/%s done (try %s)", job.kind.value, job.dag_id, job.run_id, job_try)
            await self._event(job, CallbackOutcome.DONE, job_try)
            return "done"
        if job_try < self.settings.max_tries:
            delay_s = self.settings.backoff_s(job_try)
            log.warning(
                "%s try %s failed (%s); retrying in %.1fs", job.job_id, job_try, error, delay_s
            )
            raise Retry(defer=delay_s)
        log.error("%s failed after %s tries: %s", job.job_id, job_try, error)
        await self._event(job, CallbackOutcome.FAILED, job_try, error)
        return "failed"

    async def _attempt(self, job: CallbackJob) -> str | None:
        """Call the callbacks an earlier try did not deliver; the error, None if none."""
        done_key = self.keys.callbacks_done(job.job_id)
        skip = frozenset(int(i) for i in await typed.smembers(self.client, done_key))
        request = await build_request(
            self.store, job, self.settings.redis_url, self.settings.dags_folder, skip
        )
        request = replace(request, done_key=done_key, done_ttl_s=DONE_KEPT_S)
        done, error = await self._call(request)
        if done:
            await self.client.sadd(done_key, *(str(position) for position in done))
            await self.client.expire(done_key, DONE_KEPT_S)
        return error

    async def _call(self, request: CallbackRequest) -> tuple[list[int], str | None]:
        """Run the callbacks in a child process: the positions of those that returned, and
        the error (None when all of them returned)."""
        argv = [self.settings.child_python, "-m", CHILD_MODULE, "{fd}"]
        outcome = await run_child(argv, request.encode(), self.settings.timeout_s)
        if outcome is None:
            return [], f"timed out after {self.settings.timeout_s:g}s"
        return _error_of(*outcome)

    async def _event(
        self, job: CallbackJob, outcome: CallbackOutcome, tries: int, error: str = ""
    ) -> None:
        error = error[:ERROR_MAX_CHARS]
        event = CallbackEvent(job.dag_id, job.run_id, job.kind.value, outcome, tries, error)
        if isinstance(job, TaskCallbackJob):
            event = replace(
                event, task_id=job.task_id, map_index=job.map_index, try_number=job.try_number
            )
        fields: Any = event.to_fields()
        await self.client.xadd(self.keys.events, fields, maxlen=EVENTS_MAXLEN, approximate=True)


def _error_of(raw: bytes, returncode: int | None) -> tuple[list[int], str | None]:
    if not raw:
        return [], f"the callback process exited with {returncode} without a result"
    try:
        result = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return [], f"the callback process exited with {returncode} and an unreadable result"
    if result.get("fatal"):
        return [], str(result["fatal"])
    errors = result.get("errors") or []
    done = [int(i) for i in result.get("done") or ()]
    return done, "; ".join(str(e) for e in errors) or None
