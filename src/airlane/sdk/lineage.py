"""``airflow.sdk.lineage`` / ``airflow.lineage.hook``: the hook lineage collector, a no-op.

Hooks report what they read and wrote (``get_hook_lineage_collector().add_input_asset(...)``,
``add_extra(...)``); Airflow keeps it only when a plugin registers a lineage reader, and hands
out a collector that drops everything otherwise. Airlane has no lineage readers, so the
collector is always that no-op one; it has the methods of Airflow 3.2's collector, so that
provider packages use it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airlane.sdk.logging_mixin import LoggingMixin


@dataclass(frozen=True)
class HookLineage:
    """What hooks reported: input and output assets, extra entries."""

    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    extra: list[Any] = field(default_factory=list)


class HookLineageCollector(LoggingMixin):
    """The collector hooks report lineage to; this one keeps nothing."""

    def __init__(self, **_: Any) -> None:
        super().__init__()
        self._extra: dict[Any, Any] = {}

    def create_asset(self, *_: Any, **__: Any) -> None:
        return None

    def add_input_asset(self, *_: Any, **__: Any) -> None:
        return None

    def add_output_asset(self, *_: Any, **__: Any) -> None:
        return None

    def add_extra(self, *_: Any, **__: Any) -> None:
        return None

    @property
    def collected_assets(self) -> HookLineage:
        return HookLineage()

    @property
    def has_collected(self) -> bool:
        return False


class NoOpCollector(HookLineageCollector):
    """The collector given out when no lineage reader is registered (always, in Airlane)."""


class HookLineageReader(LoggingMixin):
    """Reads what the collector collected (nothing)."""

    def __init__(self, **_: Any) -> None:
        super().__init__()
        self.lineage_collector = get_hook_lineage_collector()

    def retrieve_hook_lineage(self) -> HookLineage:
        return self.lineage_collector.collected_assets


_COLLECTOR = NoOpCollector()


def get_hook_lineage_collector() -> HookLineageCollector:
    """The process's collector (a no-op: Airlane registers no lineage readers)."""
    return _COLLECTOR


__all__ = [
    "HookLineage",
    "HookLineageCollector",
    "HookLineageReader",
    "NoOpCollector",
    "get_hook_lineage_collector",
]
