"""Airflow's own example DAG files: which wheels (pinned), fetched with pip, extracted once.

Standard library only: the recording script (scripts/compat/record.py) imports this module from
any Python, without Airlane installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WHEEL_CACHE = ROOT / ".cache" / "airflow-wheels"
WORK_DIR = ROOT / ".cache" / "airflow-examples"
EXPECTED_DIR = Path(__file__).resolve().parent / "expected"

# The fixed logical date of every run, in Airflow and in Airlane.
LOGICAL_DATE = "2025-01-01T00:00:00+00:00"

# Folders of an example tree that hold helpers, plugins and templates, not example DAG files.
SUPPORT_DIRS = frozenset({"libs", "plugins", "subdags", "sql"})


@dataclass(frozen=True)
class Suite:
    """One wheel's example DAG folder and the real Airflow that recorded its expected states."""

    name: str
    requirement: str  # the pinned wheel, as pip names it
    prefix: str  # the example folder inside the wheel
    airflow_version: str  # the Airflow that ran the recording
    venv: str  # the throwaway venv the recording used (see scripts/compat/record.py)

    @property
    def wheel_name(self) -> str:
        project, version = self.requirement.split("==")
        return f"{project.replace('-', '_')}-{version}-py3-none-any.whl"

    @property
    def folder(self) -> Path:
        """Where Airlane runs the examples (the recording extracts to a folder of its own)."""
        return WORK_DIR / "airlane" / self.name

    @property
    def expected_path(self) -> Path:
        return EXPECTED_DIR / f"{self.name}.json"


SUITES: tuple[Suite, ...] = (
    Suite(
        "airflow-core-3.1.8",
        "apache-airflow-core==3.1.8",
        "airflow/example_dags/",
        "3.1.8",
        "/work/airflow-venv-3",
    ),
    Suite(
        "providers-standard-1.21.0",
        "apache-airflow-providers-standard==1.21.0",
        "airflow/providers/standard/example_dags/",
        "3.1.8",
        "/work/airflow-venv-3",
    ),
    Suite(
        "airflow-2.10.5",
        "apache-airflow==2.10.5",
        "airflow/example_dags/",
        "2.10.5",
        "/work/airflow-venv-2",
    ),
    Suite(
        "airflow-2.5.3",
        "apache-airflow==2.5.3",
        "airflow/example_dags/",
        "2.5.3",
        "/work/airflow-venv-253",
    ),
)


def suite_named(name: str) -> Suite:
    for suite in SUITES:
        if suite.name == name:
            return suite
    raise KeyError(f"no suite {name!r}; known: {[s.name for s in SUITES]}")


class FetchError(RuntimeError):
    """pip could not download a pinned wheel."""


def fetch_wheel(suite: Suite, cache: Path = WHEEL_CACHE) -> Path:
    """The suite's wheel from the cache, downloaded with ``pip download --no-deps`` if absent."""
    wheel = cache / suite.wheel_name
    if wheel.exists():
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    proc = subprocess.run(
        [*command, "--dest", str(cache), suite.requirement],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0 or not wheel.exists():
        raise FetchError(f"pip download {suite.requirement} failed:\n{proc.stdout}{proc.stderr}")
    return wheel


def extract(suite: Suite, wheel: Path, dest: Path | None = None) -> Path:
    """The wheel's example folder, unpacked into ``dest`` (replaced whole, so it is exact)."""
    target = dest or suite.folder
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if not member.startswith(suite.prefix) or member.endswith("/"):
                continue
            if "__pycache__" in member:
                continue
            out = target / member[len(suite.prefix) :]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(archive.read(member))
    return target


def prepare(suite: Suite, cache: Path = WHEEL_CACHE, dest: Path | None = None) -> Path:
    """Fetch (or reuse) the wheel and extract its examples; the folder to run."""
    return extract(suite, fetch_wheel(suite, cache), dest)


def example_files(folder: Path) -> list[str]:
    """The example DAG files of an extracted folder, relative to it, sorted."""
    found = []
    for path in folder.rglob("*.py"):
        relative = path.relative_to(folder)
        if path.name == "__init__.py" or SUPPORT_DIRS.intersection(relative.parts[:-1]):
            continue
        found.append(relative.as_posix())
    return sorted(found)


#: example files that need Airflow's example plugins registered (``load_examples``), as
#: Airlane's runner provides them (``AIRLANE_AIRFLOW_EXAMPLE_DAGS``)
USES_EXAMPLE_PLUGINS = frozenset({"example_workday_timetable.py", "example_custom_weight.py"})


def airflow_env(home: Path, dags_folder: Path, load_examples: bool = False) -> dict[str, str]:
    """The environment of a real Airflow command: its own SQLite home, no bundled examples
    unless ``load_examples`` (which also registers their plugins, such as their timetable)."""
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": str(load_examples),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
