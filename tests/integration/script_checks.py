"""The scripts under watch: each call's keys in one cluster slot, each key touched in KEYS.

A Lua script cannot be asked which keys it touches, so :func:`checked` rewrites its source: every
``redis.call`` goes through a function that raises for a key not given in KEYS (every command
the scripts use takes its key first, but TIME, which takes none, and XREADGROUP, whose key
follows STREAMS).
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis
from redis.crc import key_slot

from airlane.queue.keys import Keys
from airlane.queue.scripts import ScriptArgs, Scripts

_PREAMBLE = """
local declared = {}
for _, key in ipairs(KEYS) do declared[key] = true end
local function key_of(command, key, ...)
  if command == 'XREADGROUP' then  -- GROUP g c [COUNT n] STREAMS key... id...
    local args = {key, ...}
    for i, arg in ipairs(args) do if arg == 'STREAMS' then return args[i + 1] end end
  end
  return key
end
local function checked_call(command, key, ...)
  if command == 'TIME' then return redis.call(command) end  -- no key
  local touched = key_of(command, key, ...)
  if touched == nil or not declared[touched] then
    error('UNDECLARED key ' .. tostring(touched) .. ' (' .. command .. ')')
  end
  return redis.call(command, key, ...)
end
"""


def checked(source: str) -> str:
    """``source`` failing on any key it touches outside KEYS."""
    assert "redis.pcall" not in source
    assert "redis.call(" in source
    return _PREAMBLE + source.replace("redis.call(", "checked_call(")


def slots(keys: list[str]) -> set[int]:
    return {cast(int, key_slot(key.encode())) for key in keys}


class CheckedScripts(Scripts):
    """Scripts whose every call is checked (see the module's description)."""

    @classmethod
    def on(cls, client: aioredis.Redis, keys: Keys) -> CheckedScripts:
        return cast(CheckedScripts, cls.register(client, keys, lua=checked))

    async def _call(self, name: str, wire: ScriptArgs) -> object:
        assert len(slots(wire.keys)) == 1, f"{name}: keys in several slots: {wire.keys}"
        return await super()._call(name, wire)
