"""The coordinator, as a package: the loop (:mod:`.loop`), the state one lease tenure holds
(:mod:`.state`, built in :mod:`.session`), admission, recovery, run loading, event handling,
and the policies behind named hooks (:mod:`.hooks`, :mod:`.policies`)."""

from airlane.service.coordinator.loop import Coordinator
from airlane.service.coordinator.settings import CoordinatorSettings, LeaseLost

__all__ = ["Coordinator", "CoordinatorSettings", "LeaseLost"]
