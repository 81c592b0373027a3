"""The guard of the synchronous Redis stores that task code calls (Variables, connections, other
DAGs' runs): called from an async callable, they would block the worker's event loop, so they
refuse with a message that says what to do instead."""

from __future__ import annotations

import asyncio


def refuse_on_event_loop(message: str) -> None:
    """Raise RuntimeError(message) when called on a running event loop's thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(message)
