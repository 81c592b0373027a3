"""The script calls' wire forms and the key prefix's hash tag, without Redis."""

from __future__ import annotations

import dataclasses

import orjson
import pytest
from redis.crc import key_slot

from airlane.queue.keys import DEFAULT_PREFIX, Keys, tagged_prefix
from airlane.queue.scripts import (
    Apply,
    Batch,
    Claim,
    ClaimMany,
    CreateRun,
    Finish,
    FinishMany,
    Renew,
    ScriptArgs,
)

KEYS = Keys()


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("airlane:", "{airlane}:"),
        ("myapp:", "{myapp}:"),
        ("myapp", "{myapp}"),
        ("a:b::", "{a:b}::"),
        ("{team}:airlane:", "{team}:airlane:"),
        ("x{t}y:", "x{t}y:"),
        ("", DEFAULT_PREFIX),
    ],
)
def test_a_prefix_gets_a_hash_tag(given: str, used: str) -> None:
    assert tagged_prefix(given) == used


def test_the_environment_prefix_is_tagged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRLANE_REDIS_PREFIX", raising=False)
    assert Keys.from_env().prefix == DEFAULT_PREFIX == Keys().prefix
    monkeypatch.setenv("AIRLANE_REDIS_PREFIX", "myapp:")
    assert Keys.from_env().lease == "{myapp}:coordinator:lease"


def _positions_valid(wire: ScriptArgs, positions: list[int]) -> None:
    assert len({key_slot(key.encode()) for key in wire.keys}) == 1, wire.keys
    assert len(set(wire.keys)) == len(wire.keys)
    assert all(1 <= p <= len(wire.keys) for p in positions)


def test_a_claim_names_its_keys_by_position() -> None:
    claims = (Claim("d", "r1", "t", -1, 2, "ref"), Claim("d", "r2", "t", 0, 1, "ref2"))
    wire = ClaimMany("w", 1.5, claims).encode(KEYS)
    assert wire.keys[:2] == [KEYS.completions, KEYS.worker_tasks("w")]
    decoded = orjson.loads(str(wire.args[3]))
    assert decoded[0] == {
        "tis": 3,
        "claims": 4,
        "ti": "t|-1",
        "try": "2",
        "message_ref": "ref",
        "run": "d|r1",
    }
    assert wire.keys[3 - 1] == KEYS.tis("d", "r1")
    _positions_valid(wire, [p for c in decoded for p in (c["tis"], c["claims"])])
    assert wire.args[:2] == ["w", "1.5"]


def test_a_finish_names_its_keys_by_position() -> None:
    finish = Finish(KEYS.queue("q"), "1-0", "d", "r", "t", 3, 2, "{}", "ref", ("k", "v"))
    wire = FinishMany("w", (finish, finish), 10, 60).encode(KEYS)
    first, second = orjson.loads(str(wire.args[4]))
    assert first == second
    assert wire.keys[first["log"] - 1] == KEYS.log("d", "r", "t", 3, 2)
    assert wire.keys[first["stream"] - 1] == KEYS.queue("q")
    assert (first["xcoms"], first["lines"], first["expire_log"]) == (["k", "v"], [], 0)
    keyed = ("stream", "claims", "xcom", "log", "rendered_key")
    _positions_valid(wire, [first[name] for name in keyed])


def test_a_batch_names_each_key_once() -> None:
    batch = Batch()
    for n in range(3):
        batch.hset(KEYS.tis("d", "r"), f"t{n}|-1", "{}")
    batch.xadd(KEYS.events, 5, {"kind": "run"})
    wire = Apply("c", 100, batch).encode(KEYS)
    assert wire.keys == [KEYS.lease, KEYS.tis("d", "r"), KEYS.events]
    ops = orjson.loads(str(wire.args[2]))
    assert [op[1] for op in ops] == [2, 2, 2, 3]
    assert ops[3] == ["X", 3, "5", ["kind", "run"]]
    _positions_valid(wire, [op[1] for op in ops])


def test_renew_and_create_run_keys_share_a_slot() -> None:
    _positions_valid(Renew("c", 100).encode(KEYS), [])
    wire = CreateRun("d", "r", 1.0, {"state": "queued"}).encode(KEYS)
    assert wire.args[-2:] == ["state", "queued"]
    _positions_valid(wire, [])


def test_a_finish_sends_its_json_texts_once_each_beside_the_json() -> None:
    finish = Finish(KEYS.queue("q"), "1-0", "d", "r", "t", 3, 2, '{"state":"success"}', '["r"]')
    other = dataclasses.replace(finish, task_id="u", message_ref='["u"]')
    wire = FinishMany("w", (finish, other), 10, 60).encode(KEYS)
    first, second = orjson.loads(str(wire.args[4]))
    assert wire.args[first["outcome"] - 1] == '{"state":"success"}'
    assert first["outcome"] == second["outcome"]  # the same text, sent once
    assert [wire.args[f["message_ref"] - 1] for f in (first, second)] == ['["r"]', '["u"]']
    assert wire.args[first["rendered"] - 1] == ""
    assert len(wire.args) == 6 + 4  # the texts: outcome, two ClaimRefs, rendered ("")


def test_apply_sends_records_and_entries_as_argv() -> None:
    batch = Batch()
    batch.hset_many(KEYS.tis("d", "r"), ["a|-1", '{"state":"running"}', "b|-1", '{"x":1}'])
    batch.xadd(KEYS.events, 5, {"kind": "ti", "ti": "a|-1"})
    batch.hset(KEYS.run("d", "r"), "state", "running")  # another key: the group goes on
    batch.xadd(KEYS.events, 5, {"kind": "ti", "ti": "b|-1", "worker": "w"})
    batch.xadd(KEYS.events, 6, {"kind": "run"})  # another maxlen: a new XADD
    wire = Apply("c", 100, batch).encode(KEYS)
    v, g, h, x = orjson.loads(str(wire.args[2]))
    argv = ["", *wire.args]  # ARGV[i], 1-based
    assert v[0] == "V"
    assert argv[v[2] : v[2] + v[3]] == batch.ops[0][2]
    assert (g[0], wire.keys[g[1] - 1], g[2]) == ("G", KEYS.events, "5")
    entries = [argv[at : at + n] for at, n in zip(g[3][::2], g[3][1::2], strict=True)]
    assert entries == [["kind", "ti", "ti", "a|-1"], ["kind", "ti", "ti", "b|-1", "worker", "w"]]
    assert h == ["H", 4, "state", "running"]
    assert x == ["X", 3, "6", ["kind", "run"]]
