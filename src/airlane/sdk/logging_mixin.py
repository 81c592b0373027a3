"""``airflow.utils.log.logging_mixin``: LoggingMixin, the ``log`` of operators, hooks and
everything providers log through.

A class's logger is named as Airflow names it: ``{_log_config_logger_name}.{module}.{class}``
(``airflow.task.operators...`` for operators, ``airflow.task.hooks...`` for hooks), or
``_logger_name`` when the class (or an operator's ``logger_name=``) sets one. Records logged while
a task runs reach that try's log (``airlane.sdk.task_log``).
"""

from __future__ import annotations

import logging
from typing import Any


class LoggingMixin:
    """Gives instances (``self.log``) and classes (``cls.logger()``) a standard library logger."""

    _log: logging.Logger | None = None
    #: the parent logger's name (Airflow's logging config defines it), or None
    _log_config_logger_name: str | None = None
    #: the logger's own name, instead of the class's module and name
    _logger_name: str | None = None

    def __init__(self, context: Any = None) -> None:
        super().__init__()

    @staticmethod
    def _create_logger_name(
        logged_class: type,
        log_config_logger_name: str | None = None,
        class_logger_name: str | None = None,
    ) -> str:
        name = (
            class_logger_name
            if class_logger_name is not None
            else f"{logged_class.__module__}.{logged_class.__name__}"
        )
        if log_config_logger_name:
            return f"{log_config_logger_name}.{name}" if name else log_config_logger_name
        return name

    @classmethod
    def _get_log(cls, obj: Any, clazz: type) -> logging.Logger:
        if obj._log is None:
            obj._log = logging.getLogger(
                cls._create_logger_name(clazz, obj._log_config_logger_name, obj._logger_name)
            )
        return obj._log  # type: ignore[no-any-return]

    @classmethod
    def logger(cls) -> logging.Logger:
        """The class's logger."""
        return LoggingMixin._get_log(cls, cls)

    @property
    def log(self) -> logging.Logger:
        """The instance's logger."""
        return LoggingMixin._get_log(self, self.__class__)


__all__ = ["LoggingMixin"]
