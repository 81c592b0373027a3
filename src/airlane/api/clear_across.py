"""Clearing across DAGs through ExternalTaskMarker (engine/external_markers.py has the rules),
for the API's clears and ``airlane tasks clear``.

A marker's template fields are rendered here, in the API process, against its run: the
context has the run's dates and ids (``logical_date``, ``execution_date``, ``ds``, ``ts``...,
``data_interval_*``, ``run_id``, ``dag_run``) and ``macros``; the DAG's own macros and filters
are code the API never imports, so a template that needs them is refused with a clear error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2
import jinja2.sandbox

from airlane.api.errors import ApiError
from airlane.engine.external_markers import DepthGuard, MarkerSpec, RecursionTooDeep, markers_among
from airlane.engine.graph import clear_subset
from airlane.engine.run_state import TIRecord
from airlane.queue.codec import TIMeta
from airlane.queue.store import Store
from airlane.sdk import macros
from airlane.sdk.timezone import coerce_datetime

TIs = dict[tuple[str, int], tuple[TIRecord, TIMeta]]
StateFilter = Callable[[TIRecord], bool]


class ClearRefused(Exception):
    """A marker that cannot be followed: its fields do not render, its DAG is gone, or the
    chain is deeper than ``recursion_depth``."""


@dataclass
class RunClear:
    """One run's instances to clear."""

    dag: dict[str, Any]
    run: dict[str, str]
    chosen: TIs


def _context(run: dict[str, str]) -> dict[str, Any]:
    when = coerce_datetime(run.get("logical_date") or None)  # none: an asset run
    context: dict[str, Any] = {
        "run_id": run.get("run_id"),
        "dag_run": run,
        "macros": macros,
        "data_interval_start": coerce_datetime(run.get("data_interval_start") or None),
        "data_interval_end": coerce_datetime(run.get("data_interval_end") or None),
    }
    if when is not None:
        context.update(
            logical_date=when,
            execution_date=when,
            ds=when.strftime("%Y-%m-%d"),
            ds_nodash=when.strftime("%Y%m%d"),
            ts=when.isoformat(),
            ts_nodash=when.strftime("%Y%m%dT%H%M%S"),
        )
    return context


def render_marker(marker: MarkerSpec, run: dict[str, str]) -> tuple[str, str, datetime]:
    """(external DAG id, external task id, logical date) of ``marker`` in ``run``."""
    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    context = _context(run)
    try:
        dag_id, task_id, raw_date = (
            env.from_string(value).render(context)
            for value in (marker.external_dag_id, marker.external_task_id, marker.logical_date)
        )
        when = coerce_datetime(raw_date)
    except (jinja2.TemplateError, ValueError) as err:
        raise ClearRefused(
            f"ExternalTaskMarker {marker.task_id}: its fields cannot be rendered for run "
            f"{run.get('run_id')} here ({err}); the API renders them with the run's dates and "
            "ids only",
        ) from None
    if when is None:
        raise ClearRefused(f"ExternalTaskMarker {marker.task_id}: no logical date")
    return dag_id, task_id, when


class MarkerWalk:
    """Follows the markers of the runs asked to clear into the DAGs they mark."""

    def __init__(self, store: Store, keep: StateFilter) -> None:
        self.store = store
        self.keep = keep
        self.guard = DepthGuard()
        self.visited: set[tuple[str, str, str]] = set()
        self.found: dict[tuple[str, str], RunClear] = {}

    async def follow(self, start: list[RunClear]) -> list[RunClear]:
        """The runs of other DAGs to clear too (merged per run), in the order first met."""
        try:
            for one in start:
                await self._walk(one, 0)
        except RecursionTooDeep as err:
            raise ClearRefused(str(err)) from None
        return list(self.found.values())

    async def _walk(self, one: RunClear, depth: int) -> None:
        dag_id, run_id = one.run["dag_id"], one.run["run_id"]
        for marker in markers_among(one.dag, {task_id for task_id, _ in one.chosen}):
            if (dag_id, run_id, marker.task_id) in self.visited:
                continue
            self.visited.add((dag_id, run_id, marker.task_id))
            self.guard.check(marker, depth)
            target_dag, target_task, when = render_marker(marker, one.run)
            for target in await self._targets(target_dag, target_task, when):
                await self._walk(target, depth + 1)

    async def _targets(self, dag_id: str, task_id: str, when: datetime) -> list[RunClear]:
        """Each run of ``dag_id`` at ``when`` with instances of ``task_id``: that task and its
        downstream, as far as the state filter keeps them."""
        found: list[RunClear] = []
        dag: dict[str, Any] | None = None
        for run_id in await self.store.run_ids_at(dag_id, when):
            tis = await self.store.task_instances(dag_id, run_id)
            run = await self.store.run(dag_id, run_id)
            if run is None or not any(t == task_id for t, _ in tis):
                continue
            dag = dag or await self.store.dag(dag_id)
            if dag is None:
                raise ClearRefused(f"Could not find dag {dag_id}")
            if any(t["task_id"] == task_id for t in dag.get("tasks", [])):
                subset = clear_subset(dag, {task_id}, upstream=False, downstream=True)
            else:  # an instance of a task its DAG no longer has: that instance alone
                subset = {task_id}
            chosen = {k: v for k, v in tis.items() if k[0] in subset and self.keep(v[0])}
            target = RunClear(dag, run, chosen)
            self._merge(target)
            found.append(target)
        return found

    def _merge(self, target: RunClear) -> None:
        key = (target.run["dag_id"], target.run["run_id"])
        if key in self.found:
            self.found[key].chosen.update(target.chosen)
        else:
            self.found[key] = RunClear(target.dag, target.run, dict(target.chosen))


def merge_runs(first: list[RunClear], more: list[RunClear]) -> list[RunClear]:
    """``first`` then ``more``, one entry per run (a marker may lead back to a run asked for)."""
    by_run = {(c.run["dag_id"], c.run["run_id"]): c for c in first}
    result = list(first)
    for extra in more:
        known = by_run.get((extra.run["dag_id"], extra.run["run_id"]))
        if known is not None:
            known.chosen.update(extra.chosen)
        else:
            result.append(extra)
    return result


async def with_marked(store: Store, clears: list[RunClear], keep: StateFilter) -> list[RunClear]:
    """``clears`` and what their markers clear in other DAGs (one entry per run); a marker that
    cannot be followed is the API's 400."""
    try:
        return merge_runs(clears, await MarkerWalk(store, keep).follow(clears))
    except ClearRefused as err:
        raise ApiError(400, str(err)) from None
