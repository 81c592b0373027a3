"""The triggerer's settings (AIRLANE_TRIGGERER_*)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TriggererSettings:
    redis_url: str
    dags_folder: str
    #: most triggers one triggerer runs at once (Airflow's [triggerer] capacity: 1000)
    capacity: int = 1000
    #: a triggerer that stops renewing loses its triggers to another after this long
    lease_s: float = 15.0
    #: how often it looks for new triggers and past timeouts
    poll_s: float = 0.2
    #: the event loop blocked longer than this is logged (Airflow: 0.2 s over a 0.1 s sleep)
    block_warn_s: float = 0.2
    #: most triggers claimed (and tries timed out) per call
    batch: int = 500

    @property
    def renew_every_s(self) -> float:
        return self.lease_s / 3

    @property
    def watcher_refresh_s(self) -> float:
        """How often asset watchers are planned and their leases renewed: a DAG scheduled on
        a watched asset (or unpaused) has its watcher running within this."""
        return min(1.0, self.renew_every_s)

    @classmethod
    def from_env(cls, redis_url: str, dags_folder: str, env: dict[str, str]) -> TriggererSettings:
        """AIRLANE_TRIGGERER_CAPACITY, _LEASE_S, _POLL_S, _BLOCK_WARN_S."""
        defaults = cls(redis_url, dags_folder)
        capacity = int(env.get("AIRLANE_TRIGGERER_CAPACITY", defaults.capacity))
        if capacity <= 0:
            raise ValueError(f"Capacity number {capacity!r} is invalid")
        return cls(
            redis_url,
            dags_folder,
            capacity=capacity,
            lease_s=float(env.get("AIRLANE_TRIGGERER_LEASE_S", defaults.lease_s)),
            poll_s=float(env.get("AIRLANE_TRIGGERER_POLL_S", defaults.poll_s)),
            block_warn_s=float(env.get("AIRLANE_TRIGGERER_BLOCK_WARN_S", defaults.block_warn_s)),
        )
