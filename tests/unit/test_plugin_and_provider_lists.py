"""``/api/v2/plugins`` and ``/api/v2/providers``: what the plugins folder registered, and the
installed providers, in Airflow's shapes."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from airlane.api.plugins import plugin_response
from airlane.api.providers import provider_response
from airlane.dag_loader import plugins
from airlane.sdk.providers_manager import ProviderInfo
from tests.conftest import TEST_DAGS

PLUGINS = TEST_DAGS / "plugin_timetables"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "sub").mkdir()
    shutil.copy(PLUGINS / "plugins" / "weekdays.py", tmp_path / "sub")
    shutil.copy(PLUGINS / "broken_plugins" / "broken_timetable.py", tmp_path)
    monkeypatch.setenv(plugins.PLUGINS_FOLDER_ENV, str(tmp_path))
    monkeypatch.setattr(sys, "path", list(sys.path))
    plugins.reset_for_tests()
    yield tmp_path
    plugins.reset_for_tests()
    for name in ("weekdays", "broken_timetable"):
        sys.modules.pop(name, None)


def test_a_loaded_plugin_is_listed_with_its_source_and_timetables(folder: Path) -> None:
    [loaded] = plugins.loaded_plugins()
    response = plugin_response(loaded)
    assert response["name"] == "weekdays_plugin"
    assert response["source"] == "$PLUGINS_FOLDER/sub/weekdays.py"
    assert response["timetables"] == ["weekdays.AfterWeekdayTimetable"]
    assert response["macros"] == response["listeners"] == response["fastapi_apps"] == []
    errors = plugins.failures()
    assert [Path(p).name for p in errors] == ["broken_timetable.py"]
    assert str(next(iter(errors.values()))) == "the holiday calendar service is down"


def test_a_provider_is_described_without_rst_marks_as_airflows() -> None:
    data = {
        "package-name": "apache-airflow-providers-http",
        "description": "`Hypertext Transfer Protocol (HTTP) <https://www.w3.org/Protocols/>`__\n",
        "documentation-url": "https://example.invalid/docs",
    }
    assert provider_response("x", ProviderInfo("6.3.0", data)) == {
        "package_name": "apache-airflow-providers-http",
        "description": "Hypertext Transfer Protocol (HTTP) https://www.w3.org/Protocols/",
        "version": "6.3.0",
        "documentation_url": "https://example.invalid/docs",
    }
