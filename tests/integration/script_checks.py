"""The scripts under watch: each call's keys in one cluster slot, each key touched in KEYS.

A Lua script cannot be asked which keys it touches, so :func:`checked` rewrites its source: every
``redis.call`` goes through a function that raises for a key not given in KEYS (every command
the scripts use takes its key first).
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
local function checked_call(command, key, ...)
  if not declared[key] then error('UNDECLARED key ' .. tostring(key) .. ' (' .. command .. ')') end
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
