"""Revoked API tokens: one token by its id (JWT ``jti``) or every token of a user at once.

Airflow keeps the ``jti`` of each revoked token (``auth_manager.revoke_token``, used by
``GET /api/v2/auth/logout``) and refuses it until it expires; Airlane keeps them in the
``revoked_tokens`` ZSET scored by the token's expiry. Revoking all of a user's tokens bumps the
user's generation (``token_generations``): tokens carry the generation they were issued under,
and one below the current generation is refused.

The hot path reads neither key: each API process keeps both in memory and re-reads them only
when ``auth_version`` (bumped by every revocation) has moved, checking it at most once every
``REFRESH_S``. Guarantee: a revocation is enforced at once by the API process that made it and
by every other API process within ``REFRESH_S`` (one second).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import redis.asyncio as aioredis

from airlane.queue.keys import Keys

#: how stale another process's revocations may be here, at most
REFRESH_S = 1.0


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says: whose it is, its id and generation, when it expires."""

    username: str
    token_id: str
    generation: int
    expires_s: int


@dataclass(frozen=True, slots=True)
class Revocations:
    version: str | None = None
    revoked_ids: frozenset[str] = frozenset()
    generations: Mapping[str, int] = field(default_factory=dict)

    def refuses(self, claims: TokenClaims) -> bool:
        """A token is revoked by its id, or by a generation bump of its user since its issue."""
        if claims.token_id and claims.token_id in self.revoked_ids:
            return True
        return claims.generation < self.generations.get(claims.username, 0)


class RevocationCache:
    """This process's copy of the revocations, refreshed from Redis at most every second."""

    def __init__(self, keys: Keys, refresh_s: float = REFRESH_S) -> None:
        self.keys = keys
        self.refresh_s = refresh_s
        self.client: aioredis.Redis | None = None
        self._state = Revocations()
        self._checked_at_s = float("-inf")
        self._lock = asyncio.Lock()

    def bind(self, client: aioredis.Redis) -> None:
        self.client = client
        self._checked_at_s = float("-inf")

    async def current(self) -> Revocations:
        if time.monotonic() - self._checked_at_s < self.refresh_s:
            return self._state
        async with self._lock:  # one refresh at a time; the requests waiting reuse its result
            if time.monotonic() - self._checked_at_s >= self.refresh_s:
                await self._refresh(force=False)
        return self._state

    async def _refresh(self, force: bool) -> None:
        client = self._client()
        checked_at_s = time.monotonic()
        version = cast("str | None", await client.get(self.keys.auth_version))
        if force or version != self._state.version:
            async with client.pipeline(transaction=True) as pipe:
                pipe.get(self.keys.auth_version)
                pipe.zrangebyscore(self.keys.revoked_tokens, time.time(), "+inf")
                pipe.hgetall(self.keys.token_generations)
                version, ids, generations = await pipe.execute()
            self._state = Revocations(
                version=version,
                revoked_ids=frozenset(cast(list[str], ids)),
                generations={k: int(v) for k, v in cast(dict[str, str], generations).items()},
            )
        self._checked_at_s = checked_at_s

    async def generation_of(self, username: str) -> int:
        """The generation a token issued now carries (read from Redis: never a stale one)."""
        raw = await self._client().hget(self.keys.token_generations, username)
        return int(cast(Any, raw) or 0)

    async def revoke_token(self, token_id: str, expires_s: float) -> None:
        client = self._client()
        async with client.pipeline(transaction=True) as pipe:
            pipe.zadd(self.keys.revoked_tokens, {token_id: expires_s})
            # Tokens past their expiry are refused anyway: forget them, so the set stays small.
            pipe.zremrangebyscore(self.keys.revoked_tokens, "-inf", time.time())
            pipe.incr(self.keys.auth_version)
            await pipe.execute()
        await self._reload()

    async def revoke_user(self, username: str) -> None:
        client = self._client()
        async with client.pipeline(transaction=True) as pipe:
            pipe.hincrby(self.keys.token_generations, username, 1)
            pipe.incr(self.keys.auth_version)
            await pipe.execute()
        await self._reload()

    async def _reload(self) -> None:
        async with self._lock:
            await self._refresh(force=True)

    def _client(self) -> aioredis.Redis:
        if self.client is None:
            raise RuntimeError("RevocationCache used before bind()")
        return self.client
