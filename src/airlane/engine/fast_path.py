"""The fast path's plan: which successors the finish script may queue on its own (pure).

When a try succeeds, the finish script (``queue/scripts/finish.py``) may queue one of its
task's successors at once, without waiting for the coordinator's pass (Airflow's "mini
scheduler"). It decides only what it can decide from what it sees, and the plan written at a
run's start (``service/coordinator/fast_path.py``) lists, per task, the successors it may look
at (:func:`plan`), each with its other upstream tasks, all of which must have succeeded.

A successor is in the plan only when the decision needs nothing the script cannot see:

- its trigger rule is met, at the earliest, when every upstream succeeded
  (:data:`DECIDABLE_RULES`): the coordinator cannot have decided it before the last
  upstream's completion, the one the script writes;
- nothing but its upstream tasks' states decides it: not mapped (nor in a mapped group, nor
  downstream of a mapped task), no setup or teardown, no depends_on_past or
  wait_for_downstream, no EmptyOperator (the coordinator finishes those itself);
- its limits cannot bind more than they do now: it takes the finishing try's slot (the same
  pool, the same pool_slots, the same DAG: the DAG's and the pool's counts do not change) and
  it has no max_active_tis_per_dag(run) of its own;
- it goes to the same queue as the finishing try (the script writes to that task stream).

Only one successor per finished try can take its slot; the others are left to the coordinator.
The worker that finished the try runs that successor itself when it can: the same script claims
it for that worker (RUN_HERE in ``queue/scripts/finish.py``), with no read or claim in between.
"""

from __future__ import annotations

from collections.abc import Mapping

from airlane.engine.graph import DagGraph, TaskSpec
from airlane.sdk.trigger_rule import TriggerRule

#: rules met, at the earliest, once every upstream succeeded (and then met)
DECIDABLE_RULES = frozenset(
    {
        TriggerRule.ALL_SUCCESS,
        TriggerRule.ALL_DONE,
        TriggerRule.NONE_FAILED,
        TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
        TriggerRule.NONE_SKIPPED,
    }
)
#: successors listed per task at most: the script looks at them in order, one takes the slot
MAX_CANDIDATES = 16

#: one candidate: the successor's task id and its upstream task ids other than the finisher's
Candidate = tuple[str, tuple[str, ...]]


def plain(graph: DagGraph, spec: TaskSpec) -> bool:
    """Whether ``spec`` is a task whose instance nothing but its upstream states decides."""
    return not (
        graph.expansion(spec.task_id) is not None
        or spec.is_setup
        or spec.is_teardown
        or spec.depends_on_past
        or spec.wait_for_downstream
        or spec.is_empty
    )


def may_take_slot(finished: TaskSpec, successor: TaskSpec) -> bool:
    """Whether ``successor`` can take the slot ``finished`` gives back, limits unchanged."""
    return (
        successor.pool == finished.pool
        and successor.pool_slots == finished.pool_slots
        and successor.queue == finished.queue
        and successor.max_active_tis_per_dag is None
        and successor.max_active_tis_per_dagrun is None
    )


def candidate(graph: DagGraph, finished: TaskSpec, successor: TaskSpec) -> Candidate | None:
    """``successor`` as the fast path may queue it when ``finished`` succeeds, or None."""
    if successor.trigger_rule not in DECIDABLE_RULES or not plain(graph, successor):
        return None
    if graph.indirect_setups.get(successor.task_id):
        # the setups its teardown waits for decide it too (setup_teardown.setup_constraint),
        # beyond its upstream tasks: the coordinator's call
        return None
    if not may_take_slot(finished, successor):
        return None
    upstream = [graph.tasks[t] for t in successor.upstream]
    if any(graph.expansion(up.task_id) is not None for up in upstream):
        return None
    others = tuple(up.task_id for up in upstream if up.task_id != finished.task_id)
    return successor.task_id, others


def plan(graph: DagGraph) -> dict[str, list[Candidate]]:
    """Per task whose success may queue a successor at once: its candidates, in order."""
    found: dict[str, list[Candidate]] = {}
    for spec in graph.tasks.values():
        if not plain(graph, spec):
            continue
        candidates = [
            c
            for c in (candidate(graph, spec, graph.tasks[d]) for d in spec.downstream)
            if c is not None
        ]
        if candidates:
            found[spec.task_id] = candidates[:MAX_CANDIDATES]
    return found


def admitted(
    candidates: list[Candidate], succeeded: frozenset[str], fresh: Mapping[str, bool]
) -> str | None:
    """The successor the script queues: the first candidate whose other upstream tasks all
    succeeded and whose instance is fresh (state none, as stored); None when there is none.
    (The Lua side, FAST_PATH in ``queue/scripts/finish.py``, makes the same choice.)"""
    for task_id, others in candidates:
        if fresh.get(task_id, False) and all(up in succeeded for up in others):
            return task_id
    return None
