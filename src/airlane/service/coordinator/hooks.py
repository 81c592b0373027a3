"""Named hooks through which the coordinator's policies act, in the spirit of dramatiq's
middleware: a policy overrides the hooks it needs, and the coordinator calls each hook on
every policy that overrides it, in the order the policies are listed.

Hook points, in the order of one loop pass:

- ``after_read()``: after each read of the streams (retries due, runs due, backfills...);
- ``periodic(now_s)``: about once a second, after the lease is renewed;
- ``run_seen(dag_id, run_id, fields, spec, now_s)``: a run is read to be started or held
  (queued behind max_active_runs or a pause), or rebuilt after a restart;
- ``run_activated(ctx, resumed, now_s)``: a run starts, or a restarted coordinator resumes it;
- ``after_step(ctx, step)``: the state machine took a step (its writes are on the batch);
- ``holds_back(item, spec)``: a ready instance may not go to the waiting line yet;
- ``run_ended(ctx, state, now_s)``: a run reached its end state at ``now_s`` (before it is
  written);
- ``wake_s()``: the earliest time a policy needs the loop awake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from airlane.engine.dag_spec import DagSpec
from airlane.engine.graph import TaskSpec
from airlane.engine.run_state import Step
from airlane.sdk.state import DagRunState
from airlane.service.coordinator.state import RunTI
from airlane.service.run_context import RunContext


class Policy:
    """A coordinator policy; every hook does nothing until overridden."""

    async def after_read(self) -> None:
        return None

    async def periodic(self, now_s: float) -> None:
        return None

    async def run_seen(
        self, dag_id: str, run_id: str, fields: Mapping[str, str], spec: DagSpec, now_s: float
    ) -> None:
        return None

    def run_activated(self, ctx: RunContext, resumed: bool, now_s: float) -> None:
        return None

    def after_step(self, ctx: RunContext, step: Step) -> None:
        return None

    def holds_back(self, item: RunTI, spec: TaskSpec) -> bool:
        return False

    def run_ended(self, ctx: RunContext, state: DagRunState, now_s: float) -> None:
        return None

    def wake_s(self) -> float | None:
        return None


def _overriding(policies: Sequence[Policy], hook: str) -> tuple[Policy, ...]:
    return tuple(p for p in policies if getattr(type(p), hook) is not getattr(Policy, hook))


class Hooks:
    """Calls each hook on the policies that override it (the rest cost nothing)."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self._after_read = _overriding(policies, "after_read")
        self._periodic = _overriding(policies, "periodic")
        self._run_seen = _overriding(policies, "run_seen")
        self._run_activated = _overriding(policies, "run_activated")
        self._after_step = _overriding(policies, "after_step")
        self._holds_back = _overriding(policies, "holds_back")
        self._run_ended = _overriding(policies, "run_ended")
        self._wake_s = _overriding(policies, "wake_s")

    async def after_read(self) -> None:
        for policy in self._after_read:
            await policy.after_read()

    async def periodic(self, now_s: float) -> None:
        for policy in self._periodic:
            await policy.periodic(now_s)

    async def run_seen(
        self, dag_id: str, run_id: str, fields: Mapping[str, str], spec: DagSpec, now_s: float
    ) -> None:
        for policy in self._run_seen:
            await policy.run_seen(dag_id, run_id, fields, spec, now_s)

    def run_activated(self, ctx: RunContext, resumed: bool, now_s: float) -> None:
        for policy in self._run_activated:
            policy.run_activated(ctx, resumed, now_s)

    def after_step(self, ctx: RunContext, step: Step) -> None:
        for policy in self._after_step:
            policy.after_step(ctx, step)

    def holds_back(self, item: RunTI, spec: TaskSpec) -> bool:
        for policy in self._holds_back:  # noqa: SIM110 (no generator: runs per ready instance)
            if policy.holds_back(item, spec):
                return True
        return False

    def run_ended(self, ctx: RunContext, state: DagRunState, now_s: float) -> None:
        for policy in self._run_ended:
            policy.run_ended(ctx, state, now_s)

    def wake_s(self) -> float | None:
        times = [t for t in (policy.wake_s() for policy in self._wake_s) if t is not None]
        return min(times) if times else None
