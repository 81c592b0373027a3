"""The coordinator's hooks and policies on plain data (no Redis)."""

from __future__ import annotations

from airlane.engine.graph import TaskSpec
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.scheduling.backfill import BackfillRunner, RunToClear
from airlane.sdk.state import DagRunState
from airlane.sdk.state import TaskInstanceState as S
from airlane.service.coordinator.hooks import Hooks, Policy
from airlane.service.coordinator.policies.auto_pause import failure_limit
from airlane.service.coordinator.policies.depends_on_past import instances_waited_on, lets_go
from airlane.service.coordinator.policies.timeouts import deadline_s
from airlane.service.coordinator.state import RunTI
from airlane.service.run_context import RunContext
from tests.unit.coordinator_sessions import add_run, offline_session
from tests.unit.graphs import graph


class _Recorder(Policy):
    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    async def periodic(self, now_s: float) -> None:
        self.calls.append(f"{self.name}.periodic")

    def wake_s(self) -> float | None:
        return {"a": 5.0, "b": None}.get(self.name, 3.0)


class _Holder(Policy):
    def holds_back(self, item: RunTI, spec: TaskSpec) -> bool:
        return item[0] == "held"


async def test_hooks_call_the_overriding_policies_in_order() -> None:
    calls: list[str] = []
    hooks = Hooks([_Recorder("a", calls), _Holder(), _Recorder("b", calls)])
    await hooks.periodic(0.0)
    await hooks.after_read()  # nobody overrides it
    assert calls == ["a.periodic", "b.periodic"]
    assert hooks.wake_s() == 5.0
    spec = graph({"t": []}).tasks["t"]
    assert hooks.holds_back(("held", TIKey("t")), spec)
    assert not hooks.holds_back(("free", TIKey("t")), spec)
    assert Hooks([]).wake_s() is None


def test_retries_wake_the_loop_when_an_instance_is_due() -> None:
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({"t": []}, t={"retries": 1, "retry_delay_s": 30.0}))
    ctx.machine.task_queued(TIKey("t"))
    ctx.machine.task_started(TIKey("t"), 1)
    step = ctx.machine.task_finished(TIKey("t"), TaskOutcome(S.FAILED, 1), 100.0)
    session.progress.after_step(ctx, step, 100.0)
    assert ctx.machine.tis[TIKey("t")].state is S.UP_FOR_RETRY
    assert session.hooks.wake_s() == 130.0
    session.retries.tick_due(129.0)
    assert ctx.machine.tis[TIKey("t")].state is S.UP_FOR_RETRY
    session.retries.tick_due(130.0)
    assert ctx.machine.tis[TIKey("t")].state is S.SCHEDULED
    assert session.hooks.wake_s() is None


def test_depends_on_past_holds_back_until_let_go() -> None:
    session = offline_session()
    g = graph({"t": ["down"], "down": []}, t={"depends_on_past": True})
    ctx = add_run(session, "d", "r", g)
    session.progress.drain_ready()
    item = (ctx.ref, TIKey("t"))
    assert item in session.state.past.waiting
    assert session.state.past.new
    assert "d" not in session.state.admission.waiting
    session.state.past.allowed.add(item)  # as a check finds the previous run done
    session.state.admission.ready.append(item)
    session.progress.drain_ready()
    assert [key for _, key in session.state.admission.waiting["d"]] == [TIKey("t")]
    assert not session.state.past.allowed


def test_the_instances_depends_on_past_waits_for() -> None:
    g = graph({"t": ["a", "b"], "a": [], "b": []}, t={"wait_for_downstream": True})
    spec = g.tasks["t"]
    assert instances_waited_on(spec, TIKey("t", 2)) == [TIKey("t", 2), TIKey("a"), TIKey("b")]
    plain = graph({"t": ["a"], "a": []}).tasks["t"]
    assert instances_waited_on(plain, TIKey("t")) == [TIKey("t")]
    assert lets_go(None)
    assert lets_go("success")
    assert lets_go("skipped")
    assert not lets_go("failed")
    assert not lets_go("running")


