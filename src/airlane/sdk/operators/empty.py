"""EmptyOperator: a node that does nothing; the coordinator completes it without a worker."""

from __future__ import annotations

from typing import Any, ClassVar

from airlane.sdk.baseoperator import BaseOperator
from airlane.sdk.context import Context


class EmptyOperator(BaseOperator):
    """Does nothing; useful to group or join branches."""

    ui_color = "#e8f7e4"
    is_empty: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass with an execute of its own runs it: Airflow's ``dags test`` runs such a
        # task (2.5's example_skip_dag skips this way) instead of completing it unrun.
        super().__init_subclass__(**kwargs)
        if "execute" in cls.__dict__:
            cls.is_empty = False

    def execute(self, context: Context) -> Any:
        return None


class DummyOperator(EmptyOperator):
    """Airflow 1.x/2.x name of :class:`EmptyOperator`."""
