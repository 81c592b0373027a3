"""Which Airflow a DAG file was written for, as far as its imports tell.

``airflow dags test`` differs between Airflow 2 and 3 in one way that DAGs can see: Airflow 2's
creates a manual run that is *not* externally triggered (``dag_run.external_trigger`` False,
so its LatestOnlyOperator checks the schedule window and skips an old logical date), while
Airflow 3 has no such flag and its LatestOnlyOperator proceeds in every manual run. Airlane
runs both kinds of files; this guesses the kind from the imports: a file that imports Airflow 2's
module paths (``airflow.operators.*``, ``airflow.sensors.*``, ``airflow.models.dag``...) and
none of Airflow 3's (``airflow.sdk``, ``airflow.providers.standard``) is an Airflow 2 file.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

_AIRFLOW_3 = re.compile(
    r"^\s*(?:from|import)\s+airflow\.(?:sdk|providers\.standard)\b", re.MULTILINE
)
_AIRFLOW_2 = re.compile(
    r"^\s*(?:from|import)\s+airflow\.(?:operators|sensors|models)\b", re.MULTILINE
)


def written_for_airflow_2(source: str) -> bool:
    """Whether ``source`` imports Airflow 2's paths and none of Airflow 3's."""
    return bool(_AIRFLOW_2.search(source)) and not _AIRFLOW_3.search(source)


@functools.lru_cache(maxsize=256)
def file_written_for_airflow_2(path: str) -> bool:
    """:func:`written_for_airflow_2` of the file at ``path`` (False when it cannot be read)."""
    try:
        return written_for_airflow_2(Path(path).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return False
