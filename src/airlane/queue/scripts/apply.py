"""``apply`` (coordinator): a batch of writes, refused unless the caller holds the lease (which
each call extends; a lapsed lease that nobody took is taken back)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from airlane.queue.keys import Keys
from airlane.queue.scripts.wire import KeyTable, ScriptArgs, TextTable


class Batch:
    """Writes collected by the coordinator, sent as one ``apply`` call (see APPLY).

    Operations name their key while collected; :meth:`wire` turns each name into its position
    in the call's KEYS.
    """

    def __init__(self) -> None:
        self.ops: list[list[Any]] = []
        #: some operation names a second key (forget_deferral)
        self._second_keys = False

    def __len__(self) -> int:
        return len(self.ops)

    def extend(self, other: Batch, start: int = 0, end: int | None = None) -> None:
        """Append ``other``'s operations ``start`` to ``end`` (all of them by default)."""
        self.ops.extend(other.ops[start:end])
        self._second_keys = self._second_keys or other._second_keys

    def calls(self, messages: list[int], per_call: int) -> list[Batch]:
        """This batch as several calls, in order: the task messages at ``messages`` (sorted
        positions, each followed by its instance's event) go ``per_call`` to a call; the
        first call has every other operation (in order) before its own; the last ends with
        the acknowledgements (XACK). The calls made of a batch cut short leave out only
        queued instances (whose records go in their call) and acknowledgements."""
        paired = set(messages)
        paired.update(at + 1 for at in messages)
        head, acks = Batch(), list[list[Any]]()
        head._second_keys = self._second_keys
        for at, op in enumerate(self.ops):
            if op and at not in paired:
                (acks if op[0] == "A" else head.ops).append(op)
        calls = [head]
        for start in range(0, len(messages), per_call):
            call = head if start == 0 else Batch()
            for at in messages[start : start + per_call]:
                call.ops += (self.ops[at], self.ops[at + 1])
            if start:
                calls.append(call)
        calls[-1].ops += acks
        return calls

    def drop(self, index: int) -> None:
        """Make operation ``index`` do nothing (it is left out of the call): the instance's
        event it wrote is written again later in the batch, with its task message."""
        self.ops[index] = []

    def wire(self, table: KeyTable, texts: TextTable | None = None) -> str:
        """The operations as APPLY's JSON, their keys added to ``table``. What many operations
        share goes once (see :func:`_compacted`): Lua's JSON decoding is most of the call.
        With ``texts``, the fields and values of each ``M`` and of XADDs to one stream go
        there, as ARGV of their own (:func:`_by_position`)."""
        positions: dict[str, int] = {}  # (the table's, looked up in C)
        wired: list[list[Any]] = []
        for op in self.ops:
            if not op:
                continue  # dropped
            at = positions.get(op[1])
            if at is None:
                at = positions[op[1]] = table.position(op[1])
            wired.append([op[0], at, *op[2:]])
        wired = _compacted(wired)
        if texts is not None:
            wired = _by_position(wired, texts)
        position = table.position
        if self._second_keys:
            for row in wired:
                if row[0] == "W":
                    row[4] = position(row[4])
        return orjson.dumps(wired).decode()

    def split(self, limit: int) -> Batch:
        """Keep the first ``limit`` operations here; return the rest as a new batch."""
        rest = Batch()
        self.ops, rest.ops = self.ops[:limit], self.ops[limit:]
        rest._second_keys = self._second_keys
        return rest

    def hset(self, key: str, field: str, value: str) -> None:
        self.ops.append(["H", key, field, value])

    def hset_if_exists(self, key: str, field: str, value: str) -> None:
        """HSET only while ``key`` exists (a run's hash that may be deleted meanwhile: a
        queued run can be, by the API, and must not come back as a hash of one field)."""
        self.ops.append(["C", key, field, value])

    def hset_many(self, key: str, fields_and_values: list[str]) -> None:
        """One HSET of several fields: ``[field1, value1, field2, value2, ...]`` (a run's
        instance records, written in bulk: one operation instead of one per record)."""
        step = 2 * _UNPACK_LIMIT
        for start in range(0, len(fields_and_values), step):
            self.ops.append(["M", key, fields_and_values[start : start + step]])

    def hdel(self, key: str, field: str) -> None:
        self.ops.append(["D", key, field])

    def xadd(self, key: str, maxlen: int, fields: dict[str, str]) -> None:
        self.ops.append(_xadd(key, maxlen, fields))

    def xadd_entry(self, key: str, maxlen: int, entry: list[str]) -> None:
        """:meth:`xadd` of an entry given flat: ``[name1, value1, name2, value2, ...]``."""
        self.ops.append(["X", key, str(maxlen), entry])

    def replace_xadd_entry(self, index: int, key: str, entry: list[str]) -> None:
        """Make operation ``index`` (an XADD to ``key`` of this batch) add the flat ``entry``."""
        op = self.ops[index]
        if op[0] != "X" or op[1] != key:
            raise ValueError(f"operation {index} is not an XADD to {key}")
        op[3] = entry

    def xack(self, key: str, group: str, *message_ids: str) -> None:
        ids = list(message_ids)
        for start in range(0, len(ids), _UNPACK_LIMIT):
            self.ops.append(["A", key, group, ids[start : start + _UNPACK_LIMIT]])

    def sadd(self, key: str, member: str) -> None:
        self.ops.append(["S", key, member])

    def srem(self, key: str, member: str) -> None:
        self.ops.append(["R", key, member])

    def zadd(self, key: str, score: float, member: str) -> None:
        self.ops.append(["Z", key, repr(score), member])

    def zrem(self, key: str, member: str) -> None:
        self.ops.append(["Y", key, member])

    def delete(self, key: str) -> None:
        self.ops.append(["K", key])

    def hincrbyfloat(self, key: str, field: str, increment: float) -> None:
        self.ops.append(["I", key, field, repr(float(increment))])

    def expire(self, key: str, seconds: int) -> None:
        self.ops.append(["E", key, str(seconds)])

    def forget_deferral(
        self, deferred: str, trigger_timeouts: str, field: str, try_number: int
    ) -> None:
        """Remove the ``deferred`` entry ``field`` and its timeout, if it is try ``try_number``'s
        (a deferral that arrived after its instance moved on; a newer try's entry stays)."""
        self.ops.append(["W", deferred, field, str(try_number), trigger_timeouts])
        self._second_keys = True


