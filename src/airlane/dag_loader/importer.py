"""Importing one DAG file in this process and collecting its DAGs and errors.

The DAG processor runs this in a child process (see :mod:`isolated`); workers and
``dags test`` run it in-process to get the real operator objects.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import traceback
from types import ModuleType, TracebackType

from airlane.dag_loader import airflow_compat, plugins
from airlane.dag_loader.models import ImportErrorInfo
from airlane.dag_loader.validate import validate_dag
from airlane.sdk.dag import DAG, start_collecting, stop_collecting

#: One import at a time per process: the authoring context (``sdk/_stack.py``: open DAGs and
#: task groups, the DAGs collected during an import) is process-wide, so two files imported
#: at once from two threads would see each other's state and lose their DAGs.
_IMPORT_LOCK = threading.RLock()


def module_name_for(path: str) -> str:
    digest = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:12]
    stem = os.path.splitext(os.path.basename(path))[0]
    return f"airlane_dag_{digest}_{stem}"


def _error_line(path: str, tb: TracebackType | None) -> int | None:
    """The line of the deepest traceback frame inside ``path``."""
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if os.path.abspath(frame.f_code.co_filename) == path:
            line = lineno
    return line


def _user_traceback(path: str, err: BaseException) -> str:
    """The traceback from the DAG file's first frame on (the loader's own frames left out)."""
    tb = err.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != path:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(err), err, tb or err.__traceback__))


def error_from_exception(path: str, err: BaseException) -> ImportErrorInfo:
    path = os.path.abspath(path)
    if isinstance(err, SyntaxError) and err.filename and os.path.abspath(err.filename) == path:
        text = "".join(traceback.format_exception_only(type(err), err))
        return ImportErrorInfo(path, err.lineno, f"SyntaxError: {err.msg}", text)
    text = _user_traceback(path, err)
    message = f"{type(err).__name__}: {err}"
    return ImportErrorInfo(path, _error_line(path, err.__traceback__), message, text)


def plugin_import_errors() -> list[ImportErrorInfo]:
    """The plugins folder's files that failed to load (``dag_loader.plugins``), as import
    errors naming each file."""
    return [error_from_exception(path, err) for path, err in sorted(plugins.failures().items())]


def _add_to_path(folder: str | None) -> None:
    if folder and folder not in sys.path:
        sys.path.append(folder)


def import_module(path: str, dags_folder: str | None = None) -> ModuleType:
    """Execute the DAG file as a fresh module (replacing an earlier import of it)."""
    airflow_compat.install()
    plugins.ensure_loaded()  # the plugins folder on sys.path, its timetables registered
    path = os.path.abspath(path)
    _add_to_path(os.path.abspath(dags_folder) if dags_folder else os.path.dirname(path))
    return plugins.exec_file(module_name_for(path), path)


def _bag_subdags(parent: DAG, found: dict[str, DAG]) -> None:
    """As Airflow 2's DagBag: each SubDagOperator's DAG is a DAG of the file too, with the
    parent's fileloc and ``parent_dag`` set, the top DAG for nested ones as in Airflow (the
    scheduler never schedules a sub-DAG by itself)."""
    for sub in parent.subdags:
        sub.parent_dag = parent
        sub.fileloc = parent.fileloc
        found.setdefault(sub.dag_id, sub)


def load_dags(path: str, dags_folder: str | None = None) -> tuple[list[DAG], list[ImportErrorInfo]]:
    """The valid DAGs defined by ``path``, and an error for the file or each invalid DAG."""
    with _IMPORT_LOCK:
        return _load_dags(os.path.abspath(path), dags_folder)


def _load_dags(path: str, dags_folder: str | None) -> tuple[list[DAG], list[ImportErrorInfo]]:
    collected = start_collecting()
    try:
        module = import_module(path, dags_folder)
    except (Exception, SystemExit) as err:
        return [], [error_from_exception(path, err)]
    finally:
        stop_collecting()
    found: dict[str, DAG] = {}
    candidates = [v for v in vars(module).values() if isinstance(v, DAG)]
    candidates += [d for d in collected if d.entered and d.auto_register]
    for candidate in candidates:
        found.setdefault(candidate.dag_id, candidate)
    for parent in list(found.values()):
        _bag_subdags(parent, found)
    dags, errors = [], []
    for dag in found.values():
        try:
            validate_dag(dag)
        except Exception as err:
            errors.append(ImportErrorInfo(path, dag.lineno, f"{type(err).__name__}: {err}", ""))
        else:
            dags.append(dag)
    return dags, errors
