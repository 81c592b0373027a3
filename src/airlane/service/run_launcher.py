"""TriggerDagRunOperator and SubDagOperator on workers: create the run in Redis and, if asked,
wait for its end (the coordinator runs it as any other run)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from airlane.queue.asset_runs import run_id_without_logical_date
from airlane.queue.protocol import InvalidRunId
from airlane.queue.store import DagNotFound, RunExists, RunRequest, Store
from airlane.scheduling.custom_timetable import TimetableError
from airlane.scheduling.manual_runs import manual_interval
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import AirflowException, AirflowSkipException
from airlane.sdk.run_types import check_operator_triggered
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.sdk.timetable_base import DagRunType
from airlane.sdk.timezone import coerce_datetime, utcnow

#: how often a waiting SubDagOperator reads its sub-run's state
POLL_S = 0.2
#: how long a reset of a failed sub-run may take the coordinator to apply
RESET_WAIT_S = 30.0


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
        reset_dag_run: bool = False,
        run_after: datetime | None = None,
        note: str | None = None,
    ) -> str:
        """Create the run (Airflow's TriggerDagRun). One that exists already is cleared whole
        and runs again with ``reset_dag_run``, skips the task with ``skip_when_already_exists``,
        else fails it (Airflow 3.3's task runner and API client, in that order). ``run_after``:
        the run stays queued until then; without a logical date it is also the run's."""
        when = coerce_datetime(logical_date) if logical_date else (run_after or utcnow())
        assert when is not None
        dag = await self.store.dag(dag_id)
        check_operator_triggered(dag_id, (dag or {}).get("allowed_run_types"))
        if not run_id and not logical_date and run_after is not None:
            # Airflow leaves such a run without a logical date, its id random-suffixed (two
            # triggers for the same time do not collide)
            run_id = run_id_without_logical_date("manual", run_after)
        run_id = run_id or f"manual__{when.isoformat()}"
        try:
            start, end = await manual_interval(self.store, dag_id, when)
        except TimetableError as err:
            raise AirflowException(f"TriggerDagRunOperator: {dag_id}: {err}") from None
        try:
            await self.store.create_run(
                RunRequest(
                    dag_id,
                    run_id,
                    when,
                    start,
                    end,
                    conf,
                    run_type=DagRunType.OPERATOR_TRIGGERED.value,  # (Airflow 3.2+)
                    note=note,
                    run_after=run_after,
                )
            )
        except InvalidRunId as err:
            raise AirflowException(f"TriggerDagRunOperator: {err}") from None
        except DagNotFound:
            raise AirflowException(f"TriggerDagRunOperator: DAG {dag_id!r} not found") from None
        except RunExists:
            if reset_dag_run:
                await self._reset(dag_id, run_id)
                return run_id
            if skip_when_already_exists:
                raise AirflowSkipException(
                    f"Dag Run {run_id} of {dag_id} already exists, skipping task as "
                    "skip_when_already_exists is set to True."
                ) from None
            raise AirflowException(
                f"Dag Run {run_id} of {dag_id} already exists, marking task as failed."
            ) from None
        return run_id

    async def is_paused(self, dag_id: str) -> bool:
        return await self.store.is_paused(dag_id)

    async def _reset(self, dag_id: str, run_id: str) -> None:
        """Clear the whole run, then wait for the coordinator to reopen it when it had ended
        (the clear is a command it applies on its loop): a wait for its end that followed at
        once would read the end of its previous pass."""
        before = await self.store.run(dag_id, run_id) or {}
        dag = await self.store.dag(dag_id) or {}
        await self.store.clear(dag_id, run_id, [t["task_id"] for t in dag.get("tasks", [])])
        if before.get("state") not in (DagRunState.SUCCESS, DagRunState.FAILED):
            return
        deadline_s = time.monotonic() + RESET_WAIT_S
        while time.monotonic() < deadline_s:
            run = await self.store.run(dag_id, run_id) or {}
            if run.get("state") not in (DagRunState.SUCCESS, DagRunState.FAILED):
                return
            if run.get("generation") != before.get("generation"):
                return  # reopened and ended again already
            await asyncio.sleep(POLL_S / 4)
        raise AirflowException(
            f"Dag Run {run_id} of {dag_id} was not reset within {RESET_WAIT_S} s"
        )

    async def wait(self, dag_id: str, run_id: str, poke_interval_s: float) -> DagRunState:
        while True:
            run = await self.store.run(dag_id, run_id)
            state = (run or {}).get("state")
            if state in ("success", "failed"):
                return DagRunState(state)
            await asyncio.sleep(min(poke_interval_s, 1.0))

    # ---- SubDagOperator (sdk/operators/subdag.py) ------------------------------------------

    async def start_subdag_run(
        self, *, subdag: DAG, run_id: str, dag_run: Any, conf: dict[str, Any]
    ) -> DagRunState | None:
        request = RunRequest(
            subdag.dag_id,
            run_id,
            dag_run.logical_date,
            dag_run.data_interval_start,
            dag_run.data_interval_end,
            conf,
            run_type="scheduled",
        )
        try:
            await self.store.create_run(request)
        except DagNotFound:
            raise AirflowException(f"SubDagOperator: DAG {subdag.dag_id!r} not found") from None
        except RunExists:
            run = await self.store.run(subdag.dag_id, run_id)
            return DagRunState((run or {}).get("state") or DagRunState.QUEUED)
        return None

    async def reset_failed(self, dag_id: str, run_id: str) -> None:
        """Clear the failed and upstream-failed instances, then wait for the coordinator to
        take the run up again (the clear is a command it applies on its loop)."""
        tis = await self.store.task_instances(dag_id, run_id)
        failed = (TaskInstanceState.FAILED, TaskInstanceState.UPSTREAM_FAILED)
        again = sorted(
            {task_id for (task_id, _), (record, _) in tis.items() if record.state in failed}
        )
        await self.store.clear(dag_id, run_id, again)
        deadline_s = time.monotonic() + RESET_WAIT_S
        while time.monotonic() < deadline_s:
            run = await self.store.run(dag_id, run_id)
            if (run or {}).get("state") != DagRunState.FAILED:
                return
            await asyncio.sleep(POLL_S)

    async def run_state(self, dag_id: str, run_id: str, within_s: float) -> DagRunState | None:
        deadline_s = time.monotonic() + within_s
        while True:
            run = await self.store.run(dag_id, run_id)
            state = (run or {}).get("state")
            done = state in (DagRunState.SUCCESS, DagRunState.FAILED)
            if done or run is None or time.monotonic() >= deadline_s:
                return DagRunState(state) if state else None
            await asyncio.sleep(min(POLL_S, max(0.0, deadline_s - time.monotonic())))

    async def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        tis = await self.store.task_instances(dag_id, run_id)
        return {
            task_id: record.state.value
            for (task_id, index), (record, _) in tis.items()
            if index < 0
        }
