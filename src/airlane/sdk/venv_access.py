"""What code in a virtualenv task reaches of the running task: Variables and XComs.

Airflow 3 reconnects a virtualenv's code to the task's supervisor when Airflow is importable
there (``reinit_supervisor_comms`` in its script), so that ``Variable.get`` and XComs work as
in a normal task. Airlane does the same on workers: the worker installs where the task's data
lives (:func:`use_task_access`), the virtualenv operators pass it to the interpreter they start
(:func:`access_env`), and the generated script's :data:`PREAMBLE` connects when Airlane is
importable there (``system_site_packages`` with the worker's Python, or an external Python with
Airlane installed). ``dags test`` installs nothing: there the code sees the environment's
variables only.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: the environment variable that carries the task's access (JSON) to the interpreter
ACCESS_ENV = "AIRLANE_TASK_ACCESS"

#: run by the generated script before the function: connect when Airlane is there
PREAMBLE = (
    "import os as _airlane_os\n"
    f"if _airlane_os.environ.get({ACCESS_ENV!r}):\n"
    "    try:\n"
    "        from airlane.service.execution.venv_bridge import connect as _airlane_connect\n"
    "    except ImportError:\n"
    "        pass\n"
    "    else:\n"
    "        _airlane_connect()\n"
)

_where: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "airlane_task_access", default=None
)


@contextmanager
def use_task_access(redis_url: str, key_prefix: str) -> Iterator[None]:
    """Where running tasks' Variables and XComs live, for the interpreters they start."""
    token = _where.set({"redis_url": redis_url, "prefix": key_prefix})
    try:
        yield
    finally:
        _where.reset(token)


def access_env(ti: Any) -> dict[str, str]:
    """The environment that gives an interpreter started by task instance ``ti`` its access;
    empty where there is none to give (``dags test``)."""
    where = _where.get()
    if where is None or ti is None:
        return {}
    access = {
        **where,
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "try_number": ti.try_number,
    }
    return {ACCESS_ENV: json.dumps(access)}
