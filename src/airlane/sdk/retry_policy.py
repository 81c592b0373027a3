"""Airflow 3.3's pluggable retry policies (``airflow.sdk.ExceptionRetryPolicy`` and its kin).

A task's ``retry_policy`` looks at the exception a failed try raised, in the task's own process,
and decides: retry (after its own delay, when one is given), fail at once (the retries left
are not used), or leave it to the task's retries and ``retry_delay`` (DEFAULT). A policy can
fail a task earlier but never retries past ``retries``. Exceptions that fail a task outright
(``AirflowFailException``, ``AirflowSensorTimeout``) and skips never reach it. The delay a
policy gives replaces the task's own (its backoff and ``max_retry_delay`` too), counted from
the try's end, as Airflow's ``next_retry_datetime`` counts ``retry_delay_override``.

The task runner (service/execution/task_runner.py) asks the policy; the try's outcome carries
its decision (``TaskOutcome.retryable`` and ``retry_delay_s``) to the coordinator.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any

from airlane.sdk.module_loading import import_string

log = logging.getLogger(__name__)

__all__ = ["ExceptionRetryPolicy", "RetryAction", "RetryDecision", "RetryPolicy", "RetryRule"]


class RetryAction(Enum):
    """What a policy decides for a failed try."""

    #: retry (within the task's retries: past them it is DEFAULT's failure)
    RETRY = "retry"
    #: fail now, the retries left unused
    FAIL = "fail"
    #: the task's own retries and delay
    DEFAULT = "default"


@dataclass(frozen=True)
class RetryDecision:
    """A policy's answer; ``retry_delay`` replaces the task's delay for this retry only."""

    action: RetryAction = RetryAction.DEFAULT
    retry_delay: timedelta | None = None
    reason: str | None = None

    @classmethod
    def fail(cls, reason: str | None = None) -> RetryDecision:
        return cls(RetryAction.FAIL, reason=reason)

    @classmethod
    def retry(cls, delay: timedelta | None = None, reason: str | None = None) -> RetryDecision:
        return cls(RetryAction.RETRY, retry_delay=delay, reason=reason)

    @classmethod
    def default(cls) -> RetryDecision:
        return cls(RetryAction.DEFAULT)


class RetryPolicy(abc.ABC):
    """Subclass and implement ``evaluate`` for a policy of your own."""

    @abc.abstractmethod
    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: Any = None,
    ) -> RetryDecision:
        """The decision for a try that raised ``exception``."""

    def serialize(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement serialize()")

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> RetryPolicy:
        raise NotImplementedError


#: an exception class, or its dotted path (imported when a rule is first matched)
ExceptionSpec = type[BaseException] | str


def _dotted(spec: ExceptionSpec) -> str:
    return spec if isinstance(spec, str) else f"{spec.__module__}.{spec.__qualname__}"


@dataclass
class RetryRule:
    """One or more exception classes (or dotted paths) and what to do when a try raises one of
    them (with ``match_subclasses``, also a subclass of one)."""

    exception: ExceptionSpec | list[ExceptionSpec]
    action: RetryAction = RetryAction.RETRY
    retry_delay: timedelta | None = None
    reason: str | None = None
    match_subclasses: bool = True
    _classes: tuple[type[BaseException], ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for spec in self._specs:
            if isinstance(spec, str):
                if "." not in spec:
                    raise ValueError(
                        "RetryRule exception string must be a dotted import path "
                        f"(e.g. 'builtins.ValueError'), got {spec!r}"
                    )
                try:
                    import_string(spec)
                except (ImportError, AttributeError):
                    log.warning(
                        "RetryRule: exception class %r could not be imported at parse time. "
                        "It may resolve on the worker, but check for typos.",
                        spec,
                    )

    @property
    def _specs(self) -> list[ExceptionSpec]:
        return self.exception if isinstance(self.exception, list) else [self.exception]

    @property
    def exception_path(self) -> str:
        return ",".join(_dotted(spec) for spec in self._specs)

    def matches(self, exc: BaseException) -> bool:
        classes = self._resolved()
        if not classes:
            return False
        if self.match_subclasses:
            return isinstance(exc, classes)
        return type(exc) in classes

    def _resolved(self) -> tuple[type[BaseException], ...]:
        if self._classes is None:
            found: list[type[BaseException]] = []
            for spec in self._specs:
                if not isinstance(spec, str):
                    found.append(spec)
                    continue
                try:
                    found.append(import_string(spec))
                except (ImportError, AttributeError):
                    log.warning("Could not import exception class %r, it will not match", spec)
            self._classes = tuple(found)
        return self._classes

    def serialize(self) -> dict[str, Any]:
        paths = [_dotted(spec) for spec in self._specs]
        data: dict[str, Any] = {
            "exception": paths if len(paths) > 1 else paths[0],
            "action": self.action.value,
            "match_subclasses": self.match_subclasses,
        }
        if self.retry_delay is not None:
            data["retry_delay"] = self.retry_delay.total_seconds()
        if self.reason is not None:
            data["reason"] = self.reason
        return data

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> RetryRule:
        delay = data.get("retry_delay")
        return cls(
            exception=data["exception"],
            action=RetryAction(data["action"]),
            retry_delay=None if delay is None else timedelta(seconds=delay),
            reason=data.get("reason"),
            match_subclasses=data.get("match_subclasses", True),
        )


class ExceptionRetryPolicy(RetryPolicy):
    """Rules tried in order, the first that matches decides; none: ``default``."""

    def __init__(self, rules: list[RetryRule], default: RetryAction = RetryAction.DEFAULT) -> None:
        self.rules = rules
        self.default = default

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: Any = None,
    ) -> RetryDecision:
        for rule in self.rules:
            if rule.matches(exception):
                reason = rule.reason or f"Matched rule for {type(exception).__name__}"
                return RetryDecision(rule.action, rule.retry_delay, reason)
        return RetryDecision(self.default)

    def serialize(self) -> dict[str, Any]:
        return {
            "__type": "ExceptionRetryPolicy",
            "rules": [rule.serialize() for rule in self.rules],
            "default": self.default.value,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> ExceptionRetryPolicy:
        rules = [RetryRule.deserialize(rule) for rule in data["rules"]]
        return cls(rules, RetryAction(data.get("default", "default")))
