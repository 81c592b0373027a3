"""Reading a try's log stream in pages of bounded size, for the API and the CLI.

A log may hold many MB (up to its byte cap, more if the cap was raised): readers never load it
whole. Entries are read ``READ_COUNT`` at a time and a page stops once it holds
``PAGE_MAX_BYTES`` (or one line, when a single line is longer).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis

from airlane.queue.messages import LogLine

PAGE_MAX_BYTES = 1024 * 1024
#: entries fetched per XRANGE; with lines capped at 64 KiB a fetch holds at most ~6 MiB
READ_COUNT = 100
_ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")
_TOKEN_PREFIX = "log_pos:"


@dataclass(frozen=True, slots=True)
class LogPage:
    lines: list[str]
    #: the last entry returned (or the position read from, when none was): where to go on
    position: str | None
    #: entries after ``position`` existed when the page was read
    more: bool


class BadToken(ValueError):
    """A continuation token that this API did not hand out."""


def encode_token(position: str | None) -> str:
    text = _TOKEN_PREFIX + (position or "0-0")
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_token(token: str) -> str:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadToken(token) from None
    position = text.removeprefix(_TOKEN_PREFIX)
    if position == text or not _ENTRY_ID.fullmatch(position):
        raise BadToken(token)
    return position


async def last_position(client: aioredis.Redis, key: str) -> str | None:
    """The stream's last entry now: a full read stops there, whatever is added meanwhile."""
    entries = cast(list[Any], await client.xrevrange(key, "+", "-", count=1))
    return str(entries[0][0]) if entries else None


async def read_page(
    client: aioredis.Redis,
    key: str,
    after: str | None = None,
    *,
    until: str = "+",
    max_bytes: int = PAGE_MAX_BYTES,
) -> LogPage:
    """Lines after entry ``after`` (from the first when None), up to ``until``, ``max_bytes``."""
    lines: list[str] = []
    size = 0
    position = after
    while True:
        start = "-" if position is None else "(" + position
        entries = cast(
            list[tuple[str, dict[str, str]]],
            await client.xrange(key, start, until, count=READ_COUNT),
        )
        for entry_id, fields in entries:
            line = LogLine.from_fields(fields).line
            cost = (len(line) if line.isascii() else len(line.encode("utf-8", "replace"))) + 1
            if lines and size + cost > max_bytes:
                return LogPage(lines, position, True)
            lines.append(line)
            size += cost
            position = entry_id
        if len(entries) < READ_COUNT:
            return LogPage(lines, position, False)


async def iter_pages(
    client: aioredis.Redis,
    key: str,
    after: str | None = None,
    *,
    until: str = "+",
    max_bytes: int = PAGE_MAX_BYTES,
) -> AsyncIterator[list[str]]:
    """Every line after ``after`` up to ``until``, page by page."""
    position = after
    while True:
        page = await read_page(client, key, position, until=until, max_bytes=max_bytes)
        if page.lines:
            yield page.lines
        if not page.more:
            return
        position = page.position
