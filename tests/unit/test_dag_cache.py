"""The worker's DAG cache: a file edited since its import is imported again, except for a try
started where its upstream just ended (``recheck`` False), which runs the DAG its upstream ran."""

from __future__ import annotations

import asyncio
from pathlib import Path

from airlane.service.worker.dag_cache import DagCache

SOURCE = (
    "from airlane import DAG, PythonOperator\n"
    "with DAG('cached', schedule=None) as dag:\n"
    "    PythonOperator(task_id={task!r}, python_callable=lambda: None)\n"
)


def test_an_edited_file_is_imported_again_unless_recheck_is_off(tmp_path: Path) -> None:
    path = tmp_path / "cached.py"
    path.write_text(SOURCE.format(task="first"))
    cache = DagCache(str(tmp_path), recheck_s=0.0)

    async def tasks(recheck: bool) -> list[str]:
        return sorted((await cache.get(str(path), "cached", recheck)).task_dict)

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        before = await tasks(True)
        path.write_text(SOURCE.format(task="second_version"))  # (another size: a new signature)
        return before, await tasks(False), await tasks(True)

    before, unchecked, rechecked = asyncio.run(scenario())
    assert before == ["first"]
    assert unchecked == ["first"]
    assert rechecked == ["second_version"]
