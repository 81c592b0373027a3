"""TriggerDagRunOperator on workers: create the run in Redis and, if asked, wait for its end."""

from __future__ import annotations

import asyncio
from typing import Any

from airlane.queue.protocol import InvalidRunId
from airlane.queue.store import DagNotFound, RunExists, RunRequest, Store
from airlane.sdk.exceptions import AirflowException, AirflowSkipException
from airlane.sdk.state import DagRunState
from airlane.sdk.timezone import coerce_datetime, utcnow


class RedisRunLauncher:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def trigger(
        self,
        *,
        dag_id: str,
        run_id: str | None,
        conf: dict[str, Any],
        logical_date: Any,
        skip_when_already_exists: bool = False,
        **_: Any,
    ) -> str:
        when = coerce_datetime(logical_date) if logical_date else utcnow()
        assert when is not None
        run_id = run_id or f"manual__{when.isoformat()}"
        try:
            await self.store.create_run(
                RunRequest(dag_id, run_id, when, when, when, conf, run_type="manual")
            )
        except InvalidRunId as err:
            raise AirflowException(f"TriggerDagRunOperator: {err}") from None
        except DagNotFound:
            raise AirflowException(f"TriggerDagRunOperator: DAG {dag_id!r} not found") from None
        except RunExists:
            if skip_when_already_exists:
                raise AirflowSkipException(f"run {run_id} of {dag_id} exists already") from None
            raise AirflowException(f"run {run_id} of {dag_id} exists already") from None
        return run_id

    async def wait(self, dag_id: str, run_id: str, poke_interval_s: float) -> DagRunState:
        while True:
            run = await self.store.run(dag_id, run_id)
            state = (run or {}).get("state")
            if state in ("success", "failed"):
                return DagRunState(state)
            await asyncio.sleep(min(poke_interval_s, 1.0))
