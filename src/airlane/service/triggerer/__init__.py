"""The triggerer role: deferred tries' triggers on one asyncio loop (see service.py)."""

from __future__ import annotations

from airlane.service.triggerer.service import Triggerer
from airlane.service.triggerer.settings import TriggererSettings

__all__ = ["Triggerer", "TriggererSettings"]
