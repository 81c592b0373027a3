"""The figures of ``bench.ab`` (alternating runs of two commits): medians, pairs and the section
of ``docs/benchmarks.md`` (bench/report.py adds it when bench/results/ab.json exists)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "ab.json"
LABELS = ("before", "after")


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    fmt: str


FIGURES = (
    Figure("floor_hop_p50_ms", "Redis floor: hop p50 (ms)", ".3f"),
    Figure("hop_p50_ms", "hop p50 (ms), {chain}-task chain", ".3f"),
    Figure("hop_p99_ms", "hop p99 (ms)", ".3f"),
    Figure("tasks_per_s", "{fan_out:,}-task fan-out (tasks/s)", ",.0f"),
    Figure("cpu_us_per_task", "CPU per task in the fan-out, all processes (us)", ",.0f"),
    Figure("floor_scenario_total_lag_s", "Redis floor: Airflow's scenario, total lag (s)", ".3f"),
    Figure(
        "scenario_total_lag_s",
        "Airflow's scenario, {dags} DAGs x {tasks}: lag to the claim (s)",
        ".3f",
    ),
    # (measured since session 13: the start when the try began to execute)
    Figure("hop_execution_p50_ms", "hop p50 to execution start (ms)", ".3f"),
    Figure("scenario_execution_lag_s", "Airflow's scenario: lag to execution start (s)", ".3f"),
)


def medians(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    """Each figure's median over the runs that have it (None when none has)."""
    found: dict[str, float | None] = {}
    for figure in FIGURES:
        values = [r[figure.key] for r in runs if r.get(figure.key) is not None]
        found[figure.key] = statistics.median(values) if values else None
    return found


def _compare(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    ratios = [a / b for b, a in pairs if b]
    return {
        "pairs": len(pairs),
        "after_lower": sum(1 for b, a in pairs if a < b),
        "median_ratio": statistics.median(ratios) if ratios else None,
    }


def paired(
    before: list[dict[str, Any]], after: list[dict[str, Any]], shift: int = 0
) -> dict[str, Any]:
    """Per figure, round by round: how many pairs have after < before, and the median of
    after / before. ``shift=1`` pairs after n with before n + 1 (the run that followed it), so
    that a drift of the machine's load during the session shows as a difference between the
    two pairings."""
    found: dict[str, Any] = {}
    for figure in FIGURES:
        pairs = [
            (b[figure.key], a[figure.key])
            for a, b in zip(after, before[shift:], strict=False)
            if a.get(figure.key) is not None and b.get(figure.key) is not None
        ]
        found[figure.key] = _compare(pairs)
    return found


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per label, and both pairings."""
    before, after = runs["before"], runs["after"]
    return {
        "medians": {label: medians(runs[label]) for label in LABELS},
        "pairs": paired(before, after),
        "pairs_shifted": paired(before, after, shift=1),
    }


def _value(value: float | None, fmt: str) -> str:
    return "-" if value is None else f"{value:{fmt}}"


def _count(pair: dict[str, Any]) -> str:
    return f"{pair['after_lower']}/{pair['pairs']}" if pair["pairs"] else "-"


def _figure_rows(found: dict[str, Any]) -> list[str]:
    sizes = found["sizes"]
    names = {
        "chain": sizes["chain"],
        "fan_out": sizes["fan_out"],
        "dags": sizes["scenario"][0],
        "tasks": f"{sizes['scenario'][1]} tasks",
    }
    rows = []
    for figure in FIGURES:
        if figure.key not in found["pairs"]:
            continue  # (results written before the figure existed)
        before, after = (found["medians"][label][figure.key] for label in LABELS)
        pair, shifted = found["pairs"][figure.key], found["pairs_shifted"][figure.key]
        rows.append(
            f"| {figure.label.format(**names)} | {_value(before, figure.fmt)}"
            f" | {_value(after, figure.fmt)} | {_value(pair['median_ratio'], '.2f')}"
            f" | {_count(pair)} | {_count(shifted)} |"
        )
    return rows


def _load(values: list[float] | None) -> str:
    return "-" if not values else " ".join(f"{v:.2f}" for v in values)


def _run_rows(found: dict[str, Any]) -> list[str]:
    rows = []
    for i in range(found["rounds"]):
        for label in LABELS:
            run = found["runs"][label][i]
            figures = " | ".join(_value(run.get(f.key), f.fmt) for f in FIGURES)
            rows.append(
                f"| {i + 1} | {label} | {run['started']} | {_load(run.get('load_before'))}"
                f" | {_load(run.get('load_after'))} | {figures} |"
            )
    return rows


def _load_range(found: dict[str, Any]) -> str:
    ones = [
        run[key][0]
        for label in LABELS
        for run in found["runs"][label]
        for key in ("load_before", "load_after")
        if run.get(key)
    ]
    return f"{min(ones):.2f} to {max(ones):.2f}" if ones else "not recorded"


def _rev(found: dict[str, Any], label: str) -> str:
    rev = found["revs"][label]
    return f"**{label}** = {rev['commit'][:7]} ({rev['subject']})"


def _priorities(found: dict[str, Any]) -> list[str]:
    """The CPU priorities the runs' Redis ran at (runs before this was recorded left out)."""
    seen = {r.get("redis_priority") for runs in found["runs"].values() for r in runs}
    return sorted(p for p in seen if p)


def section(found: dict[str, Any]) -> list[str]:
    """``docs/benchmarks.md``'s section for one ``bench.ab`` run."""
    smoke = " (smoke sizes: the figures mean nothing)" if found.get("smoke") else ""
    env = ", ".join(f"`{k}={v}`" for k, v in sorted(found["env"].items()))
    return [
        "## Before and after, alternating runs on one machine",
        "",
        f"`{found['command']}`{smoke}; {found['machine']}; {found['date']}.",
        f"{_rev(found, 'before')}; {_rev(found, 'after')}.",
        f"Runs alternated before, after, before, after ... for {found['rounds']} round(s); each"
        " commit ran from a clean checkout with its own code and bench modules, except"
        " Airflow's scenario's harness and the CPU meter (the services, Redis and the workers'"
        " task processes), which are the running checkout's for both. Each run: a"
        " fresh redis-server (`appendfsync everysec`"
        + "".join(f", {p} CPU priority" for p in _priorities(found))
        + "), the Redis floor, then DAG processor,"
        " coordinator and two workers (64 slots each): hop along the chain (after a warm-up"
        " run), the fan-out, Airflow's scenario. Environment: "
        + (env or "no `AIRLANE_*` variable set (each commit's defaults)")
        + ".",
        "",
        "| figure | before (median) | after (median) | after / before (median of pairs)"
        " | pairs with after < before | the same, after n vs before n+1 |",
        "|---|---|---|---|---|---|",
        *_figure_rows(found),
        "",
        f"1-minute load average at the start and end of the runs: {_load_range(found)}"
        f" on {found['machine'].split(',')[0]}. For tasks/s a higher figure is better; for"
        " the others, lower.",
        "",
        "Every run (1/5/15-minute load average at its start and its end):",
        "",
        "| round | commit | start UTC | load at start | load at end | "
        + " | ".join(f.key for f in FIGURES)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(FIGURES),
        *_run_rows(found),
        "",
    ]
