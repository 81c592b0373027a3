"""The fast path's decision (engine/fast_path.py), and a model of the whole protocol: random
DAGs, random interleavings of finish scripts (which may queue a successor), coordinator reads,
dispatches and flushes end in the states the state machine reaches alone, no try twice."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from airlane.engine import fast_path
from airlane.engine.run_state import TaskOutcome, TIKey
from airlane.engine.state_machine import RunMachine
from airlane.queue.protocol import TryFinished
from airlane.queue.scripts.finish import FINISH_MANY
from airlane.sdk.state import DagRunState, TaskInstanceState
from airlane.service.coordinator.fast_path import parse_fast, plan_fields
from tests.unit.graphs import graph

S = TaskInstanceState


def test_a_chain_plans_each_successor() -> None:
    g = graph({"a": ["b"], "b": ["c"], "c": []})
    assert fast_path.plan(g) == {"a": [("b", ())], "b": [("c", ())]}


def test_a_join_lists_the_other_upstreams() -> None:
    g = graph({"a": ["j"], "b": ["j"], "j": []})
    assert fast_path.plan(g) == {"a": [("j", ("b",))], "b": [("j", ("a",))]}


def test_decidable_rules_only() -> None:
    rules = ["all_success", "all_done", "none_failed", "none_failed_min_one_success"]
    rules += ["none_skipped", "one_success", "one_failed", "one_done", "all_failed"]
    rules += ["all_skipped", "always"]
    edges: dict[str, list[str]] = {"a": [f"t{i}" for i in range(len(rules))]}
    edges.update({f"t{i}": [] for i in range(len(rules))})
    per_task = {f"t{i}": {"trigger_rule": rule} for i, rule in enumerate(rules)}
    planned = {t for t, _ in fast_path.plan(graph(edges, **per_task))["a"]}
    assert planned == {f"t{i}" for i in range(5)}


def test_what_the_script_cannot_decide_is_left_out() -> None:
    excluded = {
        "pool": {"pool": "other"},
        "slots": {"pool_slots": 2},
        "queue": {"queue": "gpu"},
        "per_dag": {"max_active_tis_per_dag": 1},
        "per_run": {"max_active_tis_per_dagrun": 1},
        "past": {"depends_on_past": True},
        "wait": {"wait_for_downstream": True},
        "setup": {"is_setup": True},
        "teardown": {"is_teardown": True},
        "empty": {"is_empty": True},
        "mapped": {"mapped": {"kind": "product", "inputs": [{"name": "x", "length": 2}]}},
    }
    edges: dict[str, list[str]] = {"a": [*excluded, "ok"], "ok": []}
    edges.update({name: [] for name in excluded})
    planned = fast_path.plan(graph(edges, **excluded))
    assert planned == {"a": [("ok", ())]}


def test_a_mapped_upstream_keeps_its_successors_out() -> None:
    mapped = {"mapped": {"kind": "product", "inputs": [{"name": "x", "length": 2}]}}
    g = graph({"a": ["j"], "m": ["j"], "j": []}, m=mapped)
    assert fast_path.plan(g) == {}


def test_candidates_are_capped() -> None:
    n = fast_path.MAX_CANDIDATES + 5
    edges: dict[str, list[str]] = {"root": [f"x{i:02d}" for i in range(n)]}
    edges.update({f"x{i:02d}": [] for i in range(n)})
    assert len(fast_path.plan(graph(edges))["root"]) == fast_path.MAX_CANDIDATES


def test_admitted_takes_the_first_fresh_candidate_whose_upstreams_succeeded() -> None:
    candidates = [("j", ("b",)), ("k", ()), ("l", ())]
    assert fast_path.admitted(candidates, frozenset(), {"j": True, "k": True}) == "k"
    assert fast_path.admitted(candidates, frozenset({"b"}), {"j": True}) == "j"
    assert fast_path.admitted(candidates, frozenset({"b"}), {"j": False, "l": True}) == "l"
    assert fast_path.admitted(candidates, frozenset(), {}) is None


def test_plan_fields_and_the_completion_field() -> None:
    fields = plan_fields(graph({"a": ["j"], "b": ["j"], "j": []}))
    assert fields == {"a|-1": '[["j|-1",["b|-1"]]]', "b|-1": '[["j|-1",["a|-1"]]]'}
    assert parse_fast("j|-1|3") == (TIKey("j"), 3)
    assert parse_fast("a|b|-1|1") == (TIKey("a|b"), 1)
    assert parse_fast("nonsense") is None


# ---- the protocol, modelled ------------------------------------------------------------------


@dataclass
class World:
    """One run: the coordinator's machine, what Redis holds (as of the last flush, plus what
    finish scripts wrote), the task stream, the completions stream and the workers' tries."""

    machine: RunMachine
    outcomes: dict[tuple[str, int], S]
    fast_on: bool
    stored: dict[TIKey, tuple[S, int]] = field(default_factory=dict)
    flushed: dict[TIKey, tuple[S, int]] = field(default_factory=dict)
    stored_run: DagRunState = DagRunState.RUNNING
    queue: list[tuple[TIKey, int]] = field(default_factory=list)
    outbox: list[tuple[TIKey, int]] = field(default_factory=list)
    completions: list[tuple[str, TIKey, int, S | None, tuple[TIKey, int] | None]] = field(
        default_factory=list
    )
    ready: list[TIKey] = field(default_factory=list)
    running: list[tuple[TIKey, int]] = field(default_factory=list)
    claims: dict[TIKey, int] = field(default_factory=dict)
    executed: list[tuple[TIKey, int]] = field(default_factory=list)
    fast_taken: int = 0
    #: what the coordinator's machine was fed, in order (fast-path takeovers aside)
    log: list[tuple[str, TIKey, int, S | None, float]] = field(default_factory=list)

    def flush(self) -> None:
        """The records changed since the last flush (the persister writes only those)."""
        now = {k: (r.state, r.try_number) for k, r in self.machine.tis.items()}
        self.stored.update({k: v for k, v in now.items() if self.flushed.get(k) != v})
        self.flushed = now
        self.stored_run = self.machine.run_state()
        self.queue += self.outbox
        self.outbox.clear()

    def dispatch(self) -> None:
        for key in self.ready:
            record = self.machine.tis[key]
            if record.state is S.SCHEDULED:
                self.machine.task_queued(key)
                self.outbox.append((key, record.try_number))
        self.ready.clear()

    def claim(self, rng: random.Random) -> None:
        key, try_number = self.queue.pop(rng.randrange(len(self.queue)))
        if self.stored.get(key) == (S.QUEUED, try_number) and self.claims.get(key, 0) < try_number:
            self.claims[key] = try_number
            self.running.append((key, try_number))
            self.executed.append((key, try_number))
            self.completions.append(("started", key, try_number, None, None))

    def finish(self, rng: random.Random) -> None:
        key, try_number = self.running.pop(rng.randrange(len(self.running)))
        state = self.outcomes[(key.task_id, try_number)]
        current = self.stored[key] in ((S.QUEUED, try_number), (S.RUNNING, try_number))
        fast = self.script(key) if self.fast_on and state is S.SUCCESS and current else None
        self.completions.append(("finished", key, try_number, state, fast))

    def script(self, key: TIKey) -> tuple[TIKey, int] | None:
        """FAST_PATH in queue/scripts/finish.py, on this model's Redis."""
        if self.stored_run is not DagRunState.RUNNING:
            return None
        candidates = fast_path.plan(self.machine.graph).get(key.task_id, [])
        succeeded = frozenset(k.task_id for k, (s, _) in self.stored.items() if s is S.SUCCESS)
        fresh = {
            t: self.stored[TIKey(t)][0] is S.NONE
            and self.claims.get(TIKey(t), 0) <= self.stored[TIKey(t)][1]
            for t, _ in candidates
        }
        chosen = fast_path.admitted(candidates, succeeded, fresh)
        if chosen is None:
            return None
        successor = TIKey(chosen)
        try_number = self.stored[successor][1] + 1
        self.stored[successor] = (S.QUEUED, try_number)
        self.queue.append((successor, try_number))
        return successor, try_number

    def read(self, now: float) -> None:
        kind, key, try_number, state, fast = self.completions.pop(0)
        m = self.machine
        self.log.append((kind, key, try_number, state, now))
        if kind == "started":
            m.task_started(key, try_number)
            return
        assert state is not None
        self.ready += m.task_finished(key, TaskOutcome(state, try_number), now).ready
        if fast is not None:  # service/coordinator/fast_path.py's FastPath.taken
            successor, fast_try = fast
            record = m.tis[successor]
            assert record.try_number == fast_try
            assert record.state is S.SCHEDULED
            m.task_queued(successor)
            self.fast_taken += 1