#: items per operation where Lua unpacks a list into a command's arguments: its unpack()
#: takes a few thousand at most
_UNPACK_LIMIT = 1000


class SharedEntry(list[str]):
    """A stream entry of one field, ``[name, head + own + tail]``, whose ``head`` and ``tail``
    other entries share (the task messages of a run queued in one pass differ only by their
    instance): consecutive XADDs of such entries to one key go to Redis as one operation that
    sends ``head`` and ``tail`` once. Equal to the plain list, for everyone else."""

    __slots__ = ("head", "own", "tail")
    head: str
    own: str
    tail: str


class SharedFields(list[str]):
    """A stream entry ``[*head, own, *tail]`` whose ``head`` and ``tail`` (field names and
    values) other entries share (the queued events of a run's instances differ only by the
    instance): consecutive XADDs of such entries to one key go to Redis as one ``F``
    operation that sends ``head`` and ``tail`` once. Equal to the plain list."""

    __slots__ = ("own", "parts")
    #: head and tail
    parts: tuple[list[str], list[str]]
    own: str


def shared_fields(head: list[str], own: str, tail: list[str]) -> SharedFields:
    entry = SharedFields(head)
    entry.append(own)
    entry += tail
    entry.parts, entry.own = (head, tail), own
    return entry


def shared_entry(name: str, head: str, own: str, tail: str) -> SharedEntry:
    """The SharedEntry ``[name, head + own + tail]`` (built without a Python-level
    ``__init__``: the coordinator makes one per task message)."""
    entry = SharedEntry((name, head + own + tail))
    entry.head, entry.own, entry.tail = head, own, tail
    return entry


