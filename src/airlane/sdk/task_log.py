"""Standard library logging inside a task: records reach the running try's log, INFO and above.

Airflow's task runner routes every logger's records at its ``logging_level`` (INFO) into the task
log, which is how ``self.log.info(...)`` of operators and hooks (``Running statement: ...``,
``Rows affected: 1``) shows there. ``install()`` puts one handler on the root logger that writes
a record to the log of the task whose context is current (``sdk.context``: asyncio copies it into
the threads tasks run in); outside a task it keeps the standard library's last-resort behaviour
(WARNING and above to stderr) unless the process configured handlers of its own.
"""

from __future__ import annotations

import logging

from airlane.sdk.context import current_log, in_task

#: Airflow's ``[logging] logging_level`` default
TASK_LOG_LEVEL = logging.INFO
_FORMAT = "%(levelname)s - %(message)s"


class TaskLogHandler(logging.Handler):
    """Writes records logged inside a task to that task's log, one line at a time."""

    def emit(self, record: logging.LogRecord) -> None:
        if not in_task():
            self._outside_task(record)
            return
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        log = current_log()
        for line in text.splitlines() or [""]:
            log(line)

    def _outside_task(self, record: logging.LogRecord) -> None:
        """As without this handler: the last resort writes WARNING and above to stderr when no
        other handler is configured."""
        root = logging.getLogger()
        alone = all(handler is self for handler in root.handlers)
        last_resort = logging.lastResort
        if alone and last_resort is not None and record.levelno >= last_resort.level:
            last_resort.handle(record)


def install() -> None:
    """Route task-time records into task logs (once per process); the root logger lets INFO
    through when it was left at the standard library's WARNING."""
    root = logging.getLogger()
    if any(isinstance(handler, TaskLogHandler) for handler in root.handlers):
        return
    handler = TaskLogHandler(TASK_LOG_LEVEL)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    if root.level > TASK_LOG_LEVEL:
        root.setLevel(TASK_LOG_LEVEL)