def play(g: Any, outcomes: dict[tuple[str, int], S], fast_on: bool, seed: int) -> World:
    rng = random.Random(seed)
    world = World(RunMachine(g), outcomes, fast_on)
    world.ready += world.machine.start(0.0).ready
    world.flush()
    now = 0.0
    for _ in range(100_000):
        moves = [world.flush, world.dispatch]
        if world.queue:
            moves.append(lambda: world.claim(rng))
        if world.running:
            moves.append(lambda: world.finish(rng))
        if world.completions:
            moves.append(lambda at=now: world.read(at))
        idle = not (world.queue or world.running or world.completions or world.ready)
        if idle and not world.outbox:
            due = world.machine.next_due_s()
            if due is None:
                break
            now = max(now + 1, due)
            world.log.append(("tick", TIKey(""), 0, None, now))
            world.ready += world.machine.tick(now).ready
            continue
        rng.choice(moves)()
        now += 0.001
    else:
        raise AssertionError("the run did not end")
    return world


@st.composite
def cases(draw: Any) -> tuple[Any, dict[tuple[str, int], S], int]:
    n = draw(st.integers(min_value=1, max_value=9))
    names = [f"t{i}" for i in range(n)]
    edges: dict[str, list[str]] = {name: [] for name in names}
    for j in range(n):
        for i in range(j):
            if draw(st.booleans()) and draw(st.booleans()):
                edges[names[i]].append(names[j])
    rules = ["all_success", "all_success", "all_done", "none_failed", "one_success", "one_failed"]
    per_task = {
        name: {
            "trigger_rule": draw(st.sampled_from(rules)),
            "retries": draw(st.integers(0, 1)),
            "retry_delay_s": 0.0,
        }
        for name in names
    }
    states = st.sampled_from([S.SUCCESS, S.SUCCESS, S.SUCCESS, S.FAILED, S.SKIPPED])
    outcomes = {(name, t): draw(states) for name in names for t in (1, 2)}
    return graph(edges, **per_task), outcomes, draw(st.integers(0, 2**32 - 1))