def _run_with_dag(**dag: object) -> RunContext:
    return add_run(offline_session(), "d", "r", graph({"t": []}), **dag)


def test_run_deadlines() -> None:
    ctx = _run_with_dag(dagrun_timeout_s=60)
    assert deadline_s(ctx, resumed=False, now_s=1000.0) == 1060.0
    ctx.fields["start_date"] = "900.0"
    assert deadline_s(ctx, resumed=True, now_s=1000.0) == 960.0
    assert deadline_s(_run_with_dag(), resumed=False, now_s=1000.0) is None


async def test_a_run_past_its_deadline_fails_and_skips_what_is_left() -> None:
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({"a": ["b"], "b": []}), dagrun_timeout_s=60)
    session.timeouts.run_activated(ctx, resumed=False, now_s=0.0)
    await session.timeouts.periodic(59.0)
    assert ctx.ref in session.state.runs.runs
    await session.timeouts.periodic(60.0)
    assert ctx.ref not in session.state.runs.runs
    assert ctx.state is DagRunState.FAILED
    assert {r.state for r in ctx.machine.tis.values()} == {S.SKIPPED}


async def test_a_timed_out_run_gives_back_its_slots() -> None:
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({"a": []}), dagrun_timeout_s=60)
    session.timeouts.run_activated(ctx, resumed=False, now_s=0.0)
    session.progress.drain_ready()
    session.admission.dispatch_touched()
    assert session.state.admission.held["d"] == 1
    await session.timeouts.periodic(60.0)
    assert session.state.admission.held["d"] == 0
    assert session.state.admission.pool_held["default_pool"] == 0
    assert {r.state for r in ctx.machine.tis.values()} == {S.SKIPPED}
    assert ctx.state is DagRunState.FAILED


def test_auto_pause_checks_dags_whose_run_failed() -> None:
    assert failure_limit({}) == 0
    assert failure_limit({"max_consecutive_failed_dag_runs": 3}) == 3
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({"t": []}), max_consecutive_failed_dag_runs=2)
    session.auto_pause.run_ended(ctx, DagRunState.SUCCESS, 0.0)
    assert not session.state.failure_checks
    session.auto_pause.run_ended(ctx, DagRunState.FAILED, 0.0)
    assert session.state.failure_checks == {"d"}
    plain = add_run(session, "e", "r", graph({"t": []}))
    session.auto_pause.run_ended(plain, DagRunState.FAILED, 0.0)
    assert session.state.failure_checks == {"d"}


class _FakeRunner(BackfillRunner):
    def __init__(self, to_clear: list[RunToClear]) -> None:
        self.to_clear = to_clear
        self.seen: set[str] = set()

    async def advance(self, unfinished: set[str]) -> list[RunToClear]:
        self.seen = set(unfinished)
        return self.to_clear


async def test_backfills_clear_the_runs_they_reprocess() -> None:
    session = offline_session()
    ctx = add_run(session, "d", "r", graph({"a": [], "b": []}))
    session.progress.after_step(ctx, ctx.machine.mark(TIKey("a"), S.SUCCESS, 1.0), 1.0)
    session.state.runs.queued_refs["d"] = {"d|later"}
    runner = _FakeRunner([RunToClear("d", "r", ("a", "gone"))])
    session.backfills.runner = runner
    session.backfills.wake()
    await session.backfills.after_read()
    assert runner.seen == {ctx.ref, "d|later"}
    assert not session.state.advance_backfills
    assert ctx.machine.tis[TIKey("a")].state is S.SCHEDULED  # cleared: it runs again
    await session.backfills.after_read()  # nothing changed since: no second advance
    assert ctx.machine.tis[TIKey("a")].state is S.SCHEDULED
