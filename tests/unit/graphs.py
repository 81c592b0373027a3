"""Building compiled graphs for state machine tests without DAG files."""

from __future__ import annotations

from typing import Any

from airlane.engine.graph import DagGraph


def graph(edges: dict[str, list[str]], **per_task: dict[str, Any]) -> DagGraph:
    """``edges``: task -> downstream tasks (every task must be a key); per-task overrides by id."""
    upstream: dict[str, list[str]] = {t: [] for t in edges}
    for task, downs in edges.items():
        for down in downs:
            upstream[down].append(task)
    tasks = []
    for task in edges:
        raw = {
            "task_id": task,
            "upstream": sorted(upstream[task]),
            "downstream": sorted(edges[task]),
            "retries": 0,
            "retry_delay_s": 10.0,
        }
        raw.update(per_task.get(task, {}))
        tasks.append(raw)
    return DagGraph.from_serialized({"dag_id": "test", "tasks": tasks, "task_groups": []})