def alone(g: Any, log: list[tuple[str, TIKey, int, S | None, float]]) -> RunMachine:
    """The state machine alone, fed the same starts, ends and ticks in the same order, each
    instance queued by the coordinator as soon as it is ready."""
    m = RunMachine(g)
    m.start(0.0)
    for kind, key, try_number, state, now in log:
        if kind == "tick":
            m.tick(now)
        elif kind == "started":
            if m.tis[key].state is S.SCHEDULED:
                m.task_queued(key)
            m.task_started(key, try_number)
        else:
            assert state is not None
            m.task_finished(key, TaskOutcome(state, try_number), now)
    return m


@settings(max_examples=150, deadline=None)
@given(cases())
def test_any_interleaving_ends_as_the_state_machine_alone(case: Any) -> None:
    g, outcomes, seed = case
    world = play(g, outcomes, fast_on=True, seed=seed)
    reference = alone(g, world.log)
    final = {k: (r.state, r.try_number) for k, r in world.machine.tis.items()}
    assert final == {k: (r.state, r.try_number) for k, r in reference.tis.items()}
    assert world.machine.run_state() is reference.run_state() is not DagRunState.RUNNING
    assert len(world.executed) == len(set(world.executed))  # no try ran twice
    off = play(g, outcomes, fast_on=False, seed=seed)
    assert off.fast_taken == 0
    assert off.machine.run_state() is not DagRunState.RUNNING


def test_a_chain_goes_by_the_fast_path_all_the_way() -> None:
    g = graph({"a": ["b"], "b": ["c"], "c": []})
    outcomes = {(t, n): S.SUCCESS for t in "abc" for n in (1, 2)}
    world = play(g, outcomes, fast_on=True, seed=7)
    assert world.machine.run_state() is DagRunState.SUCCESS
    assert world.fast_taken == 2


def test_the_finish_script_writes_the_fast_field_as_the_protocol_reads_it() -> None:
    calls = re.findall(r"'XADD', KEYS\[1\], [^*]*'\*', (.*?)\)", FINISH_MANY, re.DOTALL)
    names = [[n.strip().strip("'") for n in call.split(",")[0::2]] for call in calls]
    outcome = TaskOutcome(S.SUCCESS, 1)
    finished = TryFinished("d|r", "t|-1", "t", -1, 1, outcome, fast="u|-1|1")
    assert list(finished.to_fields()) in names
    assert TryFinished.from_fields(finished.to_fields()).fast == "u|-1|1"


def test_a_task_whose_teardown_waits_for_a_setup_it_does_not_follow_is_left_out() -> None:
    # s >> a >> d >> t, s >> t: d's setup s decides it beside its upstream a (a failed s makes
    # d upstream_failed even when an all_done a succeeds), which the script cannot see
    g = graph(
        {"s": ["a", "t"], "a": ["d"], "d": ["t"], "t": []},
        s={"is_setup": True},
        t={"is_teardown": True},
        a={"trigger_rule": "all_done"},
    )
    assert g.indirect_setups.get("d") == ("s",)
    assert "d" not in [c[0] for cands in fast_path.plan(g).values() for c in cands]
