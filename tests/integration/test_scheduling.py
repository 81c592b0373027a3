"""The scheduler on real processes: periodic runs, both semantics, lazy catchup."""

from __future__ import annotations

import itertools
import json
import shutil
import signal
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tests.conftest import TEST_DAGS, run_cli
from tests.integration.cluster import SECRET, USERS, Api, Cluster, RedisServer, wait_until

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def scheduled(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    work = tmp_path_factory.mktemp("scheduling")
    shutil.copytree(TEST_DAGS / "scheduling", work / "dags")
    nodes = Cluster(
        redis_server.url, work / "dags", work, AIRLANE_API_USERS=USERS, AIRLANE_API_SECRET=SECRET
    )
    nodes.start_all(workers=1)
    nodes.wait_for_dags(
        "every_two_seconds",
        "two_second_intervals",
        "catchup_decade",
        "daily_flaky",
        "chain_to_clear",
    )
    yield nodes
    nodes.stop_all()


def _unpause(cluster: Cluster, dag_id: str) -> None:
    cluster.call(lambda store: store.set_paused(dag_id, False))


def _lines(path: Path, count: int) -> list[list[str]]:
    wait_until(
        lambda: path.exists() and len(path.read_text().splitlines()) >= count,
        30,
        f"{count} runs in {path.name}",
    )
    return [line.split() for line in path.read_text().splitlines()[:count]]


def test_a_dag_every_two_seconds_runs_with_its_logical_dates(scheduled: Cluster) -> None:
    _unpause(scheduled, "every_two_seconds")
    rows = _lines(scheduled.markers / "every_two_seconds.txt", 3)
    logical = [datetime.fromisoformat(row[1]) for row in rows]
    assert [b - a for a, b in itertools.pairwise(logical)] == [timedelta(seconds=2)] * 2
    for run_id, when, start, end in rows:
        assert run_id == f"scheduled__{datetime.fromisoformat(when).isoformat()}"
        assert start == when == end  # Airflow 3: a run is a point in time
    client = scheduled.redis()
    for when in logical:
        run = client.hgetall(
            scheduled.keys.run("every_two_seconds", f"scheduled__{when.isoformat()}")
        )
        assert run["run_type"] == "scheduled"
        late_s = float(run["queued_at"]) - when.timestamp()
        assert 0 <= late_s < 1.0, late_s  # created when due, not at a polling tick
    client.close()
    scheduled.call(lambda store: store.set_paused("every_two_seconds", True))


def test_data_interval_semantics_chosen_by_the_dag(scheduled: Cluster) -> None:
    _unpause(scheduled, "two_second_intervals")
    rows = _lines(scheduled.markers / "two_second_intervals.txt", 2)
    for when, start, end in rows:
        assert when == start
        assert datetime.fromisoformat(end) - datetime.fromisoformat(start) == timedelta(seconds=2)
    assert rows[1][1] == rows[0][2]  # contiguous intervals
    scheduled.call(lambda store: store.set_paused("two_second_intervals", True))


def test_catchup_over_a_decade_creates_runs_lazily(scheduled: Cluster) -> None:
    _unpause(scheduled, "catchup_decade")
    client = scheduled.redis()
    index = scheduled.keys.runs_of("catchup_decade")
    wait_until(lambda: client.zcard(index) >= 20, 60, "catchup runs")
    made = client.zcard(index)
    active = [
        r for r in client.smembers(scheduled.keys.active_runs) if r.startswith("catchup_decade|")
    ]
    assert len(active) <= 2  # max_active_runs
    assert made < 100_000  # nothing like the 31 million intervals since 2015
    first = client.zrange(index, 0, 2)
    assert first == [
        "scheduled__2015-01-01T00:00:00+00:00",
        "scheduled__2015-01-01T00:00:10+00:00",
        "scheduled__2015-01-01T00:00:20+00:00",
    ]
    states = {client.hget(scheduled.keys.run("catchup_decade", r), "state") for r in first}
    assert states == {"success"}
    client.close()
    scheduled.call(lambda store: store.set_paused("catchup_decade", True))


def _summary(cluster: Cluster, dag_id: str, run_id: str) -> dict[str, tuple[str, int]]:
    tis = cluster.task_instances(dag_id, run_id)
    return {
        task_id: (record.state.value, record.try_number)
        for (task_id, _), (record, _) in tis.items()
    }


def _backfill_done(cluster: Cluster, backfill_id: str) -> bool:
    client = cluster.redis()
    raw = client.hget(cluster.keys.backfills, backfill_id)
    client.close()
    return bool(raw) and json.loads(raw)["completed_at"] is not None


def test_a_backfill_then_a_rerun_of_only_the_failed_days(scheduled: Cluster) -> None:
    env = {"AIRLANE_REDIS_URL": scheduled.redis_url}
    args = [
        "backfill",
        "create",
        "--dag-id",
        "daily_flaky",
        "--from-date",
        "2024-03-01",
        "--to-date",
        "2024-03-30",
        "--max-active-runs",
        "10",
    ]
    dry = run_cli(*args, "--dry-run", env=env)
    assert dry.code == 0, dry.stderr
    assert dry.stdout.splitlines()[:2] == ["2024-03-01T00:00:00+00:00", "2024-03-02T00:00:00+00:00"]
    assert len(dry.stdout.splitlines()) == 30
    first = run_cli(*args, env=env)
    assert first.code == 0, first.stderr
    backfill_id = first.stdout.split()[1]
    wait_until(lambda: _backfill_done(scheduled, backfill_id), 120, "the backfill")
    runs = {f"backfill__2024-03-{day:02d}T00:00:00+00:00": day for day in range(1, 31)}
    for run_id, day in runs.items():
        expected = "failed" if day % 7 == 0 else "success"
        assert scheduled.run_state("daily_flaky", run_id) == expected, run_id

    (scheduled.markers / "daily-flaky-may-pass").touch()
    again = run_cli(*args, "--reprocess-behavior", "failed", env=env)
    assert again.code == 0, again.stderr
    wait_until(lambda: _backfill_done(scheduled, again.stdout.split()[1]), 120, "the rerun")
    for run_id, day in runs.items():
        assert scheduled.run_state("daily_flaky", run_id) == "success", run_id
        assert _summary(scheduled, "daily_flaky", run_id)["load"] == (
            "success",
            2 if day % 7 == 0 else 1,
        ), run_id  # only the failed days ran again


def test_clearing_a_failed_task_mid_chain_reruns_it_and_its_downstream_only(
    scheduled: Cluster,
) -> None:
    env = {"AIRLANE_REDIS_URL": scheduled.redis_url}
    run_id = scheduled.trigger("chain_to_clear")
    assert scheduled.wait_run("chain_to_clear", run_id)["state"] == "failed"
    assert _summary(scheduled, "chain_to_clear", run_id) == {
        "a": ("success", 1),
        "b": ("success", 1),
        "c": ("failed", 1),
        "d": ("upstream_failed", 0),
    }
    (scheduled.markers / "chain-c-may-pass").touch()
    cleared = run_cli(
        "tasks",
        "clear",
        "chain_to_clear",
        "--run-id",
        run_id,
        "--task-regex",
        "^c$",
        "--downstream",
        env=env,
    )
    assert cleared.code == 0, cleared.stderr
    assert f"{run_id}: c d" in cleared.stdout
    wait_until(lambda: scheduled.run_state("chain_to_clear", run_id) == "success", 60, "the rerun")
    assert _summary(scheduled, "chain_to_clear", run_id) == {
        "a": ("success", 1),
        "b": ("success", 1),
        "c": ("success", 2),
        "d": ("success", 1),
    }


def test_backfills_through_the_api(scheduled: Cluster) -> None:
    api = Api.start(scheduled)
    token = api.token()
    body = {
        "dag_id": "daily_flaky",
        "from_date": "2024-05-01T00:00:00Z",
        "to_date": "2024-05-03T00:00:00Z",
    }
    status, planned = api.call("POST", "/api/v2/backfills/dry_run", body, token=token)
    assert status == 200
    assert [b["logical_date"] for b in planned["backfills"]] == [
        "2024-05-01T00:00:00+00:00",
        "2024-05-02T00:00:00+00:00",
        "2024-05-03T00:00:00+00:00",
    ]
    status, made = api.call(
        "POST", "/api/v2/backfills", {**body, "max_active_runs": 1}, token=token
    )
    assert status == 200
    assert (made["dag_id"], made["max_active_runs"], made["reprocess_behavior"]) == (
        "daily_flaky",
        1,
        "none",
    )
    path = f"/api/v2/backfills/{made['id']}"
    wait_until(lambda: api.call("GET", path, token=token)[1]["completed_at"], 60, "the backfill")
    assert scheduled.run_state("daily_flaky", "backfill__2024-05-03T00:00:00+00:00") == "success"
    status, _ = api.call("PUT", path + "/cancel", token=token)
    assert status == 409  # already completed
    listed = api.call("GET", "/api/v2/backfills?dag_id=daily_flaky", token=token)[1]
    assert made["id"] in [b["id"] for b in listed["backfills"]]
    # run_on_latest_version: a reprocessed run reruns on its own DAG version in Airlane, so
    # true is refused while one of them started on an older version than the latest
    older = "backfill__2024-05-02T00:00:00+00:00"
    keys = scheduled.keys
    scheduled.redis().hset(keys.run("daily_flaky", older), "dag_hash", "an-older-version")
    again = {**body, "reprocess_behavior": "completed", "run_on_latest_version": True}
    status, answer = api.call("POST", "/api/v2/backfills/dry_run", again, token=token)
    assert (status, answer["detail"][0]["loc"]) == (422, ["body", "run_on_latest_version"])
    assert older in answer["detail"][0]["msg"]
    again["run_on_latest_version"] = False
    assert api.call("POST", "/api/v2/backfills/dry_run", again, token=token)[0] == 200
    status, body422 = api.call(
        "POST", "/api/v2/backfills", {**body, "dag_id": "chain_to_clear"}, token=token
    )
    assert status == 422
    assert body422["detail"][0]["loc"] == ["body", "dag_id"]


def test_a_running_task_that_is_cleared_is_stopped_and_run_again(scheduled: Cluster) -> None:
    scheduled.wait_for_dags("long_then_done")
    run_id = scheduled.trigger("long_then_done")
    marker = scheduled.markers / "long_then_done.txt"
    wait_until(lambda: marker.exists(), 30, "the long task to start")
    (scheduled.markers / "long-may-finish").touch()  # the second try ends at once
    scheduled.call(lambda store: store.clear("long_then_done", run_id, ["long"]))
    summary = scheduled.wait_run("long_then_done", run_id, timeout_s=30)  # well before 60 s
    assert summary["state"] == "success"
    assert _summary(scheduled, "long_then_done", run_id)["long"] == ("success", 2)
    assert marker.read_text().splitlines() == ["started", "started"]


def test_a_dag_whose_last_runs_all_failed_is_paused(scheduled: Cluster) -> None:
    scheduled.wait_for_dags("fails_thrice")
    for _ in range(3):
        assert (
            scheduled.wait_run("fails_thrice", scheduled.trigger("fails_thrice"))["state"]
            == "failed"
        )
    wait_until(
        lambda: scheduled.call(lambda store: store.is_paused("fails_thrice")), 10, "the pause"
    )

    def paused_entry() -> dict[str, object] | None:  # (Airflow's scheduler entry)
        entries = scheduled.call(lambda store: store.event_log_entries())
        found = [orjson.loads(fields["e"]) for _, fields in entries]
        return next((e for e in found if e.get("dag_id") == "fails_thrice"), None)

    entry = wait_until(paused_entry, 10, "the event log's entry")
    assert (entry["event"], entry["owner"]) == ("paused", "scheduler")


def test_depends_on_past_waits_for_the_previous_run(scheduled: Cluster) -> None:
    scheduled.wait_for_dags("depends_on_past")
    first = scheduled.trigger("depends_on_past", logical_date="2024-01-01T00:00:00+00:00")
    assert scheduled.wait_run("depends_on_past", first)["state"] == "failed"
    second = scheduled.trigger("depends_on_past", logical_date="2024-01-02T00:00:00+00:00")
    scheduled.wait_for_beats()  # the coordinator has looked at the new run
    assert _summary(scheduled, "depends_on_past", second)["step"][0] == "scheduled"
    (scheduled.markers / "past-may-pass").touch()
    scheduled.call(lambda store: store.clear("depends_on_past", first, ["step"]))
    assert scheduled.wait_run("depends_on_past", second)["state"] == "success"
    assert scheduled.run_state("depends_on_past", first) == "success"


def test_marks_read_together_of_a_finished_run_all_stand(scheduled: Cluster) -> None:
    """Two marks of a finished run in one read: the first reopens and ends the run again, the
    second reopens it from Redis, which must already hold the first (it was written over)."""
    (scheduled.markers / "chain-c-may-pass").unlink(missing_ok=True)
    run_id = scheduled.trigger("chain_to_clear")
    assert scheduled.wait_run("chain_to_clear", run_id)["state"] == "failed"
    scheduled.pause("coordinator", "airlane-coordinator")
    for task_id in ("c", "d"):
        scheduled.call(
            lambda store, t=task_id: store.mark("chain_to_clear", run_id, {f"{t}|-1": "success"})
        )
    scheduled.signal("coordinator", signal.SIGCONT)
    wait_until(lambda: scheduled.run_state("chain_to_clear", run_id) == "success", 30, "success")
    assert {s for s, _ in _summary(scheduled, "chain_to_clear", run_id).values()} == {"success"}


def test_marking_instances_and_runs_through_the_api(scheduled: Cluster) -> None:
    api = Api.start(scheduled)
    token = api.token()
    (scheduled.markers / "chain-c-may-pass").unlink(missing_ok=True)
    run_id = scheduled.trigger("chain_to_clear")
    assert scheduled.wait_run("chain_to_clear", run_id)["state"] == "failed"
    base = f"/api/v2/dags/chain_to_clear/dagRuns/{run_id}"
    status, marked = api.call(
        "PATCH",
        base + "/taskInstances/c",
        {"new_state": "success", "include_downstream": True},
        token=token,
    )
    assert status == 200
    # Airflow 3.1.8 answers the path's task only, in its new state (d is marked with it)
    assert [(ti["task_id"], ti["state"]) for ti in marked["task_instances"]] == [("c", "success")]
    wait_until(lambda: scheduled.run_state("chain_to_clear", run_id) == "success", 30, "success")
    assert _summary(scheduled, "chain_to_clear", run_id)["d"][0] == "success"

    other = scheduled.trigger("chain_to_clear")
    assert scheduled.wait_run("chain_to_clear", other)["state"] == "failed"
    since = _last_event_id(scheduled)
    status, _ = api.call(
        "PATCH", f"/api/v2/dags/chain_to_clear/dagRuns/{other}", {"state": "success"}, token=token
    )
    assert status == 200
    wait_until(lambda: scheduled.run_state("chain_to_clear", other) == "success", 30, "marked")
    # Airflow 3.3 sets the run's state; finished instances keep theirs (c failed, d
    # upstream_failed: Airflow 3.1 marked them success), and the run ends once, as success
    summary = _summary(scheduled, "chain_to_clear", other)
    assert (summary["c"][0], summary["d"][0]) == ("failed", "upstream_failed")
    states = _run_states_since(scheduled, f"chain_to_clear|{other}", since)
    assert [s for s in states if s != "running"] == ["success"], states


def _last_event_id(cluster: Cluster) -> str:
    client = cluster.redis()
    last = client.xrevrange(cluster.keys.events, count=1)
    client.close()
    return str(last[0][0]) if last else "0-0"


def _run_states_since(cluster: Cluster, ref: str, since: str) -> list[str]:
    client = cluster.redis()
    entries = client.xrange(cluster.keys.events, f"({since}", "+")
    client.close()
    return [f["state"] for _, f in entries if f.get("kind") == "run" and f.get("run") == ref]


GROWN = """
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("grown", schedule=None):
    EmptyOperator(task_id="old")
{added}
"""
ADDED = """
    EmptyOperator(task_id="strict", depends_on_past=True)
    EmptyOperator(task_id="lenient", depends_on_past=True, ignore_first_depends_on_past=True)
"""


def test_a_task_added_since_the_previous_run_waits_unless_it_ignores_its_first(
    scheduled: Cluster,
) -> None:
    """Airflow's PrevDagrunDep: depends_on_past holds an instance whose previous run lacks the
    task, unless ignore_first_depends_on_past (Airflow's default False) and no earlier run had
    it."""
    path = scheduled.dags_folder / "grown.py"
    path.write_text(GROWN.format(added=""))
    scheduled.wait_for_dags("grown")
    first = scheduled.trigger("grown", logical_date="2024-01-01T00:00:00+00:00")
    assert scheduled.wait_run("grown", first)["state"] == "success"
    path.write_text(GROWN.format(added=ADDED))

    def grown() -> bool:
        dag = scheduled.call(lambda store: store.dag("grown")) or {}
        return any(t["task_id"] == "strict" for t in dag.get("tasks", []))

    wait_until(grown, 30, "the DAG's new version")
    second = scheduled.trigger("grown", logical_date="2024-01-02T00:00:00+00:00")
    wait_until(
        lambda: _summary(scheduled, "grown", second).get("lenient", ("none", 0))[0] == "success",
        30,
        "lenient",
    )
    scheduled.wait_for_beats()
    assert _summary(scheduled, "grown", second)["strict"][0] == "scheduled"
    scheduled.call(lambda store: store.mark("grown", second, {"strict|-1": "success"}))
    assert scheduled.wait_run("grown", second)["state"] == "success"
