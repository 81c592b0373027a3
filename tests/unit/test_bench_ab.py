"""bench.ab's pure parts: medians, pairing, rendering, and what a checkout must hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bench import ab, ab_report


def _run(**figures: float | None) -> dict[str, Any]:
    base: dict[str, Any] = {f.key: 1.0 for f in ab_report.FIGURES}
    return {
        **base,
        **figures,
        "started": "21:00:00",
        "load_before": [1.0, 2.0, 3.0],
        "load_after": [1.5, 2.0, 3.0],
    }


def test_medians_skip_missing_figures() -> None:
    runs = [_run(hop_p50_ms=3.0), _run(hop_p50_ms=1.0), _run(hop_p50_ms=2.0)]
    runs[0]["floor_hop_p50_ms"] = None  # the floor's loop timed out in that run
    runs[1]["floor_hop_p50_ms"] = 0.4
    runs[2]["floor_hop_p50_ms"] = 0.2

    found = ab_report.medians(runs)

    assert found["hop_p50_ms"] == 2.0
    assert found["floor_hop_p50_ms"] == pytest.approx(0.3)


def test_medians_of_a_figure_no_run_has_are_none() -> None:
    runs = [_run(cpu_us_per_task=None)]

    assert ab_report.medians(runs)["cpu_us_per_task"] is None


def test_pairs_round_by_round_and_shifted() -> None:
    before = [_run(hop_p50_ms=v) for v in (2.0, 4.0, 1.0)]
    after = [_run(hop_p50_ms=v) for v in (1.0, 5.0, 0.5)]

    same = ab_report.paired(before, after)["hop_p50_ms"]
    shifted = ab_report.paired(before, after, shift=1)["hop_p50_ms"]

    assert same == {"pairs": 3, "after_lower": 2, "median_ratio": 0.5}
    # after 1 vs before 2 (1.0 < 4.0), after 2 vs before 3 (5.0 > 1.0)
    assert shifted == {"pairs": 2, "after_lower": 1, "median_ratio": (0.25 + 5.0) / 2}


def test_pairs_leave_out_a_round_missing_the_figure() -> None:
    before = [_run(tasks_per_s=None), _run(tasks_per_s=100.0)]
    after = [_run(tasks_per_s=90.0), _run(tasks_per_s=120.0)]

    found = ab_report.paired(before, after)["tasks_per_s"]

    assert found == {"pairs": 1, "after_lower": 0, "median_ratio": 1.2}


def _found(rounds: int) -> dict[str, Any]:
    runs = {
        "before": [_run(hop_p50_ms=2.0 + i) for i in range(rounds)],
        "after": [_run(hop_p50_ms=1.0 + i, floor_hop_p50_ms=None) for i in range(rounds)],
    }
    return {
        "runs": runs,
        "sizes": {"chain": 200, "fan_out": 10_000, "scenario": [100, 10]},
        **ab_report.summarize(runs),
        "command": "python -m bench.ab --before a --after b --rounds 2",
        "rounds": rounds,
        "smoke": False,
        "revs": {
            "before": {"rev": "a", "commit": "a" * 40, "subject": "the old way"},
            "after": {"rev": "b", "commit": "b" * 40, "subject": "the new way"},
        },
        "env": {"AIRLANE_FAST_PATH": "1"},
        "machine": "2 cores, Python 3.11.7",
        "date": "2026-12-06 21:00 UTC",
    }


def test_section_gives_medians_pairs_and_load() -> None:
    text = "\n".join(ab_report.section(_found(2)))

    assert "**before** = aaaaaaa (the old way); **after** = bbbbbbb (the new way)" in text
    assert "`AIRLANE_FAST_PATH=1`" in text
    assert "| hop p50 (ms), 200-task chain | 2.500 | 1.500 | 0.58 | 2/2 | 1/1 |" in text
    assert "| Redis floor: hop p50 (ms) | 1.000 | - | - | - | - |" in text
    assert "| 10,000-task fan-out (tasks/s) | 1 | 1 | 1.00 | 0/2 | 0/1 |" in text
    assert "load average at the start and end of the runs: 1.00 to 1.50" in text
    assert "| 2 | after | 21:00:00 | 1.00 2.00 3.00 | 1.50 2.00 3.00 | - | 2.000 |" in text
    assert "smoke" not in text


def test_section_of_a_smoke_run_says_the_figures_mean_nothing() -> None:
    found = {**_found(1), "smoke": True, "env": {}}

    text = "\n".join(ab_report.section(found))

    assert "(smoke sizes: the figures mean nothing)" in text
    assert "no `AIRLANE_*` variable set" in text


def test_a_checkout_without_the_bench_modules_is_named(tmp_path: Path) -> None:
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "floor.py").write_text("")

    lacking = ab.missing(tmp_path)

    assert "bench/airlane_bench.py" in lacking
    assert "bench/floor.py" not in lacking


def test_an_unknown_rev_is_refused() -> None:
    with pytest.raises(ab.AbError, match="names no commit"):
        ab.resolve("no-such-rev-anywhere")