def _compacted(wired: list[list[Any]]) -> list[list[Any]]:
    """``wired`` with the XADDs of shared entries to one stream as one ``Q`` operation, and
    the values an ``M`` (one HSET of many fields) repeats sent once (``N``).

    A ``Q`` takes the place of its first XADD; the later ones join it over operations on
    other keys (a queued instance's event follows its task message), never over another
    write to the same stream: the call is atomic, so only each stream's own order shows."""
    out: list[list[Any]] = []
    groups: dict[int, list[Any]] = {}  # the open Q of each stream, by its key's position
    for op in wired:
        code = op[0]
        if code == "X" and type(op[3]) is SharedEntry:
            entry = op[3]
            last = groups.get(op[1])
            if last is not None and last[2:6] == [op[2], entry[0], entry.head, entry.tail]:
                last[6].append(entry.own)
                continue
            last = ["Q", op[1], op[2], entry[0], entry.head, entry.tail, [entry.own]]
            groups[op[1]] = last
            out.append(last)
            continue
        if code == "X" and type(op[3]) is SharedFields:
            fields = op[3]
            last = groups.get(op[1])
            if last is not None and last[0] == "F" and last[2:5] == [op[2], *fields.parts]:
                last[5].append(fields.own)
                continue
            last = ["F", op[1], op[2], *fields.parts, [fields.own]]
            groups[op[1]] = last
            out.append(last)
            continue
        if groups:
            groups.pop(op[1], None)
        out.append(_by_value(op) if code == "M" else op)
    return out


def _by_value(op: list[Any]) -> list[Any]:
    """An ``M`` operation as ``N`` when some of its values repeat: each value once, with its
    fields (a run's new instances have the same record)."""
    pairs = op[2]
    fields_of: dict[str, list[str]] = {}
    for field, value in zip(pairs[::2], pairs[1::2], strict=True):
        fields_of.setdefault(value, []).append(field)
    if 2 * len(fields_of) > len(pairs) // 2:
        return op
    return ["N", op[1], [[value, fields] for value, fields in fields_of.items()]]


def _by_position(wired: list[list[Any]], texts: TextTable) -> list[list[Any]]:
    """``wired`` with each ``M`` as a ``V`` and the XADDs of plain entries (``X``) to one
    stream, two or more, as one ``G``: their fields and values go to ARGV (``texts``), where
    Lua passes them on with ``unpack(ARGV, i, j)``. In the call's JSON, each of them was a
    Lua string for cjson to make (and, for a record, JSON whose every quote is escaped): most
    of the call's cost. A ``G`` takes its first XADD's place, as a ``Q`` does."""
    out: list[list[Any]] = []
    groups: dict[int, list[Any]] = {}  # the open X or G of each stream, by its key's position
    extend = texts.extend
    for op in wired:
        code = op[0]
        if code == "X":
            last = groups.get(op[1])
            if last is None or last[2] != op[2]:
                groups[op[1]] = op
                out.append(op)
            elif last[0] == "X":
                entry = last[3]
                last[0], last[3] = "G", [extend(entry), len(entry), extend(op[3]), len(op[3])]
            else:
                last[3] += (extend(op[3]), len(op[3]))
            continue
        if groups:
            groups.pop(op[1], None)
        if code == "M":
            pairs = op[2]
            op = ["V", op[1], extend(pairs), len(pairs)]
        out.append(op)
    return out


def _xadd(key: str, maxlen: int, fields: dict[str, str]) -> list[Any]:
    flat: list[str] = []
    for name, value in fields.items():
        flat += [name, value]
    return ["X", key, str(maxlen), flat]


@dataclass(frozen=True, slots=True)
class Apply:
    """One batch written under the coordinator's lease (see APPLY for the Lua side)."""

    owner: str
    lease_ttl_ms: int
    batch: Batch

    def encode(self, keys: Keys) -> ScriptArgs:
        table = KeyTable(keys.lease)
        texts = TextTable(fixed=3)
        ops = self.batch.wire(table, texts)
        return ScriptArgs(table.keys, [self.owner, self.lease_ttl_ms, ops, *texts.texts])


