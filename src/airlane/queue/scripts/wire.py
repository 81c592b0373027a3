"""What one script call sends: its keys (all of them, for Redis Cluster) and its arguments."""

from __future__ import annotations

from dataclasses import dataclass


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
