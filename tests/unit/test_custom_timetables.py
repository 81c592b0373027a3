"""Custom timetables from a plugins folder: serialized by class path, re-created from the
plugin's class, asked for runs by the scheduler, backfill and manual triggers."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airlane.dag_loader import plugins
from airlane.dag_loader.importer import load_dags, plugin_import_errors
from airlane.dag_loader.serialize import serialize_dag
from airlane.queue.store import RunRequest
from airlane.scheduling import custom_timetable
from airlane.scheduling.backfill import BackfillError, dag_timetable, logical_dates
from airlane.scheduling.scheduler import Scheduler, dag_schedule, plan
from airlane.scheduling.timetables import Kind, ScheduledRun, from_serialized, next_run
from airlane.sdk.operators.latest_only import latest_window
from airlane.service.execution.local_runner import make_run_info
from tests.conftest import TEST_DAGS

HERE = TEST_DAGS / "plugin_timetables"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def plugin_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "plugins"
    shutil.copytree(HERE / "plugins", folder)
    monkeypatch.setenv(plugins.PLUGINS_FOLDER_ENV, str(folder))
    monkeypatch.setattr(sys, "path", list(sys.path))
    plugins.reset_for_tests()
    yield folder
    plugins.reset_for_tests()
    for name in ("weekdays", "broken_timetable", "lossy", "own_ids", "one_at_a_time", "picky"):
        sys.modules.pop(name, None)


def _serialized(dag_id: str) -> dict[str, Any]:
    dags, errors = load_dags(str(HERE / "dags" / "weekday_dag.py"), str(HERE / "dags"))
    assert errors == []
    return serialize_dag(next(d for d in dags if d.dag_id == dag_id))


def _all_runs(dag: dict[str, Any], now: datetime) -> list[ScheduledRun]:
    entry = dag_schedule(dag, None, now, data_intervals_default=False)
    assert entry is not None
    found = []
    while entry.upcoming is not None and len(found) < 20:
        found.append(entry.upcoming)
        entry.last = entry.upcoming
        plan(entry, now)
    return found


def test_the_dag_stores_the_class_path_and_serialize_output(plugin_folder: Path) -> None:
    schedule = _serialized("weekday_runs")["schedule"]
    assert schedule == {
        "kind": "custom",
        "class": "weekdays.AfterWeekdayTimetable",
        "value": {"hour": 6},
        "expression": "weekdays at 06:00",
        "description": "After each weekday",
        "periodic": True,
        "can_be_scheduled": True,
    }
    timetable = from_serialized(schedule, "UTC")
    assert timetable.kind is Kind.CUSTOM
    assert timetable.custom.hour == 6


def test_scheduled_runs_are_the_timetables_weekdays_only(plugin_folder: Path) -> None:
    runs = _all_runs(_serialized("weekday_runs"), now=utc(2030, 1, 1))
    assert [r.logical_date for r in runs] == [
        utc(2024, 1, 4, 6),
        utc(2024, 1, 5, 6),
        utc(2024, 1, 8, 6),  # Saturday and Sunday skipped
        utc(2024, 1, 9, 6),  # the end date (Tuesday noon) stops it
    ]
    assert all(r.data_interval_end == r.run_after for r in runs)
    assert runs[2].data_interval_start == utc(2024, 1, 8, 6)
    assert runs[2].data_interval_end == utc(2024, 1, 9, 6)


async def test_the_scheduler_creates_them_with_the_timetables_run_ids(
    plugin_folder: Path,
) -> None:
    made: list[RunRequest] = []

    class FakeClient:
        async def hset(self, *args: object) -> None:
            return None

    class FakeStore:
        client = FakeClient()
        keys = type("K", (), {"schedules": "schedules"})()

        async def create_run(self, request: RunRequest) -> None:
            made.append(request)

    scheduler = Scheduler(FakeStore())  # type: ignore[arg-type]
    entry = dag_schedule(
        _serialized("weekday_runs"), None, utc(2024, 1, 7), data_intervals_default=False
    )
    assert entry is not None
    scheduler.dags["weekday_runs"] = entry
    await scheduler.create_due(utc(2024, 1, 7), {})  # a Sunday: Thursday's and Friday's runs
    assert [(r.run_id, r.logical_date) for r in made] == [
        ("scheduled__2024-01-04T06:00:00+00:00", utc(2024, 1, 4, 6)),
        ("scheduled__2024-01-05T06:00:00+00:00", utc(2024, 1, 5, 6)),
    ]
    assert entry.upcoming is not None
    assert entry.upcoming.run_after == utc(2024, 1, 9, 6)


def test_backfill_dates_come_from_the_timetable(plugin_folder: Path) -> None:
    timetable = from_serialized(_serialized("weekday_next")["schedule"], "UTC")
    dates = logical_dates(timetable, utc(2024, 1, 5), utc(2024, 1, 10))
    assert dates == [utc(2024, 1, 5), utc(2024, 1, 8), utc(2024, 1, 9), utc(2024, 1, 10)]


def test_without_catchup_the_next_run_is_the_next_weekday_from_today(plugin_folder: Path) -> None:
    [first, *_] = _all_runs(_serialized("weekday_next"), now=datetime.now(UTC))
    today = datetime.now(UTC).date()
    assert first.logical_date.date() >= today
    assert first.logical_date.weekday() < 5


def test_a_manual_run_gets_the_inferred_data_interval(plugin_folder: Path) -> None:
    timetable = from_serialized(_serialized("weekday_runs")["schedule"], "UTC")
    start, end = custom_timetable.manual_interval(timetable.custom, utc(2024, 1, 8, 9))  # Monday
    assert (start, end) == (utc(2024, 1, 5, 6), utc(2024, 1, 6, 6))  # Friday's


def test_a_timetable_no_plugin_registers_is_an_import_error(
    plugin_folder: Path, tmp_path: Path
) -> None:
    dag_file = tmp_path / "dags" / "own_timetable.py"
    dag_file.parent.mkdir()
    dag_file.write_text(
        "import pendulum\n"
        "from airflow.sdk import DAG\n"
        "from airflow.timetables.base import Timetable\n"
        "class Mine(Timetable):\n"
        "    pass\n"
        "dag = DAG(dag_id='own', schedule=Mine(), start_date=pendulum.datetime(2024, 1, 1))\n"
    )
    dags, errors = load_dags(str(dag_file), str(dag_file.parent))
    assert dags == []
    assert "Timetable class 'airlane_dag_" in errors[0].message
    assert "is not registered" in errors[0].message


def test_the_scheduler_refuses_an_unregistered_class_without_crashing(
    plugin_folder: Path,
) -> None:
    schedule = {"kind": "custom", "class": "gone.Timetable", "value": {}}
    with pytest.raises(custom_timetable.TimetableNotRegistered, match=r"'gone\.Timetable'"):
        from_serialized(schedule, "UTC")


def test_a_broken_plugin_is_an_error_naming_its_file(plugin_folder: Path) -> None:
    broken = plugin_folder / "broken_timetable.py"
    shutil.copy(HERE / "broken_plugins" / "broken_timetable.py", broken)
    [error] = plugin_import_errors()
    assert error.filename == str(broken)
    assert "holiday calendar service is down" in error.message
    assert error.lineno == 5
    dags, errors = load_dags(str(HERE / "dags" / "broken_plugin_dag.py"), str(HERE / "dags"))
    assert dags == []
    assert "holiday calendar service is down" in errors[0].message
    assert len(_all_runs(_serialized("weekday_runs"), now=utc(2030, 1, 1))) == 4  # still works


def test_dags_test_gives_the_run_the_inferred_data_interval(plugin_folder: Path) -> None:
    dags, _ = load_dags(str(HERE / "dags" / "weekday_dag.py"), str(HERE / "dags"))
    dag = next(d for d in dags if d.dag_id == "weekday_runs")
    run = make_run_info(dag, utc(2024, 1, 8, 9), {}, None, external_trigger=False)  # a Monday
    assert run.logical_date == utc(2024, 1, 8, 9)
    assert (run.data_interval_start, run.data_interval_end) == (
        utc(2024, 1, 5, 6),
        utc(2024, 1, 6, 6),
    )


def test_airflows_example_plugins_load_as_airflow_example_dags(
    plugin_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = tmp_path / "example_dags"
    (examples / "plugins").mkdir(parents=True)
    (examples / "__init__.py").write_text("")
    (examples / "plugins" / "__init__.py").write_text("")
    shutil.copy(HERE / "plugins" / "weekdays.py", examples / "plugins" / "workday.py")
    monkeypatch.setenv(plugins.EXAMPLE_DAGS_ENV, str(examples))
    plugins.reset_for_tests()
    path = "airflow.example_dags.plugins.workday.AfterWeekdayTimetable"
    try:
        registered = plugins.timetable_class(path)
        from airflow.example_dags.plugins.workday import AfterWeekdayTimetable  # type: ignore[import-not-found]

        assert registered is AfterWeekdayTimetable  # the DAG file's import: the registered class
    finally:
        for name in [n for n in sys.modules if n.startswith("airflow.example_dags")]:
            del sys.modules[name]


def test_a_timetable_that_deserialize_cannot_recreate_is_an_import_error(
    plugin_folder: Path, tmp_path: Path
) -> None:
    (plugin_folder / "lossy.py").write_text(
        "from airflow.plugins_manager import AirflowPlugin\n"
        "from airflow.timetables.base import Timetable\n"
        "class Lossy(Timetable):\n"
        "    def __init__(self, days):\n"
        "        self.days = days\n"
        "class LossyPlugin(AirflowPlugin):\n"
        "    name = 'lossy'\n"
        "    timetables = [Lossy]\n"
    )
    plugins.reset_for_tests()
    dag_file = tmp_path / "dags" / "lossy_dag.py"
    dag_file.parent.mkdir()
    dag_file.write_text(
        "import pendulum\n"
        "from lossy import Lossy\n"
        "from airflow.sdk import DAG\n"
        "dag = DAG(dag_id='lossy', schedule=Lossy(3), start_date=pendulum.datetime(2024, 1, 1))\n"
    )
    dags, errors = load_dags(str(dag_file), str(dag_file.parent))
    assert dags == []
    assert "'lossy.Lossy' cannot be re-created from its serialize() output" in errors[0].message


def test_a_timetables_own_run_ids_airflow_2_signature(plugin_folder: Path) -> None:
    (plugin_folder / "own_ids.py").write_text(
        "from airflow.plugins_manager import AirflowPlugin\n"
        "from weekdays import AfterWeekdayTimetable\n"
        "class OwnIds(AfterWeekdayTimetable):\n"
        "    def generate_run_id(self, *, run_type, logical_date, data_interval, **extra):\n"
        "        return f'{run_type.value}_{logical_date:%Y%m%d}_{data_interval.end:%d}'\n"
        "class OwnIdsPlugin(AirflowPlugin):\n"
        "    name = 'own_ids'\n"
        "    timetables = [OwnIds]\n"
    )
    plugins.reset_for_tests()
    timetable = from_serialized(
        {"kind": "custom", "class": "own_ids.OwnIds", "value": {"hour": 6}}, "UTC"
    )
    run = next_run(
        timetable,
        last=None,
        start_date=utc(2024, 1, 6),
        end_date=None,
        catchup=True,
        now=utc(2030, 1, 1),
    )
    assert run is not None
    assert timetable.run_id("scheduled", run) == "scheduled_20240108_09"


def test_max_active_runs_above_the_timetables_limit_is_refused(
    plugin_folder: Path, tmp_path: Path
) -> None:
    (plugin_folder / "one_at_a_time.py").write_text(
        "from airflow.plugins_manager import AirflowPlugin\n"
        "from weekdays import AfterWeekdayTimetable\n"
        "class OneAtATime(AfterWeekdayTimetable):\n"
        "    active_runs_limit = 1\n"
        "class OnePlugin(AirflowPlugin):\n"
        "    name = 'one'\n"
        "    timetables = [OneAtATime]\n"
    )
    plugins.reset_for_tests()
    dag_file = tmp_path / "dags" / "one.py"
    dag_file.parent.mkdir()
    header = "import pendulum\nfrom one_at_a_time import OneAtATime\nfrom airflow.sdk import DAG\n"
    start = "start_date=pendulum.datetime(2024, 1, 1)"
    dag_file.write_text(
        header
        + f"a = DAG(dag_id='a', schedule=OneAtATime(), {start})\n"
        + f"b = DAG(dag_id='b', schedule=OneAtATime(), {start}, max_active_runs=1)\n"
    )
    dags, errors = load_dags(str(dag_file), str(dag_file.parent))
    assert [d.dag_id for d in dags] == ["b"]
    assert "OneAtATime requires max_active_runs <= 1" in errors[0].message


@pytest.mark.parametrize(
    ("now", "latest"),
    [(utc(2024, 1, 5, 12), True), (utc(2024, 1, 6, 7), False), (utc(2024, 1, 4, 6), False)],
)
def test_latest_only_asks_the_custom_timetable(
    plugin_folder: Path, monkeypatch: pytest.MonkeyPatch, now: datetime, latest: bool
) -> None:
    dags, _ = load_dags(str(HERE / "dags" / "weekday_dag.py"), str(HERE / "dags"))
    dag = next(d for d in dags if d.dag_id == "weekday_runs")
    run = type("Run", (), {"data_interval_start": utc(2024, 1, 4, 6)})()
    run.data_interval_end = utc(2024, 1, 5, 6)  # type: ignore[attr-defined]
    window = latest_window(dag, run)
    assert window == (utc(2024, 1, 4, 6), utc(2024, 1, 6, 6))  # Thursday's run until Friday's ends
    left, right = window
    assert (left < now <= right) is latest


def test_a_backfill_of_an_unregistered_timetable_is_refused_naming_it(plugin_folder: Path) -> None:
    dag = {"dag_id": "gone", "schedule": {"kind": "custom", "class": "gone.Timetable"}, "tasks": []}
    with pytest.raises(BackfillError, match=r"'gone\.Timetable' is not registered"):
        dag_timetable(dag)


def test_a_timetables_validate_refusal_is_an_import_error(
    plugin_folder: Path, tmp_path: Path
) -> None:
    (plugin_folder / "picky.py").write_text(
        "from airflow.exceptions import AirflowTimetableInvalid\n"
        "from airflow.plugins_manager import AirflowPlugin\n"
        "from weekdays import AfterWeekdayTimetable\n"
        "class Picky(AfterWeekdayTimetable):\n"
        "    def validate(self):\n"
        "        if self.hour > 23:\n"
        "            raise AirflowTimetableInvalid(f'no hour {self.hour}')\n"
        "class PickyPlugin(AirflowPlugin):\n"
        "    name = 'picky'\n"
        "    timetables = [Picky]\n"
    )
    plugins.reset_for_tests()
    dag_file = tmp_path / "dags" / "picky_dag.py"
    dag_file.parent.mkdir()
    dag_file.write_text(
        "import pendulum\n"
        "from picky import Picky\n"
        "from airflow.sdk import DAG\n"
        "dag = DAG(dag_id='p', schedule=Picky(hour=25), start_date=pendulum.datetime(2024, 1, 1))\n"
    )
    dags, errors = load_dags(str(dag_file), str(dag_file.parent))
    assert dags == []
    assert errors[0].message == "AirflowTimetableInvalid: no hour 25"
