"""Run the benchmarks, write ``bench/results/latest.json`` and regenerate ``docs/benchmarks.md``.

python -m bench.run            # full sizes (several minutes)
python -m bench.run --smoke    # every benchmark at a tiny size (CI)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import airlane_bench, floor, report, scaling_bench, ui_bench
from bench.bench_redis import start_redis

ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict[str, Any]:
    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "redis": redis_version,
        "platform": platform.platform(),
        "commit": commit or "unknown",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


ARQ_VENV = ROOT / ".venv-arq"


def arq_python() -> Path:
    """The interpreter of arq's own virtualenv (arq pins redis-py < 6; Airlane uses newer)."""
    python = ARQ_VENV / "bin" / "python"
    if not (ARQ_VENV / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", str(ARQ_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "arq>=0.26", "hiredis"], check=True
        )
        (ARQ_VENV / ".installed").touch()
    return python


def measure_arq(url: str, smoke: bool) -> dict[str, Any]:
    command = [str(arq_python()), "-m", "bench.arq_bench", url, *(["--smoke"] if smoke else [])]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "latest.json"))
    parser.add_argument("--report", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument(
        "--render-only", action="store_true", help="only regenerate the report from --output"
    )
    args = parser.parse_args()
    if args.render_only:
        results = json.loads(Path(args.output).read_text())
        Path(args.report).write_text(report.render(results, "python -m bench.run"))
        return

    work = Path(tempfile.mkdtemp(prefix="airlane-bench-"))
    redis, redis_priority = start_redis(work)
    try:
        results: dict[str, Any] = {"machine": machine(), "smoke": args.smoke}
        results["redis_priority"] = redis_priority.describe()
        started = time.time()
        results["floor"] = floor.measure(redis.url, args.smoke)
        print("floor", results["floor"], flush=True)
        results.update(airlane_bench.measure(work, redis, args.smoke))
        results["scaling"] = scaling_bench.measure(work, redis, args.smoke)
        print("scaling", results["scaling"], flush=True)
        results["ui"] = ui_bench.measure(work, redis, args.smoke)
        print("ui", results["ui"], flush=True)
        results["queue_choice"] = {
            "streams": {
                "hop_p50_ms": results["hop"]["p50_ms"],
                "hop_p99_ms": results["hop"]["p99_ms"],
                "tasks_per_s": results["throughput"]["tasks_per_s"],
            },
            "arq": measure_arq(redis.url, args.smoke),
        }
        print("arq", results["queue_choice"]["arq"], flush=True)
        results["duration_s"] = time.time() - started
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    if not args.no_report:
        Path(args.report).write_text(
            report.render(results, " ".join(["python -m bench.run", *sys.argv[1:]]))
        )


if __name__ == "__main__":
    main()
