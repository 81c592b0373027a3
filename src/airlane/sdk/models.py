"""``DagRun`` and ``TaskInstance`` as names a DAG file imports (``airflow.models.dagrun``,
``airflow.models.taskinstance``), mostly for type hints.

Airlane has no ORM behind them: the objects a task sees (``context["dag_run"]``, ``ti``) are
registered as virtual subclasses, so ``isinstance`` checks hold; querying the metadata database
through these classes (``DagRun.find``) is not available and building one is refused.
"""

from __future__ import annotations

import abc
from typing import Any

from airlane.sdk.exceptions import AirflowException


class _ContextOnly(abc.ABC):  # noqa: B024 (no abstract method: a name for virtual subclasses)
    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise AirflowException(
            f"{cls.__name__} has no database in Airlane: use the one a task receives "
            f"(context['{cls._context_key}'])"
        )

    _context_key = ""


class DagRun(_ContextOnly):
    """The run a task belongs to: ``context["dag_run"]`` and ``ti.dag_run``."""

    _context_key = "dag_run"


class TaskInstance(_ContextOnly):
    """The running try: ``context["ti"]``."""

    _context_key = "ti"


__all__ = ["DagRun", "TaskInstance"]
