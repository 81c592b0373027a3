"""A plugins folder's timetable scheduling runs in ``airlane standalone``: catchup over a short
past range creates exactly the timetable's runs (weekdays only), the API shows them and the
next run; a plugin file that fails to import is an import error naming it, and the other DAGs
keep working."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from airlane.dag_loader import plugins
from airlane.queue.keys import Keys
from airlane.queue.store import Store
from airlane.scheduling.scheduler import Scheduler
from tests.conftest import TEST_DAGS
from tests.integration.cluster import RedisServer, die_with_test, wait_until
from tests.integration.test_standalone import SCRIPT, _env_file

pytestmark = pytest.mark.timeout(180)

HERE = TEST_DAGS / "plugin_timetables"


def _start(dags: Path, plugins: Path, data: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "AIRLANE_PLUGINS_FOLDER": str(plugins), "AIRLANE_WORKER_GRACE_S": "0.5"}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [str(SCRIPT), "standalone", "--dags-folder", str(dags), "--data-dir", data.name],
            cwd=data.parent,
            stdout=out,
            stderr=out,
            env=env,
            preexec_fn=die_with_test,
        )


class _Api:
    def __init__(self, data: Path) -> None:
        self.url = _env_file(data)["AIRLANE_API_URL"]
        password = (data / "admin-password").read_text().strip()
        body = {"username": "admin", "password": password}
        self.token = str(self.call("POST", "/auth/token", body)["access_token"])

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if getattr(self, "token", None):
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def _finished_runs(api: _Api, dag_id: str) -> list[dict[str, Any]]:
    try:
        path = f"/api/v2/dags/{dag_id}/dagRuns?order_by=logical_date"
        runs = api.call("GET", path)["dag_runs"]
    except urllib.error.HTTPError as err:
        if err.code == 404:  # not parsed yet
            return []
        raise
    return [r for r in runs if r["state"] in ("success", "failed")]


def _dag_exists(api: _Api, dag_id: str) -> bool:
    try:
        return bool(api.call("GET", f"/api/v2/dags/{dag_id}"))
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return False
        raise


def _listening(data: Path) -> bool:
    try:
        _Api(data)
        return True
    except OSError:
        return False


def test_a_plugin_timetable_schedules_runs_in_standalone(tmp_path: Path) -> None:
    dags, plugins = tmp_path / "dags", tmp_path / "plugins"
    shutil.copytree(HERE / "dags", dags)
    shutil.copytree(HERE / "plugins", plugins)
    shutil.copy(HERE / "broken_plugins" / "broken_timetable.py", plugins)
    data, log = tmp_path / "airlane-data", tmp_path / "standalone.log"
    proc = _start(dags, plugins, data, log)
    try:
        wait_until(lambda: (data / "airlane.env").exists() and _listening(data), 60, "the API")
        api = _Api(data)
        wait_until(lambda: len(_finished_runs(api, "weekday_runs")) >= 4, 90, "4 weekday runs")
        runs = api.call("GET", "/api/v2/dags/weekday_runs/dagRuns?order_by=logical_date")
        assert [(r["logical_date"][:19], r["dag_run_id"]) for r in runs["dag_runs"]] == [
            ("2024-01-04T06:00:00", "scheduled__2024-01-04T06:00:00+00:00"),
            ("2024-01-05T06:00:00", "scheduled__2024-01-05T06:00:00+00:00"),
            ("2024-01-08T06:00:00", "scheduled__2024-01-08T06:00:00+00:00"),  # no weekend
            ("2024-01-09T06:00:00", "scheduled__2024-01-09T06:00:00+00:00"),  # end date
        ], log.read_text()[-3000:]
        assert {r["state"] for r in runs["dag_runs"]} == {"success"}
        assert runs["dag_runs"][2]["data_interval_end"][:19] == "2024-01-09T06:00:00"

        manual = api.call(  # a Monday: the timetable's infer_manual_data_interval gives Friday
            "POST", "/api/v2/dags/weekday_runs/dagRuns", {"logical_date": "2024-01-08T09:00:00Z"}
        )
        assert manual["data_interval_start"][:19] == "2024-01-05T06:00:00"
        assert manual["data_interval_end"][:19] == "2024-01-06T06:00:00"

        shown = api.call("GET", "/api/v2/dags/weekday_next")  # paused: its next run once unpaused
        assert shown["timetable_summary"] == "weekdays at 00:00"
        upcoming = datetime.fromisoformat(shown["next_dagrun_logical_date"])
        assert upcoming.date() >= datetime.now(UTC).date()
        assert upcoming.weekday() < 5

        errors = api.call("GET", "/api/v2/importErrors")["import_errors"]
        by_file = {e["filename"]: e["stack_trace"] for e in errors}
        assert "holiday calendar service is down" in by_file[str(plugins / "broken_timetable.py")]
        assert "holiday calendar service is down" in by_file[str(dags / "broken_plugin_dag.py")]

        wait_until(lambda: _dag_exists(api, "plain_manual"), 30, "the plain DAG")
        api.call("PATCH", "/api/v2/dags/plain_manual", {"is_paused": False})
        api.call("POST", "/api/v2/dags/plain_manual/dagRuns", {"dag_run_id": "still_works"})
        wait_until(lambda: _finished_runs(api, "plain_manual"), 60, "the plain DAG's run")
        assert _finished_runs(api, "plain_manual")[0]["state"] == "success"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


async def test_a_coordinator_without_the_plugin_shows_an_import_error_of_the_dag(
    clean_redis: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DAG processor had the plugin, the coordinator has not: the DAG's file gets an
    import error naming the class (the processor's own errors of the file kept); once the
    coordinator can re-create the timetable, the error goes."""
    client = aioredis.Redis.from_url(clean_redis.url, decode_responses=True)
    store = Store(client, Keys())
    monkeypatch.delenv(plugins.PLUGINS_FOLDER_ENV, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    plugins.reset_for_tests()
    fileloc = str(tmp_path / "dags" / "weekday_dag.py")
    other = {"filename": fileloc, "lineno": 3, "message": "another DAG is invalid"}
    await client.hset(Keys().import_errors, fileloc, json.dumps([other]))
    schedule = {"kind": "custom", "class": "weekdays.AfterWeekdayTimetable", "value": {"hour": 6}}
    dag = {"dag_id": "weekday_runs", "fileloc": fileloc, "schedule": schedule, "tasks": []}
    dag["start_date"] = "2024-01-04T00:00:00+00:00"
    scheduler = Scheduler(store)
    try:
        await scheduler.update("weekday_runs", dag, datetime.now(UTC))
        [kept, error] = (await store.import_errors())[fileloc]
        assert kept["message"] == "another DAG is invalid"
        assert "'weekdays.AfterWeekdayTimetable' is not registered" in error["message"]
        assert "weekday_runs" not in scheduler.dags

        monkeypatch.setenv(plugins.PLUGINS_FOLDER_ENV, str(HERE / "plugins"))
        plugins.reset_for_tests()
        await scheduler.update("weekday_runs", dag, datetime.now(UTC))
        assert (await store.import_errors())[fileloc] == [kept]
        assert "weekday_runs" in scheduler.dags
    finally:
        plugins.reset_for_tests()
        sys.modules.pop("weekdays", None)
        await client.aclose()
