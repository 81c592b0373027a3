"""The text a failed try logs: the user's traceback, without the frames of Airlane's machinery.

A Python task's exception travels up through the task runner, ``asyncio.wait_for``, the thread
pool and the operator's ``execute`` before reaching the log; those frames come first in the
traceback and push the user's own below the fold. As Airflow hides its own frames, the leading
run of Airlane and asyncio frames is dropped; from the first frame of anyone else (the DAG file,
a library it calls) everything is kept whole, Airlane frames the user's code called included.

An Airlane operator failing on purpose (``AirflowException`` such as a Bash exit code, or an
execution timeout) with no user frame at all logs its one-line message: a traceback of Airlane's
internals tells the user nothing. Any other exception without a user frame is an Airlane bug,
and keeps its whole traceback for the report. Exceptions chained to it (``raise ... from``,
or raised while handling another) are trimmed the same way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import traceback
from collections.abc import Iterator

import airlane
from airlane.sdk.exceptions import AirflowException

#: Files and folders whose frames are machinery when they come before the user's first frame.
_PACKAGES = (airlane, asyncio, concurrent.futures)
INTERNAL_PREFIXES: tuple[str, ...] = (
    *(os.path.dirname(os.path.abspath(p.__file__ or "")) + os.sep for p in _PACKAGES),
    os.path.abspath(threading.__file__),
)


def is_internal(filename: str, prefixes: tuple[str, ...] = INTERNAL_PREFIXES) -> bool:
    return os.path.abspath(filename).startswith(prefixes)


def _chain(exc: traceback.TracebackException) -> Iterator[traceback.TracebackException]:
    """``exc`` and the exceptions it was raised from or while handling (as they are printed)."""
    seen: set[int] = set()
    current: traceback.TracebackException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
        else:
            current = None


def _trim(exc: traceback.TracebackException, prefixes: tuple[str, ...]) -> bool:
    """Drop the leading internal frames of ``exc``; whether any frame of the user remains."""
    frames = list(exc.stack)
    first_user = next(
        (i for i, f in enumerate(frames) if not is_internal(f.filename, prefixes)), None
    )
    if first_user is None:
        return False
    exc.stack = traceback.StackSummary.from_list(frames[first_user:])
    return True


def task_failure_text(
    err: BaseException, message: str, prefixes: tuple[str, ...] = INTERNAL_PREFIXES
) -> str:
    """What a failed try logs for ``err``; ``message`` is its one-line summary (the try's error)."""
    exc = traceback.TracebackException(type(err), err, err.__traceback__)
    chain = list(_chain(exc))
    with_user = [_trim(one, prefixes) for one in chain]
    if not any(with_user):
        if isinstance(err, AirflowException | TimeoutError):
            return message
        return "".join(traceback.format_exception(type(err), err, err.__traceback__)).rstrip()
    for one, has_user in zip(chain, with_user, strict=True):
        if not has_user:  # only machinery: its exception line is what says something
            one.stack = traceback.StackSummary()
    return "".join(exc.format()).rstrip()
