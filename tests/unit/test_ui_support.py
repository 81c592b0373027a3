"""Pure parts behind the web UI: rendered fields, workers' running tries, the next run shown,
event filters by task, and the UI's file serving rules."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from airlane.api.events import wanted
from airlane.api.webui import UI_DIR, is_ui_path
from airlane.queue.monitoring import QueueStats, parse_running, worker_info
from airlane.queue.protocol import ClaimRef
from airlane.scheduling.scheduler import dag_schedule, encode_run
from airlane.scheduling.timetables import ScheduledRun
from airlane.sdk.templating import MAX_RENDERED_CHARS, rendered_snapshot


class _Task:
    template_fields = ("bash_command", "env", "when", "big")

    def __init__(self) -> None:
        self.bash_command = "echo 2024-01-01"
        self.env = {"A": "1"}
        self.when = object()
        self.big = "x" * (MAX_RENDERED_CHARS + 10)


def test_rendered_snapshot_keeps_json_cuts_long_text_and_reprs_the_rest() -> None:
    found = rendered_snapshot(_Task())
    assert found["bash_command"] == "echo 2024-01-01"
    assert found["env"] == {"A": "1"}
    assert found["when"].startswith("<object object")
    assert len(found["big"]) == MAX_RENDERED_CHARS + 3
    assert found["big"].endswith("...")
    orjson.dumps(found)  # always storable


def test_worker_info_parses_running_tries_and_staleness() -> None:
    ref = ClaimRef("airlane:q:default", "1-0", "etl", "manual__1", "load", -1, 2).encode()
    raw = orjson.dumps(
        {
            "worker_id": "w1",
            "hostname": "h",
            "pid": 7,
            "queues": ["default"],
            "concurrency": 4,
            "running": [ref, "garbage"],
            "heartbeat_at": 100.0,
        }
    ).decode()
    fresh = worker_info(raw, now_s=110.0)
    assert fresh.alive
    assert fresh.concurrency == 4
    assert [(r.dag_id, r.task_id, r.map_index, r.try_number) for r in fresh.running] == [
        ("etl", "load", -1, 2)
    ]
    assert not worker_info(raw, now_s=200.0).alive
    assert parse_running("a|b|c") is None
    assert QueueStats("default", pending=2, waiting=3, oldest_age_s=1.5).depth == 5


def _daily(catchup: bool) -> dict[str, object]:
    return {
        "dag_id": "d",
        "schedule": {"kind": "cron", "expression": "0 0 * * *"},
        "timezone": "UTC",
        "start_date": "2024-01-01T00:00:00+00:00",
        "catchup": catchup,
    }


def test_the_next_run_shown_is_the_one_the_scheduler_makes() -> None:
    now = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
    first = dag_schedule(_daily(True), None, now, data_intervals_default=False)
    assert first is not None
    assert first.upcoming is not None
    assert first.upcoming.logical_date == datetime(2024, 1, 1, tzinfo=UTC)
    last = ScheduledRun(*(datetime(2024, 3, 9, tzinfo=UTC),) * 4)
    after = dag_schedule(_daily(True), encode_run(last), now, data_intervals_default=False)
    assert after is not None
    assert after.upcoming is not None
    assert after.upcoming.logical_date == datetime(2024, 3, 10, tzinfo=UTC)
    no_schedule = {"dag_id": "n", "schedule": {"kind": "none"}}
    assert dag_schedule(no_schedule, None, now, data_intervals_default=False) is None


def test_events_can_be_narrowed_to_one_task() -> None:
    event = {"kind": "ti", "dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1}
    assert wanted(event, "d", "r", "t")
    assert not wanted(event, "d", "r", "other")
    assert wanted({"kind": "run", "dag_id": "d", "run_id": "r"}, "d", "r", None)
    assert not wanted(event, None, None, None, frozenset({"run", "dag"}))
    assert wanted(event, None, None, None, frozenset({"ti"}))


def test_ui_paths_are_public_and_the_files_are_there() -> None:
    assert is_ui_path("/")
    assert is_ui_path("/ui")
    assert is_ui_path("/ui/pages/dag.js")
    assert not is_ui_path("/api/v2/dags")
    assert not is_ui_path("/uix")
    for name in ("index.html", "app.js", "style.css", "pages/dag.js"):
        assert (UI_DIR / name).is_file()
