"""What one script call sends: its keys (all of them, for Redis Cluster) and its arguments."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import orjson

from airlane.queue.keys import Keys, run_ref


@dataclass(frozen=True, slots=True)
class ScriptArgs:
    """KEYS and ARGV of one script call, in order."""

    keys: list[str]
    args: list[str | int | float]


class KeyTable:
    """The keys one call touches, each once: ``fixed`` first, then each new key as the call's
    data names it. The data refers to a key by its position in KEYS (1-based, as in Lua)."""

    def __init__(self, *fixed: str) -> None:
        self.keys: list[str] = []
        self._positions: dict[str, int] = {}
        for key in fixed:
            self.position(key)

    def position(self, key: str) -> int:
        found = self._positions.get(key)
        if found is None:
            self.keys.append(key)
            found = self._positions[key] = len(self.keys)
        return found


class TextTable:
    """Texts one call sends as ARGV of their own, each once, after the call's ``fixed``
    arguments: the call's JSON names each by its position in ARGV (1-based). For texts that
    are JSON themselves (outcomes, task messages, ClaimRefs): inside the call's JSON every
    quote of theirs would be escaped, which Lua's cjson decodes a byte at a time."""

    def __init__(self, fixed: int) -> None:
        self.texts: list[str] = []
        self._fixed = fixed
        self._positions: dict[str, int] = {}

    def position(self, text: str) -> int:
        found = self._positions.get(text)
        if found is None:
            self.texts.append(text)
            found = self._positions[text] = self._fixed + len(self.texts)
        return found

    def extend(self, texts: list[str]) -> int:
        """Send ``texts`` in a row (not looked up: Lua takes them with one ``unpack(ARGV, i,
        j)``); returns the first one's position."""
        first = self._fixed + len(self.texts) + 1
        self.texts += texts
        return first


@dataclass(frozen=True, slots=True)
class RunKeys:
    """The keys and texts of one run a finish (or claim) names, built once per run."""

    ref: str
    claims: str
    tis: str
    rendered: str
    fast_plan: str
    run: str
    #: ``keys.xcom`` and ``keys.log`` of the run, without the task's part
    xcom_prefix: str
    log_prefix: str
    #: the dag id and run id as JSON texts, comma-separated (a ClaimRef's middle)
    ref_pair: str


@functools.lru_cache(maxsize=1024)
def run_keys(keys: Keys, dag_id: str, run_id: str) -> RunKeys:
    """The keys of a run (cached: a worker claims and finishes many tries of few runs)."""
    return RunKeys(
        ref=run_ref(dag_id, run_id),
        claims=keys.claims(dag_id, run_id),
        tis=keys.tis(dag_id, run_id),
        rendered=keys.rendered(dag_id, run_id),
        fast_plan=keys.fast_plan(dag_id, run_id),
        run=keys.run(dag_id, run_id),
        xcom_prefix=keys.run_xcoms(dag_id, run_id),
        log_prefix=keys.run_logs(dag_id, run_id),
        ref_pair=orjson.dumps([dag_id, run_id]).decode()[1:-1],
    )
