"""Airflow's rule for run ids, checked wherever a run is created (``Store.create_run``)."""

from __future__ import annotations

import re

#: Airflow's ``[scheduler] allowed_run_id_pattern`` default, ``^[A-Za-z0-9_.~:+-]+$``: ASCII
#: only (Python's ``re`` without ``\w``), so ``é`` is refused as Airflow refuses it. Airflow
#: also accepts ids matching its ``RUN_ID_REGEX`` (``manual__<date>``...), a subset of this.
_RUN_ID_CHARS = re.compile(r"[A-Za-z0-9_.~:+\-]+")
#: Airflow's ``ID_LEN``: the width of its ``run_id`` column.
RUN_ID_MAX_CHARS = 250
#: The API's "any" wildcard in paths (``/dags/~/dagRuns/~/taskInstances``).
ANY_ID = "~"


class InvalidRunId(ValueError):
    """A run id that Airflow's rule refuses; the message says why."""


def run_id_problem(run_id: object) -> str | None:
    """Why ``run_id`` is not a valid run id, or None when it is.

    Airflow 3.1 (``DagRun.validate_run_id`` and ``DAG.create_dagrun``) takes a run id that
    matches ``allowed_run_id_pattern`` with ``re.match``, whose ``$`` also lets a trailing
    newline through; we match the whole string. Airflow bounds the length only by its column
    (250). It accepts ``~`` alone, which its API then reads as "every run" in paths, so such a
    run cannot be listed; we refuse that one id.
    """
    if not isinstance(run_id, str) or not run_id:
        return "must be a non-empty string"
    if len(run_id) > RUN_ID_MAX_CHARS:
        return f"must be at most {RUN_ID_MAX_CHARS} characters (it has {len(run_id)})"
    if not _RUN_ID_CHARS.fullmatch(run_id):
        return "may use only ASCII letters, digits and _ . ~ : + - (Airflow's run id pattern)"
    if run_id == ANY_ID:
        return f"{ANY_ID!r} alone is the API's wildcard for any run"
    return None


def validate_run_id(run_id: object) -> str:
    """``run_id`` itself when valid; raises :class:`InvalidRunId` otherwise."""
    problem = run_id_problem(run_id)
    if problem is not None:
        raise InvalidRunId(f"run id {run_id!r} {problem}")
    assert isinstance(run_id, str)
    return run_id
