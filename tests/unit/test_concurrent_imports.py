"""Two DAG files imported at once in one process keep their own DAGs (issue 13 item 10)."""

from __future__ import annotations

import threading
from pathlib import Path

from airlane.dag_loader.importer import load_dags

DAG_FILE = """
import time
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("{dag_id}", schedule=None) as dag:
    for i in range(20):
        EmptyOperator(task_id=f"t{{i}}")
        time.sleep(0.001)  # a slow import: the other file's import runs meanwhile
"""


def _load_at_once(paths: dict[str, Path], folder: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    start = threading.Barrier(len(paths))

    def load(dag_id: str) -> None:
        start.wait()
        dags, errors = load_dags(str(paths[dag_id]), str(folder))
        found[dag_id] = [f"{d.dag_id}:{len(d.task_dict)}" for d in dags]
        found[dag_id] += [e.message for e in errors]

    threads = [threading.Thread(target=load, args=(d,)) for d in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found


def test_concurrent_imports_keep_their_dags(tmp_path: Path) -> None:
    paths = {}
    for dag_id in ("first", "second"):
        paths[dag_id] = tmp_path / f"{dag_id}.py"
        paths[dag_id].write_text(DAG_FILE.format(dag_id=dag_id))
    for _ in range(10):
        found = _load_at_once(paths, tmp_path)
        assert found == {"first": ["first:20"], "second": ["second:20"]}
