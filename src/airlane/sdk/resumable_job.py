"""Airflow 3.3's ``ResumableJobMixin`` (``airflow.sdk.bases.resumablejobmixin``): an operator
that submits one long job to another system and polls it reconnects to that job on a retry
instead of submitting it again.

The job's external id goes to ``task_state_store`` (under ``external_id_key``) right after the
submission; a later try of the same task instance reads it back and asks the system how the
job stands: still active, it polls it again; succeeded, it returns its result without
polling; anything else, it submits a fresh job. ``durable=False`` submits every try.

Airflow 3.3.2 returns what ``poll_until_complete`` returns when it reconnects to an active
job (its other paths return ``get_job_result``); Airlane returns ``get_job_result`` on every
path, so a reconnected try pushes the same result a first try does.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

log = logging.getLogger(__name__)


class ResumableJobMixin(ABC):
    """Mix into an operator and call ``execute_resumable(context)`` from its ``execute``."""

    #: the task_state_store key of the job's external id (renaming it strands running retries)
    external_id_key: str = "remote_job_id"

    def __init__(self, *, durable: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.durable = durable

    def execute_resumable(self, context: Any) -> Any:
        """Submit (or reconnect to) the job, wait for it, and return its result."""
        if not self.durable:
            return self._run(self.submit_job(context), context)
        store = context.get("task_state_store")
        if store is None:
            log.warning("task_state_store not in the context: this try cannot be resumed")
        else:
            known = store.get(self.external_id_key)
            if known:
                status = self.get_job_status(known, context)
                if self.is_job_active(status):
                    log.info("Reconnecting to job %s (%s: %s)", known, self.external_id_key, status)
                    return self._run(known, context)
                if self.is_job_succeeded(status):
                    log.info("Job %s already succeeded: not submitted again", known)
                    return self.get_job_result(known, context)
                log.warning("Job %s ended %s: submitting a fresh one", known, status)
        external_id = self.submit_job(context)
        if store is not None and external_id is not None:
            store.set(self.external_id_key, external_id)
        return self._run(external_id, context)

    def _run(self, external_id: Any, context: Any) -> Any:
        self.poll_until_complete(external_id, context)
        return self.get_job_result(external_id, context)

    @abstractmethod
    def submit_job(self, context: Any) -> Any:
        """Submit the job; its external id (a JSON value)."""

    @abstractmethod
    def get_job_status(self, external_id: Any, context: Any) -> str:
        """The job's status as the system names it."""

    @abstractmethod
    def is_job_active(self, status: str) -> bool:
        """Whether ``status`` is one of a job still running (or waiting to)."""

    @abstractmethod
    def is_job_succeeded(self, status: str) -> bool:
        """Whether ``status`` is that of a job that succeeded."""

    @abstractmethod
    def poll_until_complete(self, external_id: Any, context: Any) -> None:
        """Wait for the job to end; raise if it failed."""

    @abstractmethod
    def get_job_result(self, external_id: Any, context: Any) -> Any:
        """What the task returns (its XCom) once the job succeeded."""
