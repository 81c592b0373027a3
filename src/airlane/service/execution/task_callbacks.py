"""The task callback of a try that died with its worker: its context and its callbacks, as
Airflow 3.1's DAG processor makes them for a ``TaskCallbackRequest``
(``dag_processing/processor.py``, ``_execute_task_callbacks``).

Airflow builds the template context of a task instance made from the request (the dead try's
task, map index and try number, the run and ``max_tries`` from the server) and calls the task's
``on_retry_callback`` when the try will be retried, else its ``on_failure_callback``, each in
order with that context; one that raises is logged and the next still runs. The context has no
``exception`` (the try's process is gone) and no ``reason``. A task with ``email`` gets its
failure or retry email after them (Airflow's ``EmailRequest``).
"""

from __future__ import annotations

import sys
from typing import Any

from airlane.sdk.context import Context
from airlane.sdk.dag import DAG
from airlane.service.execution.context_builder import RunInfo
from airlane.service.execution.dag_callbacks import LastTI, instance_context
from airlane.service.execution.email_alerts import send_error_email, wants_email
from airlane.service.execution.runtime_ti import XComAccess

#: the callback kinds a dead try may get (TaskCallbackKind's values)
_KINDS = ("on_failure_callback", "on_retry_callback")


def task_callbacks(
    dag: DAG, run: RunInfo, dead: LastTI, kind: str, xcoms: XComAccess
) -> tuple[Context, list[Any]]:
    """The context of the dead try ``dead`` and the task's callbacks of ``kind`` (none when
    the task is gone from the DAG)."""
    if kind not in _KINDS:
        raise ValueError(f"not a task callback of a dead try: {kind!r}")
    task = dag.task_dict.get(dead.task_id)
    if task is None:
        return Context(dag=dag, run_id=run.run_id), []
    context = instance_context(dag, task, run, dead, xcoms)
    callbacks = getattr(task, kind, None) or []
    found = list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks]
    if wants_email(task, kind == "on_retry_callback"):  # (last: the callbacks keep their places)
        found.append(ErrorEmail(task, dead.try_number, dead.max_tries))
    return context, found


class ErrorEmail:
    """The failure or retry email of a dead try, as a callback (Airflow's DAG processor sends
    it for an ``EmailRequest``): no exception, the try's process is gone."""

    __name__ = "email_on_failure_or_retry"

    def __init__(self, task: Any, try_number: int, max_tries: int) -> None:
        self.task, self.try_number, self.max_tries = task, try_number, max_tries

    def __call__(self, context: Context) -> None:
        def log(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        send_error_email(self.task, context, None, self.try_number, self.max_tries, log)
