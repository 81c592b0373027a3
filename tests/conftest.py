"""Shared test helpers: paths, running the real ``airlane`` CLI, and one real redis-server for
the session (flushed for each test that asks for ``clean_redis``)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests import artifacts
from tests.integration.cluster import RedisServer

ROOT = Path(__file__).resolve().parent.parent
TEST_DAGS = ROOT / "tests" / "dags"
BEHAVIOUR_DAGS = TEST_DAGS / "behaviour"
EXAMPLE_DAGS = ROOT / "examples" / "dags"


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return orjson.loads(self.stdout)


def run_cli(*args: str, timeout_s: float = 120, env: dict[str, str] | None = None) -> CliResult:
    """Run ``python -m airlane ARGS`` and capture its output."""
    proc = subprocess.run(
        [sys.executable, "-m", "airlane", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def read_expected(path: Path) -> dict[str, Any] | None:
    """The literal ``EXPECTED = {...}`` of a behaviour DAG file, read without importing it."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXPECTED":
            value: dict[str, Any] = ast.literal_eval(node.value)
            return value
    return None


def behaviour_cases() -> list[Any]:
    cases = []
    for path in sorted(BEHAVIOUR_DAGS.glob("*.py")):
        expected = read_expected(path)
        if expected is not None:
            cases.append(pytest.param(path, expected, id=expected["dag_id"]))
    return cases


def normalise_states(expected_tasks: dict[str, Any]) -> tuple[dict[str, str], dict[str, int]]:
    """Split ``{"task": "state" | ["state", try_number]}`` into states and try numbers."""
    states, tries = {}, {}
    for label, value in expected_tasks.items():
        if isinstance(value, list):
            states[label], tries[label] = value
        else:
            states[label] = value
    return states, tries


#: where the registry stood when a test started (what it uses is registered from there on)
SINCE = pytest.StashKey[int]()
#: the folder of a failed test's artifacts, once saved
ARTIFACTS = pytest.StashKey[Path]()
#: set when a test's setup or call failed
FAILED = pytest.StashKey[bool]()


#: The files that take longest (CI's ``--durations``: about 155 s, 57 s and 29 s), run first.
#: ``make test`` hands whole files to its two xdist workers in collection order
#: (``--no-loadscope-reorder``; xdist's default order puts files with few tests last), so that a
#: long file no longer starts near the end and holds one worker while the other has run out.
LONGEST_FILES = (
    "tests/e2e/test_airflow_examples.py",
    "tests/integration/test_api_schema.py",
    "tests/integration/test_standalone.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FILES.index(path) if path in LONGEST_FILES else len(LONGEST_FILES)

    items.sort(key=rank)  # stable: every other test keeps its place


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[SINCE] = artifacts.REGISTRY.mark()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test's processes' logs and work directories are copied (tests/artifacts.py):
    at the failure, while they still run, and again after teardown (with their last lines)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed:
        item.stash[FAILED] = True
    already = item.stash.get(ARTIFACTS, None)
    if not (report.failed or (already is not None and report.when == "teardown")):
        return
    sources = artifacts.REGISTRY.relevant(item.stash.get(SINCE, 0))
    if not sources and already is None:
        return
    folder = artifacts.save(item.nodeid, sources)
    item.stash[ARTIFACTS] = folder
    if report.failed and already is None:
        report.sections.append(("failure artifacts", f"logs and work directories: {folder}"))


@pytest.fixture
def failure_artifacts(request: pytest.FixtureRequest) -> Callable[[], Path | None]:
    """For a fixture's teardown: the test's artifacts folder if it failed, else None."""

    def folder() -> Path | None:
        if not request.node.stash.get(FAILED, False):
            return None
        return request.node.stash.get(ARTIFACTS, None) or artifacts.folder_for(request.node.nodeid)

    return folder


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clean_redis(redis_server: RedisServer) -> RedisServer:
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    redis_server.flush()
    return redis_server
