"""A task deferred on a trigger that fails with a connection's password in its error."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG
from airflow.models.baseoperator import BaseOperator

from secret_triggers import LeakyTrigger


class Leaky(BaseOperator):
    def execute(self, context: Any) -> None:
        self.defer(trigger=LeakyTrigger("mydb"), method_name="never")

    def never(self, context: Any, event: Any = None) -> None:
        raise AssertionError("a failed trigger must not resume its task")


with DAG("defer_secret", start_date=datetime(2024, 1, 1), schedule=None):
    Leaky(task_id="leaky")
