"""Running one DAG run inside this process, without Redis: ``airlane dags test`` and ``dag.test()``.

It drives the same state machine and the same task runner as the distributed service, so a
DAG that passes ``dags test`` behaves the same on workers.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pendulum

from airlane.dag_loader.generation import file_written_for_airflow_2
from airlane.dag_loader.serialize import serialize_dag
from airlane.engine.graph import DagGraph
from airlane.engine.run_state import Step, TaskOutcome, TIKey, instance_summary
from airlane.engine.state_machine import RunMachine
from airlane.queue.protocol import validate_run_id
from airlane.scheduling.custom_timetable import manual_interval
from airlane.scheduling.timetables import manual_data_interval
from airlane.sdk.asset_runtime import use_asset_event_reader
from airlane.sdk.asset_schedule import AssetOrTimeSchedule
from airlane.sdk.dag import DAG
from airlane.sdk.exceptions import AirflowException, AirflowSkipException
from airlane.sdk.run_states import use_run_state_lookup
from airlane.sdk.run_types import check_operator_triggered
from airlane.sdk.schedules import describe_schedule
from airlane.sdk.secrets_masker import mask_text
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.sdk.state_store import InMemoryStateBackend, current_state_backend, use_state_backend
from airlane.sdk.timetable_base import DagRunType
from airlane.sdk.timetables import is_custom_timetable, is_timetable
from airlane.sdk.timezone import coerce_datetime, utcnow
from airlane.sdk.triggers.run_state_counter import using_state_counter
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.dag_callbacks import (
    LastTI,
    callback_context,
    dag_callbacks,
    last_ti,
    run_callbacks,
)
from airlane.service.execution.inline_trigger import run_inline
from airlane.service.execution.local_asset_events import LocalAssetEvents
from airlane.service.execution.local_run_states import LocalAsyncRunStates, LocalRunStates
from airlane.service.execution.runtime_ti import InMemoryXComs
from airlane.service.execution.task_runner import ExecutionEnv, TaskRequest, execute_task

#: (task label, line) -> None
LogSink = Callable[[str, str], None]
_RERUN_STATES = (TaskInstanceState.FAILED, TaskInstanceState.UPSTREAM_FAILED)


@dataclass
class LocalRunResult:
    dag_id: str
    run_id: str
    state: DagRunState
    tasks: dict[str, dict[str, Any]]
    logs: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "state": self.state.value,
            "tasks": self.tasks,
        }


def check_run_params(dag: DAG, conf: dict[str, Any]) -> None:
    """Refuse to create a run whose params do not validate, as Airflow's ``create_dagrun`` does
    (``dags test`` of a DAG with a required param and no ``conf`` creates no run and exits 1):
    the DAG's params with the run's ``conf`` on top, each checked against its schema."""
    dag.params.merged({k: v for k, v in conf.items() if k in dag.params}).validate()


def _identity_date(run: RunInfo) -> str:
    when = run.logical_date or run.run_after
    return when.isoformat() if when is not None else run.run_id


def make_run_info(
    dag: DAG,
    logical_date: datetime | None,
    conf: dict[str, Any],
    run_id: str | None,
    *,
    external_trigger: bool,
) -> RunInfo:
    """A manual run of ``dag``. ``external_trigger`` (Airflow 2's flag): False for the run that
    Airflow 2's ``dags test`` creates, True for one that TriggerDagRunOperator creates."""
    when = coerce_datetime(logical_date) or utcnow()
    start, end = when, when
    schedule = dag.schedule
    if isinstance(schedule, AssetOrTimeSchedule):  # Airflow: its time part infers the interval
        schedule = schedule.timetable
    if is_custom_timetable(schedule):  # as Airflow's dag.test(): the timetable infers it
        start, end = (pendulum.instance(d) for d in manual_interval(schedule, when))
    elif is_timetable(schedule):  # a trigger timetable's interval
        found = manual_data_interval(describe_schedule(schedule), when)
        if found is not None:
            start, end = (pendulum.instance(d) for d in found)
    return RunInfo(
        dag_id=dag.dag_id,
        run_id=validate_run_id(run_id or f"manual__{when.isoformat()}"),
        logical_date=when,
        data_interval_start=start,
        data_interval_end=end,
        conf=dict(conf),
        run_type="manual",
        start_date=utcnow(),
        external_trigger=external_trigger,
    )


class LocalLauncher:
    """TriggerDagRunOperator in ``dags test``: runs the target DAG here, to completion."""

    def __init__(
        self, lookup: Callable[[str], DAG | None], sink: LogSink, paused_at_creation: bool = True
    ) -> None:
        self.lookup = lookup
        self.sink = sink
        #: ``[core] dags_are_paused_at_creation`` (``is_paused``)
        self.paused_at_creation = paused_at_creation
        self.states: dict[tuple[str, str], DagRunState] = {}
        #: every run driven here, for ExternalTaskSensor (local_run_states.py)
        self.run_states = LocalRunStates(lookup)
        #: SubDagOperator's runs, kept so that a later try finds (and resumes) its run
        self.subruns: dict[tuple[str, str], LocalRun] = {}

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
        """Run the DAG here to its end; a run id driven here already runs again with
        ``reset_dag_run``, skips the task with ``skip_when_already_exists``, else fails it (as
        RedisRunLauncher.trigger). A run triggered for later (``run_after`` still to come) is
        left queued, not run; ``note`` has no reader here (a local run is not stored)."""
        dag = self.lookup(dag_id)
        if dag is None:
            raise LookupError(f"DAG {dag_id!r} not found for TriggerDagRunOperator")
        when = coerce_datetime(logical_date) if logical_date else run_after
        check_operator_triggered(dag_id, dag.allowed_run_types)
        check_run_params(dag, conf)
        run = make_run_info(dag, when, conf, run_id, external_trigger=True)
        run = replace(run, run_type=DagRunType.OPERATOR_TRIGGERED.value)
        if (dag_id, run.run_id) in self.states and not reset_dag_run:
            if skip_when_already_exists:
                raise AirflowSkipException(
                    f"Dag Run {run.run_id} of {dag_id} already exists, skipping task as "
                    "skip_when_already_exists is set to True."
                )
            raise AirflowException(
                f"Dag Run {run.run_id} of {dag_id} already exists, marking task as failed."
            )
        if run_after is not None and run_after.timestamp() > time.time():
            # created for later: as in Airflow's ``dags test``, nothing runs it meanwhile
            self.states[(dag_id, run.run_id)] = DagRunState.QUEUED
            return run.run_id
        local = LocalRun(dag, run, self.sink, self)
        self.run_states.add(local)
        result = await local.run()
        self.states[(dag_id, run.run_id)] = result.state
        return run.run_id

    async def wait(self, dag_id: str, run_id: str, poke_interval_s: float) -> DagRunState:
        state = self.states[(dag_id, run_id)]
        if state is DagRunState.QUEUED:
            raise AirflowException(
                f"Dag Run {run_id} of {dag_id} waits for its run_after: a local run of this "
                "DAG does not wait for it"
            )
        return state

    async def is_paused(self, dag_id: str) -> bool:
        """A local run (``dags test``) keeps no pause state: the DAG is paused when it would
        be created paused (its ``is_paused_upon_creation``, else ``[core]
        dags_are_paused_at_creation``), as a DAG that ``dags test`` met first is in Airflow."""
        dag = self.lookup(dag_id)
        if dag is None:
            raise LookupError(f"DAG {dag_id!r} not found for TriggerDagRunOperator")
        explicit = dag.is_paused_upon_creation
        return self.paused_at_creation if explicit is None else explicit

    # ---- SubDagOperator (sdk/operators/subdag.py): the sub-run runs here, to its end ----

    async def start_subdag_run(
        self, *, subdag: DAG, run_id: str, dag_run: Any, conf: dict[str, Any]
    ) -> DagRunState | None:
        key = (subdag.dag_id, run_id)
        if key in self.subruns:
            return self.subruns[key].machine.run_state()
        run = RunInfo(
            dag_id=subdag.dag_id,
            run_id=validate_run_id(run_id),
            logical_date=dag_run.logical_date,
            data_interval_start=dag_run.data_interval_start,
            data_interval_end=dag_run.data_interval_end,
            conf=dict(conf),
            run_type="scheduled",
            start_date=utcnow(),
            external_trigger=True,
        )
        self.subruns[key] = LocalRun(subdag, run, self.sink, self)
        self.run_states.add(self.subruns[key])
        await self.subruns[key].run()
        return None

    async def reset_failed(self, dag_id: str, run_id: str) -> None:
        await self.subruns[(dag_id, run_id)].rerun_failed()

    async def run_state(self, dag_id: str, run_id: str, within_s: float) -> DagRunState | None:
        sub = self.subruns.get((dag_id, run_id))
        return None if sub is None else sub.machine.run_state()

    async def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        machine = self.subruns[(dag_id, run_id)].machine
        return {k.task_id: r.state.value for k, r in machine.tis.items() if k.map_index < 0}


class LocalRun:
    """One run of ``dag`` driven to its end in this event loop."""

    def __init__(
        self,
        dag: DAG,
        run: RunInfo,
        sink: LogSink,
        launcher: Any = None,
        mark_success: re.Pattern[str] | None = None,
    ) -> None:
        self.dag = dag
        self.mark_success = mark_success
        self.run_info = run
        self.sink = sink
        self.launcher = launcher
        self.graph = DagGraph.from_serialized(serialize_dag(dag))
        self.machine = RunMachine(self.graph, ti_identity=f"{dag.dag_id}#{_identity_date(run)}")
        self.xcoms = InMemoryXComs(dag.dag_id, run.run_id)
        self.pending: deque[TIKey] = deque()
        self.running: dict[asyncio.Task[TaskOutcome], TIKey] = {}
        #: deferred tries' triggers, run inline (their result: the try's resume JSON)
        self.waiting: dict[asyncio.Task[str], tuple[TIKey, int]] = {}
        self.resumes: dict[TIKey, str] = {}
        #: the asset events of the tries that succeeded (a later task's inlet_events)
        self.asset_events = LocalAssetEvents.current_or_new()

    def _absorb(self, step: Step) -> None:
        self.pending.extend(step.ready)

    def _launch(self, key: TIKey) -> None:
        record = self.machine.tis[key]
        self.machine.task_started(key, record.try_number)
        spec = self.graph.tasks[key.task_id]
        label = key.label()
        marked = self.mark_success is not None and self.mark_success.fullmatch(key.task_id)
        if marked:
            # dag.test(mark_success_pattern=...): Airflow sets SUCCESS instead of running the try.
            self.sink(label, f"[DAG TEST] Marking success for {label}")
        if spec.is_empty or marked:
            outcome = TaskOutcome(TaskInstanceState.SUCCESS, record.try_number)
            if not marked:
                self._record_events(key, outcome)
            self._absorb(self.machine.task_finished(key, outcome, time.time()))
            return
        self.sink(label, f"--- try {record.try_number} of {label} ---")
        request = TaskRequest(
            run=self.run_info,
            key=key,
            try_number=record.try_number,
            max_tries=record.max_tries,
            reschedule_started_at_s=record.reschedule_started_at_s,
            resume_json=self.resumes.pop(key, ""),
        )
        env = ExecutionEnv(xcoms=self.xcoms, log=self._log_for(label), run_launcher=self.launcher)
        node = self.dag.task_dict[key.task_id]
        self.running[asyncio.ensure_future(execute_task(node, self.dag, request, env))] = key

    def _ended(self, future: asyncio.Future[Any]) -> None:
        """A try ended (a deferred one's trigger starts) or a trigger fired (its try resumes)."""
        if future in self.waiting:
            key, try_number = self.waiting.pop(future)
            self.resumes[key] = future.result()
            self.sink(key.label(), "[DAG TEST] Trigger completed")
            self._absorb(self.machine.task_resumed(key, try_number, time.time()))
            return
        key = self.running.pop(future)  # type: ignore[call-overload]
        outcome: TaskOutcome = future.result()
        if outcome.state is TaskInstanceState.SUCCESS:
            self._record_events(key, outcome)
        self._absorb(self.machine.task_finished(key, outcome, time.time()))
        if outcome.state is TaskInstanceState.DEFERRED and outcome.deferral is not None:
            self.sink(key.label(), "[DAG TEST] running trigger in line")
            waiting = asyncio.ensure_future(run_inline(outcome.deferral))
            self.waiting[waiting] = (key, outcome.try_number)

    def _record_events(self, key: TIKey, outcome: TaskOutcome) -> None:
        outlets = getattr(self.dag.task_dict[key.task_id], "outlets", None) or ()
        source = (self.dag.dag_id, self.run_info.run_id, key.task_id, key.map_index)
        self.asset_events.record(source, outcome.asset_events, outlets)

    def _log_for(self, label: str) -> Callable[[str], None]:
        def log(line: str) -> None:
            self.sink(label, mask_text(line))

        return log

    async def run(self) -> LocalRunResult:
        self._absorb(self.machine.start(time.time()))
        with use_asset_event_reader(self.asset_events):
            return await self._drive()

    async def rerun_failed(self) -> LocalRunResult:
        """Airflow's SubDagOperator on a failed sub-run: its failed and upstream-failed
        instances run again (the others keep their states), to the run's new end."""
        again = {k.task_id for k, r in self.machine.tis.items() if r.state in _RERUN_STATES}
        self._absorb(self.machine.clear(sorted(again), time.time()))
        with use_asset_event_reader(self.asset_events):
            return await self._drive()

    async def _drive(self) -> LocalRunResult:
        while True:
            while self.pending and len(self.running) < self.dag.max_active_tasks:
                self._launch(self.pending.popleft())
            if not self.pending and not self.running and not self.waiting:
                due = self.machine.next_due_s()
                if due is None or self.machine.run_state() is not DagRunState.RUNNING:
                    break
                await asyncio.sleep(max(0.0, due - time.time()))
                self._absorb(self.machine.tick(time.time()))
                continue
            due = self.machine.next_due_s()
            timeout = None if due is None else max(0.0, due - time.time())
            done, _ = await asyncio.wait(
                [*self.running, *self.waiting],
                timeout=timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for future in done:
                self._ended(future)
            self._absorb(self.machine.tick(time.time()))
        await self._dag_callbacks(self.machine.run_state())
        return self._result()

    async def _dag_callbacks(self, state: DagRunState) -> None:
        """As Airflow 3's ``dags test``: the DAG's callback once, when the run ends, in this
        process (a callback that raises is logged; the run's state stays)."""
        if state not in (DagRunState.SUCCESS, DagRunState.FAILED):
            return
        success = state is DagRunState.SUCCESS
        callbacks = dag_callbacks(self.dag, success)
        if not callbacks:
            return
        last = last_ti(
            LastTI(key.task_id, key.map_index, r.try_number, r.max_tries, r.state.value)
            for key, r in self.machine.tis.items()
        )
        reason = "success" if success else "task_failure"
        context = callback_context(self.dag, self.run_info, last, reason, self.xcoms)
        log = self._log_for(self.dag.dag_id)
        await asyncio.to_thread(run_callbacks, callbacks, context, log)

    def _result(self) -> LocalRunResult:
        tasks = {
            key.label(): instance_summary(record)
            for key, record in sorted(
                self.machine.tis.items(),
                key=lambda kv: (self.graph.tasks[kv[0].task_id].order, kv[0].map_index),
            )
        }
        return LocalRunResult(
            self.dag.dag_id, self.run_info.run_id, self.machine.run_state(), tasks
        )


def _print_sink(label: str, line: str) -> None:
    # One write per line: print() writes the newline apart, and tasks log from threads.
    sys.stdout.write(f"[{label}] {line}\n")
    sys.stdout.flush()


def run_dag_object(
    dag: DAG,
    *,
    logical_date: datetime | None = None,
    conf: dict[str, Any] | None = None,
    run_id: str | None = None,
    sink: LogSink = _print_sink,
    lookup: Callable[[str], DAG | None] | None = None,
    mark_success_pattern: str | None = None,
    run_after: datetime | None = None,
    paused_at_creation: bool = True,
) -> LocalRunResult:
    """Run ``dag`` once in a new event loop and return the result (blocking). Tasks whose id
    matches ``mark_success_pattern`` (whole id) succeed without running; ``run_after``: the
    run's (Airflow 3's dag.test; now when not given); ``paused_at_creation``: ``[core]
    dags_are_paused_at_creation``, which says whether a DAG it triggers is paused."""
    check_run_params(dag, conf or {})
    # Airflow 2's dags test creates a run that is not externally triggered; Airflow 3's
    # LatestOnlyOperator proceeds in it (a manual run), which external_trigger=True gives.
    external = not file_written_for_airflow_2(dag.fileloc)
    run = make_run_info(dag, logical_date, conf or {}, run_id, external_trigger=external)
    if run_after is not None:
        run = replace(run, run_after=coerce_datetime(run_after))
    launcher = LocalLauncher(
        lookup or (lambda dag_id: dag if dag_id == dag.dag_id else None), sink, paused_at_creation
    )
    marked = re.compile(mark_success_pattern) if mark_success_pattern is not None else None
    local = LocalRun(dag, run, sink, launcher, marked)
    launcher.run_states.add(local)
    # the state stores of this dags test (a nested run, TriggerDagRunOperator's, shares them)
    state = current_state_backend() or InMemoryStateBackend()
    with (
        use_run_state_lookup(launcher.run_states),
        using_state_counter(LocalAsyncRunStates(launcher.run_states)),
        use_state_backend(state),
    ):
        return asyncio.run(local.run())
