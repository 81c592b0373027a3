"""The worker service: it claims task messages from its queues, runs each try in a warm task
process (or inline, for trusted code), heartbeats, writes logs and reports each try's end.

- ``loop``: the ``Worker`` (claim, start, finish, recovery of undelivered messages)
- ``task_pool``, ``task_process``, ``task_channel``, ``isolated_try``: tries in task processes
  (``task_template``, ``task_forks``: forked from a template, not started)
- ``inline_try``: tries in the worker's own process (AIRLANE_TASK_ISOLATION=inline)
- ``heartbeat``: the beat on its own thread and Redis connection
- ``dag_cache``: DAG files imported for execution, one at a time
- ``run_conf``: a run's conf, read once per run
- ``log_writer``, ``log_limits``: a try's log lines and their byte caps
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airlane.service.worker.loop import Worker
    from airlane.service.worker.settings import TaskIsolation, WorkerSettings

__all__ = ["TaskIsolation", "Worker", "WorkerSettings"]

#: Loaded on first use: a task process starts as ``python -m
#: airlane.service.worker.task_process``, and a package that imported the worker (which imports
#: task_process) would load that module twice, once under its name and once as __main__.
_LAZY = {"Worker": "loop", "TaskIsolation": "settings", "WorkerSettings": "settings"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
