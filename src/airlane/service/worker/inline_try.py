"""A try run in the worker's own process (``AIRLANE_TASK_ISOLATION=inline``): trusted code only.

No process hop per try, but a task that exits, crashes, hangs at import or spins past its
timeout takes the worker down with it; task processes (``isolated_try``) are the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.queue.codec import dumps
from airlane.queue.keys import Keys
from airlane.queue.messages import TaskMessage
from airlane.sdk.connection_store import use_connection_store
from airlane.sdk.run_states import use_run_state_lookup
from airlane.sdk.state import TaskInstanceState
from airlane.sdk.variable import use_variable_store
from airlane.service.connections.redis_store import RedisConnectionStore
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.redis_run_states import RedisRunStateLookup
from airlane.service.execution.redis_variables import RedisVariableStore
from airlane.service.execution.redis_xcom import RedisXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task
from airlane.service.run_launcher import RedisRunLauncher
from airlane.service.worker.dag_cache import DagCache, DagNotLoadable
from airlane.service.worker.isolated_try import IsolatedResult
from airlane.service.worker.log_writer import TaskLogWriter


@dataclass(frozen=True, slots=True)
class InlineRunner:
    dags: DagCache
    sync_client: redis.Redis
    keys: Keys
    variables: RedisVariableStore
    launcher: RedisRunLauncher
    xcom_max_bytes: int
    connections: RedisConnectionStore

    async def run(
        self, msg: TaskMessage, info: RunInfo, logs: TaskLogWriter, resume_json: str = ""
    ) -> IsolatedResult:
        try:
            dag = await self.dags.get(msg.fileloc, msg.dag_id)
            node = dag.task_dict.get(msg.task_id)
            if node is None:
                raise DagNotLoadable(f"task {msg.task_id} is not in DAG {msg.dag_id} any more")
        except DagNotLoadable as err:
            logs.write(str(err))
            outcome = TaskOutcome(TaskInstanceState.FAILED, msg.try_number, error=str(err))
            return IsolatedResult(outcome, [], "")
        xcoms = RedisXComs(self.sync_client, self.keys, msg.dag_id, msg.run_id, msg.task_id)
        rendered: dict[str, Any] = {}
        request = TaskRequest(
            info,
            TIKey(msg.task_id, msg.map_index),
            msg.try_number,
            msg.max_tries,
            msg.reschedule_started_at_s,
            resume_json,
        )
        env = ExecutionEnv(
            xcoms=xcoms,
            log=logs.write,
            xcom_max_bytes=self.xcom_max_bytes,
            run_launcher=self.launcher,
            on_rendered=rendered.update,
        )
        runs = RedisRunStateLookup(self.sync_client, self.keys)
        with (
            use_variable_store(self.variables),
            use_connection_store(self.connections),
            use_run_state_lookup(runs),
        ):
            outcome = await execute_task(node, dag, request, env)
        return IsolatedResult(outcome, xcoms.pending_pairs(), dumps(rendered) if rendered else "")
