"""``get_parsing_context()`` (``airflow.sdk``, ``airflow.utils.dag_parsing_context``): the DAG and
task a process parses a DAG file for, so that a file generating many DAGs may build only that one.

Airflow sets both while its task runner parses the file for one task (the variables below); its
DAG processor leaves both None, and so does Airlane everywhere: a worker's task process imports
a file once and runs the tries of all its DAGs, so each import must define every DAG. A file
that builds only the DAG named in the context builds all of them when none is named, which is
what Airflow's documentation asks of such files.
"""

from __future__ import annotations

import os
from typing import NamedTuple

_DAG_ID = "_AIRFLOW_PARSING_CONTEXT_DAG_ID"
_TASK_ID = "_AIRFLOW_PARSING_CONTEXT_TASK_ID"


class AirflowParsingContext(NamedTuple):
    """The DAG and task the current parse is for (None: every DAG of the file)."""

    dag_id: str | None
    task_id: str | None


def get_parsing_context() -> AirflowParsingContext:
    """As Airflow: from ``_AIRFLOW_PARSING_CONTEXT_DAG_ID`` and ``..._TASK_ID`` (set by nothing
    in Airlane, so both None unless the environment sets them)."""
    return AirflowParsingContext(os.environ.get(_DAG_ID), os.environ.get(_TASK_ID))
