"""Alternating runs of two commits on one machine: before, after, before, after ...

    python -m bench.ab --before <rev> --after <rev> [--rounds N] [--smoke]

Each rev gets a clean checkout (``git worktree add --detach`` under a temporary folder, removed
afterwards) and is measured with its own code: ``bench/ab_round.py`` runs under this
interpreter with ``PYTHONPATH=<checkout>/src:<checkout>`` (no new virtualenv), so the
checkout's ``airlane`` and its ``bench`` modules are the ones used. Each run: the Redis floor,
hop along a chain, a fan-out's throughput and Airflow's 100 x 10 scenario. The environment is
passed on unchanged (e.g. ``AIRLANE_FAST_PATH``): the same switch applies to both commits.

Writes bench/results/ab.json (raw figures per run, load average before and after each run,
medians, pairs, commits, machine); bench/report.py renders it into docs/benchmarks.md
(:func:`bench.ab_report.section`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import ab_report, ab_round, scenario_harness
from bench.stamp import save, stamp

ROOT = Path(__file__).resolve().parent.parent
ENTRY = Path(ab_round.__file__)
#: Copied beside it: Airflow's scenario is measured with this checkout's harness in every round
HARNESS = Path(scenario_harness.__file__)
#: Copied beside it too (as ab_cpu.py): every checkout's fan-out has its CPU per task measured
#: by this checkout's meter, which counts the task processes (older checkouts' did not)
CPU_METER = ROOT / "bench" / "profile.py"
#: Copied beside it too: every checkout's Redis runs at the CPU priority this checkout gives it
PRIORITY = ROOT / "src" / "airlane" / "service" / "redis_priority.py"
#: Files of a checkout that ab_round.py imports (checked before anything runs).
REQUIRED = (
    "bench/airlane_bench.py",
    "bench/dags.py",
    "bench/floor.py",
    "tests/integration/cluster.py",
    "src/airlane/__init__.py",
)


class AbError(Exception):
    """A rev that cannot be measured, or a run that failed."""


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AbError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def resolve(rev: str) -> dict[str, str]:
    """The full commit and subject of ``rev``."""
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except AbError:
        raise AbError(f"{rev!r} names no commit of this repository") from None
    return {"rev": rev, "commit": commit, "subject": _git("log", "-1", "--format=%s", commit)}


def missing(checkout: Path) -> list[str]:
    """The files of :data:`REQUIRED` that ``checkout`` lacks."""
    return [name for name in REQUIRED if not (checkout / name).exists()]


def add_checkout(commit: str, path: Path) -> None:
    _git("worktree", "add", "--detach", str(path), commit)
    lacking = missing(path)
    if lacking:
        raise AbError(f"{commit[:7]} has no {', '.join(lacking)}: bench.ab needs these")


def remove_checkout(path: Path) -> None:
    if path.exists():
        _git("worktree", "remove", "--force", str(path))


def _run_env(checkout: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{checkout / 'src'}{os.pathsep}{checkout}"}


def run_one(checkout: Path, entry: Path, work: Path, smoke: bool) -> dict[str, Any]:
    """One run of ``checkout``: its figures, when it started and the load around it."""
    work.mkdir(parents=True)
    output = work / "figures.json"
    command = [sys.executable, str(entry), "--output", str(output), "--work", str(work / "run")]
    load_before, started = list(os.getloadavg()), time.strftime("%H:%M:%S", time.gmtime())
    done = subprocess.run(
        [*command, *(["--smoke"] if smoke else [])], cwd=checkout, env=_run_env(checkout)
    )
    load_after = list(os.getloadavg())
    if done.returncode == ab_round.MISSING_EXIT:
        raise AbError(f"{checkout.name} lacks what bench/ab_round.py needs (above)")
    if done.returncode != 0:
        raise AbError(f"{checkout.name}: the run failed (exit {done.returncode}); logs in {work}")
    figures: dict[str, Any] = json.loads(output.read_text())
    if not figures["airlane_path"].startswith(str(checkout)):
        raise AbError(f"{checkout.name} ran airlane from {figures['airlane_path']}")
    return {**figures, "started": started, "load_before": load_before, "load_after": load_after}


def alternate(
    checkouts: dict[str, Path], temp: Path, rounds: int, smoke: bool
) -> dict[str, list[dict[str, Any]]]:
    """before, after, before, after ... ``rounds`` times."""
    entry = temp / "ab_round.py"  # outside any package: imports resolve to the checkout
    shutil.copyfile(ENTRY, entry)
    shutil.copyfile(HARNESS, temp / "scenario_harness.py")
    shutil.copyfile(PRIORITY, temp / "redis_priority.py")
    shutil.copyfile(CPU_METER, temp / "ab_cpu.py")
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in ab_report.LABELS}
    for i in range(rounds):
        for label in ab_report.LABELS:
            run = run_one(checkouts[label], entry, temp / f"round{i + 1}-{label}", smoke)
            runs[label].append(run)
            shown = {f.key: run.get(f.key) for f in ab_report.FIGURES}
            print(f"round {i + 1} {label}: {shown}", flush=True)
    return runs


def measure(revs: dict[str, dict[str, str]], rounds: int, smoke: bool) -> dict[str, Any]:
    temp = Path(tempfile.mkdtemp(prefix="airlane-ab-"))
    checkouts = {label: temp / label for label in ab_report.LABELS}
    try:
        for label, path in checkouts.items():
            add_checkout(revs[label]["commit"], path)
    except AbError:
        for path in checkouts.values():
            remove_checkout(path)
        shutil.rmtree(temp, ignore_errors=True)
        raise
    try:
        runs = alternate(checkouts, temp, rounds, smoke)
    finally:  # a failed run's logs stay in ``temp`` (its error names the folder)
        for path in checkouts.values():
            remove_checkout(path)
    shutil.rmtree(temp, ignore_errors=True)
    return {"runs": runs, "sizes": runs["after"][0]["sizes"], **ab_report.summarize(runs)}


def _command(args: argparse.Namespace) -> str:
    smoke = " --smoke" if args.smoke else ""
    revs = f"--before {args.before} --after {args.after}"
    return f"python -m bench.ab {revs} --rounds {args.rounds}{smoke}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the rev measured first in each round")
    parser.add_argument("--after", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: the figures mean nothing")
    parser.add_argument("--output", default=str(ab_report.RESULTS))
    args = parser.parse_args()
    try:
        revs = {label: resolve(getattr(args, label)) for label in ab_report.LABELS}
        measured = measure(revs, args.rounds, args.smoke)
    except AbError as exc:
        sys.exit(f"bench.ab: {exc}")
    stamped = stamp()
    found = {
        **measured,
        "command": _command(args),
        "rounds": args.rounds,
        "smoke": args.smoke,
        "revs": revs,
        "env": {k: v for k, v in os.environ.items() if k.startswith("AIRLANE_")},
        "machine": stamped["machine"],
        "date": stamped["date"],
        "driver_commit": stamped["commit"],
    }
    save(Path(args.output), found)
    print("\n".join(ab_report.section(found)))


if __name__ == "__main__":
    main()
