"""Every benchmark runs at a tiny size, so the suite cannot rot (figures are not checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.timeout(300)


def test_benchmarks_smoke(tmp_path: Path) -> None:
    output, report = tmp_path / "latest.json", tmp_path / "benchmarks.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--smoke",
            "--output",
            str(output),
            "--report",
            str(report),
        ],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-5000:])
    results = json.loads(output.read_text())
    for key in (
        "floor.hop_p50_ms",
        "floor.tasks_per_s_unbatched",
        "floor.tasks_per_s_batched",
        "hop.p50_ms",
        "hop.p90_ms",
        "hop.p99_ms",
        "hop.execution_p50_ms",
        "throughput.tasks_per_s",
        "expansion.seconds",
        "memory.coordinator_rss_mb",
        "airflow_scenario.total_lag_s",
        "airflow_scenario.execution_lag_median_s",
        "airflow_scenario.wall_s",
    ):
        section, name = key.split(".")
        assert results[section][name] > 0, key
    for key in ("one_worker_s", "four_workers_s", "registered_to_first_task_s_max"):
        assert results["scaling"][key] > 0, key
    for key in ("grid_first_paint_s", "grid_cells_in_dom", "graph_render_s"):
        assert results["ui"][key] > 0, key
    assert "streams" in results["queue_choice"]
    assert results["startup"]["standalone_to_first_task_s"] > 0
    assert {"cores", "python", "redis", "commit"} <= set(results["machine"])
    assert "smoke run" in report.read_text()
    assert results["redis_priority"] in report.read_text()  # the priority Redis ran at
