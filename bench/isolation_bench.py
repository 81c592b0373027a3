"""The cost of running tries in task processes: hop and throughput with ``process`` and
``inline`` isolation, alternating on one machine, reported as medians.

python -m bench.isolation_bench --rounds 3 --chain 200 --fan-out 5000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from tests.integration.cluster import RedisServer

from bench import airlane_bench, dags

MODES = ("process", "inline")
RESULTS = Path(__file__).resolve().parent / "results" / "isolation.json"


def _one(
    work: Path, redis: RedisServer, folder: Path, mode: str, ids: tuple[str, str], n: int
) -> dict[str, Any]:
    chain_id, fan_id = ids
    with airlane_bench.running(
        work, redis, folder, workers=2, AIRLANE_TASK_ISOLATION=mode
    ) as cluster:
        cluster.wait_for_dags(chain_id, fan_id, timeout_s=300)
        hop = airlane_bench.hop(cluster, chain_id)
        first = airlane_bench.throughput(cluster, redis, fan_id, n)
        second = airlane_bench.throughput(cluster, redis, fan_id, n)
    return {
        "hop_p50_ms": hop["p50_ms"],
        "hop_p99_ms": hop["p99_ms"],
        "first_fan_out_tasks_per_s": first["tasks_per_s"],
        "second_fan_out_tasks_per_s": second["tasks_per_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chain", type=int, default=200)
    parser.add_argument("--fan-out", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "dags"
        folder.mkdir()
        ids = (dags.chain(folder, args.chain), dags.fan_out(folder, args.fan_out))
        redis = RedisServer(work / "redis", appendfsync="everysec")
        (work / "redis").mkdir()
        redis.start()
        samples: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        try:
            for round_number in range(args.rounds):
                for mode in MODES if round_number % 2 == 0 else reversed(MODES):
                    result = _one(
                        work / f"{mode}{round_number}", redis, folder, mode, ids, args.fan_out
                    )
                    samples[mode].append(result)
                    print(mode, json.dumps(result), flush=True)
        finally:
            redis.stop()
    medians = {
        mode: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
        for mode, runs in samples.items()
    }
    command = f"python -m bench.isolation_bench --rounds {args.rounds} --chain {args.chain}"
    command += f" --fan-out {args.fan_out}"
    found = {
        "command": command,
        "chain": args.chain,
        "fan_out": args.fan_out,
        "rounds": args.rounds,
        "medians": medians,
        "samples": samples,
    }
    RESULTS.write_text(json.dumps(found, indent=2) + "\n")
    print(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
