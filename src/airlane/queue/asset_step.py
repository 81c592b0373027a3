"""A try's asset events and the consumer runs they make ready, in one round trip: the
coordinator's path from a producer's end to its consumers' runs (scripts/asset_step.py).

The coordinator plans from what it holds, reading nothing first: the DAGs' declarations, the
assets' records, each consumer's previous asset-triggered run and the runs going per DAG.

- Which events: a try's events of registered assets that came through no alias (others take
  the full path: ``assets.record_events`` then ``asset_runs.create_ready_runs``).
- Which runs: a consumer whose condition the step's events meet by themselves, under its
  max_active_runs. Conditions only combine with and/or, so it is ready whatever else is queued;
  when Redis holds nothing else for it (no queued row, no unconsumed event of its assets, the
  previous run as known: the script checks) its run is the one the full path makes: run_after
  is the step's time and it takes the step's events of its assets. Otherwise the script leaves
  it queued and ``Taken.look`` asks for the full look.
- A consumer newly queued and not planned (its condition names an alias, or needs other
  assets) asks for the full look too; one held back by max_active_runs waits for the end of
  one of its runs, as in the full path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

import orjson

from airlane.engine.asset_condition import evaluate
from airlane.queue.asset_records import (
    AssetRecord,
    DagAssets,
    EmittedEvent,
    EventSource,
    event_body,
    iso_now,
    iso_us,
    queue_field,
)
from airlane.queue.asset_registry import condition_refs
from airlane.queue.asset_runs import CreatedRun, ReadyConsumer, new_run_call, triggering_refs
from airlane.queue.keys import run_ref
from airlane.queue.scripts import AssetStep, CreateAssetRun, Scripts, StepEvent, StepRun


@dataclass(frozen=True, slots=True)
class Consumers:
    """Who reacts to which asset: the DAGs' conditions indexed once (per change of the DAGs),
    not walked per event."""

    #: dag_id -> the (asset names, alias names) its condition names
    refs: Mapping[str, tuple[frozenset[str], frozenset[str]]]
    #: asset name -> the DAGs whose condition names it
    by_asset: Mapping[str, frozenset[str]]
    #: alias name -> the DAGs whose condition names it
    by_alias: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, deps: Mapping[str, DagAssets]) -> Consumers:
        refs = {d: condition_refs(dag.condition) for d, dag in deps.items() if dag.condition}
        by_asset: dict[str, set[str]] = {}
        by_alias: dict[str, set[str]] = {}
        for dag_id, (names, alias_names) in refs.items():
            for name in names:
                by_asset.setdefault(name, set()).add(dag_id)
            for alias in alias_names:
                by_alias.setdefault(alias, set()).add(dag_id)
        return cls(
            refs,
            {n: frozenset(d) for n, d in by_asset.items()},
            {a: frozenset(d) for a, d in by_alias.items()},
        )

    def of_asset(self, name: str, aliases: Mapping[str, Set[str]]) -> set[str]:
        """The DAGs scheduled on the asset, or on an alias that resolved to it
        (``assets.consumers_of``)."""
        found = set(self.by_asset.get(name, ()))
        for alias, dag_ids in self.by_alias.items():
            if name in aliases.get(alias, ()):
                found |= dag_ids
        return found


@dataclass(frozen=True, slots=True)
class Known:
    """What the planner goes by (the coordinator holds it)."""

    deps: Mapping[str, DagAssets]
    consumers: Consumers
    #: asset name -> its record and its stored JSON
    records: Mapping[str, tuple[AssetRecord, str]]
    #: consumer dag_id -> run_after of its latest asset-triggered run
    previous: Mapping[str, str]
    #: runs going per DAG (running or queued), as max_active_runs counts them
    going: Mapping[str, int]
    #: alias name -> the asset names it resolved to (the aliases conditions name)
    aliases: Mapping[str, Set[str]]


@dataclass(frozen=True, slots=True)
class Plan:
    step: AssetStep
    #: each planned run's call, in the step's order (its hash without ``asset_events``)
    calls: tuple[CreateAssetRun, ...]


@dataclass(frozen=True, slots=True)
class Taken:
    #: 1 done; 0 the try's events were recorded before; -1 an asset's record is not the
    #: planner's (nothing written for either)
    done: int
    #: each run made, with its DAG's content hash
    made: tuple[tuple[CreatedRun, str], ...] = ()
    #: the full look is due: a planned run was not made, or a consumer no planned run takes
    #: was queued now
    look: bool = False
    #: a planned run was not made (its consumer stays queued): Redis was not as planned
    missed: bool = False


def plan(known: Known, emitted: Sequence[EmittedEvent], source: EventSource) -> Plan | None:
    """The step for ``emitted`` (None: not for this path, see the module's description)."""
    if any(e.source_alias_names or e.asset.name not in known.records for e in emitted):
        return None
    now = iso_now()
    records = [known.records[e.asset.name][0] for e in emitted]
    consumers = [sorted(known.consumers.of_asset(r.name, known.aliases)) for r in records]
    #: consumer dag_id -> asset name -> positions of the step's events of it
    queued: dict[str, dict[str, list[int]]] = {}
    for position, (record, dag_ids) in enumerate(zip(records, consumers, strict=True)):
        for dag_id in dag_ids:
            queued.setdefault(dag_id, {}).setdefault(record.name, []).append(position)
    runs: list[tuple[CreateAssetRun, StepRun]] = []
    looks = set()
    for dag_id, by_name in queued.items():
        dag = known.deps[dag_id]
        if not _alone(known, dag, set(by_name)):
            looks.add(dag_id)
        elif not known.going.get(dag_id, 0) >= dag.max_active_runs > 0:
            runs.append(_run(known, dag, by_name, now))
    events = []
    for event, record, dag_ids in zip(emitted, records, consumers, strict=True):
        body = event_body(record, event, source, [], now)
        rows = [(d, queue_field(d, record.name), d in looks) for d in dag_ids]
        events.append(StepEvent(body, record.id, iso_us(now), now, rows, _ref(body)))
    names = sorted({r.name for r in records})
    step = AssetStep(
        source.idempotency_field(),
        [(name, known.records[name][1]) for name in names],
        events,
        [run for _, run in runs],
    )
    return Plan(step, tuple(call for call, _ in runs))


def _alone(known: Known, dag: DagAssets, names: Set[str]) -> bool:
    """Whether the step's assets alone make ``dag`` ready (and the script can check the rest)."""
    cond_names, alias_names = known.consumers.refs[dag.dag_id]
    if dag.condition is None or alias_names or not cond_names <= known.records.keys():
        return False
    return evaluate(dag.condition, names, {})


def _run(
    known: Known, dag: DagAssets, by_name: Mapping[str, Sequence[int]], now: str
) -> tuple[CreateAssetRun, StepRun]:
    cond_names = known.consumers.refs[dag.dag_id][0]
    fresh = tuple(queue_field(dag.dag_id, name) for name in sorted(by_name))
    absent = [queue_field(dag.dag_id, name) for name in sorted(cond_names - by_name.keys())]
    call = new_run_call(dag, ReadyConsumer(dag.dag_id, now, fresh), [], False)
    previous = known.previous.get(dag.dag_id, "")
    run = StepRun(
        dag.dag_id,
        call.run_id,
        call.logical_date_s,
        {k: v for k, v in call.run_hash.items() if k != "asset_events"},
        fresh,
        absent,
        previous,
        iso_us(previous) if previous else None,
        sorted(known.records[name][0].id for name in cond_names),
        sorted(p for positions in by_name.values() for p in positions),
        call.run_after,
    )
    return call, run


def _ref(body: str) -> str:
    """The event's entry in a run's ``asset_events`` (triggering_refs), without its leading
    ``{"id":N,``, as its body is stored."""
    (ref,) = triggering_refs([{"id": 0, **orjson.loads("{" + body)}])
    return orjson.dumps({k: v for k, v in ref.items() if k != "id"}).decode()[1:]


async def take(scripts: Scripts, planned: Plan) -> Taken:
    """Run the step; the runs made, each with its whole hash as written."""
    done, ids, answers, look = await scripts.asset_step(planned.step)
    if done != 1:
        return Taken(done)
    made = []
    missed = False
    for call, run, answer in zip(planned.calls, planned.step.runs, answers, strict=True):
        if answer == "":
            missed = True
        elif answer != "-":
            refs = ",".join(f'{{"id":{ids[p]},{planned.step.events[p].ref}' for p in run.events)
            run_hash = {**call.run_hash, "asset_events": f"[{refs}]"}
            made.append((CreatedRun(run_ref(call.dag_id, call.run_id), run_hash), answer))
    return Taken(done, tuple(made), look or missed, missed)