# KEYS: lease, then every key the operations write. ARGV: owner, lease ttl ms, operations as one
# JSON array (decoded by cjson, in C, which costs far less than packing each argument in the
# client), then the texts the operations name by position (wire.TextTable: a V's values). Each
# operation names its key by its position k in KEYS (Batch.wire):
#   ["H", k, field, value] | ["M", k, [field1, value1, ...]] (one HSET of several fields)
#   ["C", k, field, value] (an H while k exists)
#   ["N", k, [[value, [field1, field2, ...]], ...]] (an M whose fields share values)
#   ["V", k, at, n] (an M whose n fields and values are ARGV[at], ARGV[at + 1], ...: Apply.encode)
#   ["G", k, maxlen, [at1, n1, at2, n2, ...]]: one XADD per entry, of the n1 fields and values
#   from ARGV[at1] on, ...
#   ["D", k, field] | ["X", k, maxlen, [f1, v1, ...]]
#   ["Q", k, maxlen, name, head, tail, [own1, own2, ...]]: one XADD per ``own``, of the field
#   ``name`` with the value head .. own .. tail
#   ["F", k, maxlen, [f1, v1, ..., name], [f2, v2, ...], [own1, own2, ...]]: one XADD per
#   ``own``, of the fields head, own (the value of head's last name), tail
#   ["A", k, group, [id, ...]] | ["S"|"R", k, member] | ["Z", k, score, member]
#   ["Y", k, member] | ["K", k] | ["E", k, seconds] | ["I", k, field, increment]
#   ["W", k deferred, field, try, k trigger_timeouts]: HDEL and ZREM field when the deferred
#   try stored there is ``try``
# Returns 1, or the error NOLEASE when another coordinator holds the lease.
APPLY = """
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
elseif holder ~= ARGV[1] then
  return redis.error_reply('NOLEASE')
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
for _, op in ipairs(cjson.decode(ARGV[3])) do
  local code, key = op[1], KEYS[op[2]]
  if code == 'X' then redis.call('XADD', key, 'MAXLEN', '~', op[3], '*', unpack(op[4]))
  elseif code == 'H' then redis.call('HSET', key, op[3], op[4])
  elseif code == 'C' then
    if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, op[3], op[4]) end
  elseif code == 'V' then redis.call('HSET', key, unpack(ARGV, op[3], op[3] + op[4] - 1))
  elseif code == 'G' then
    local at = op[4]
    for i = 1, #at, 2 do
      redis.call('XADD', key, 'MAXLEN', '~', op[3], '*', unpack(ARGV, at[i], at[i] + at[i + 1] - 1))
    end
  elseif code == 'M' then redis.call('HSET', key, unpack(op[3]))
  elseif code == 'Q' then
    local name, head, tail = op[4], op[5], op[6]
    for _, own in ipairs(op[7]) do
      redis.call('XADD', key, 'MAXLEN', '~', op[3], '*', name, head .. own .. tail)
    end
  elseif code == 'F' then
    local args = {'MAXLEN', '~', op[3], '*'}
    for _, item in ipairs(op[4]) do args[#args + 1] = item end
    local at = #args + 1
    args[at] = ''
    for _, item in ipairs(op[5]) do args[#args + 1] = item end
    for _, own in ipairs(op[6]) do
      args[at] = own
      redis.call('XADD', key, unpack(args))
    end
  elseif code == 'N' then
    for _, shared in ipairs(op[3]) do
      local value, args = shared[1], {}
      for i, field in ipairs(shared[2]) do
        args[2 * i - 1] = field
        args[2 * i] = value
      end
      redis.call('HSET', key, unpack(args))
    end
  elseif code == 'D' then redis.call('HDEL', key, op[3])
  elseif code == 'A' then redis.call('XACK', key, op[3], unpack(op[4]))
  elseif code == 'S' then redis.call('SADD', key, op[3])
  elseif code == 'R' then redis.call('SREM', key, op[3])
  elseif code == 'Z' then redis.call('ZADD', key, op[3], op[4])
  elseif code == 'Y' then redis.call('ZREM', key, op[3])
  elseif code == 'K' then redis.call('DEL', key)
  elseif code == 'E' then redis.call('EXPIRE', key, op[3])
  elseif code == 'I' then redis.call('HINCRBYFLOAT', key, op[3], op[4])
  elseif code == 'W' then
    local raw = redis.call('HGET', key, op[3])
    if raw and tostring(cjson.decode(raw).try) == op[4] then
      redis.call('HDEL', key, op[3])
      redis.call('ZREM', KEYS[op[5]], op[3])
    end
  else return redis.error_reply('bad op ' .. tostring(code)) end
end
return 1
"""
