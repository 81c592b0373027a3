"""Real headless Chromium (Debian's package) driven by Playwright, against real services.

Browser downloads are impossible here, so Playwright launches the system binary
(``AIRLANE_CHROMIUM`` or ``chromium`` on PATH, which ``make test`` installs when missing).
Screenshots go to ``artifacts/screenshots`` (``AIRLANE_SCREENSHOTS`` changes it).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, Request, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import EXAMPLE_DAGS, ROOT, TEST_DAGS
from tests.integration.cluster import Api, RedisServer, api_cluster

SCREENSHOTS = Path(os.environ.get("AIRLANE_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
VIEWPORT = {"width": 1440, "height": 900}  # a laptop screen
# Assertions wait as long as actions do: runs on a loaded 2-core machine take seconds.
expect.set_options(timeout=20_000)


def chromium_path() -> str:
    found = os.environ.get("AIRLANE_CHROMIUM") or shutil.which("chromium")
    if not found:
        raise RuntimeError(
            "Chromium is not installed: `make test` installs Debian's chromium package, "
            "or set AIRLANE_CHROMIUM to a Chromium binary"
        )
    return found


# Module scope, not session: Playwright's sync driver keeps an event loop running in this
# thread while it is open, and the other suites' asyncio.run() refuses to start under it.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
    )
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def ui(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """Every service and the API on the example DAGs, the UI test DAGs and a broken file."""
    work = tmp_path_factory.mktemp("ui")
    folder = work / "dags"
    shutil.copytree(EXAMPLE_DAGS, folder)
    shutil.copytree(TEST_DAGS / "ui", folder / "ui")
    with api_cluster(
        redis_server,
        work,
        folder,
        workers=1,
        concurrency=8,
        AIRLANE_DAGS_ARE_PAUSED_AT_CREATION="true",
    ) as api:
        api.cluster.wait_for_dags(
            "simple_airflow_dag", "ui_flaky", "ui_wide", "ui_slow", "ui_deadline"
        )
        yield api


@pytest.fixture
def page(browser: Browser, ui: Api, failure_artifacts: Callable[[], Path | None]) -> Iterator[Page]:
    """A fresh browser context per test, with page errors turned into test failures.

    The console and the requests are recorded as they happen (cheap); when the test fails,
    they are saved with a screenshot and the page's HTML next to the services' logs.
    """
    context = browser.new_context(viewport=VIEWPORT, base_url=ui.url)
    context.set_default_timeout(20_000)
    one = context.new_page()
    errors: list[str] = []
    journal: list[str] = []
    one.on("pageerror", lambda err: errors.append(str(err)))
    one.on("console", lambda msg: journal.append(f"{_now()} console.{msg.type}: {msg.text}"))
    one.on("request", lambda r: journal.append(f"{_now()} -> {r.method} {r.url}"))
    one.on(
        "requestfinished",
        lambda r: journal.append(f"{_now()} <- {r.method} {r.url} {_status(r)}"),
    )
    one.on("requestfailed", lambda r: journal.append(f"{_now()} !! {r.method} {r.url} {r.failure}"))
    yield one
    folder = failure_artifacts()
    if folder is not None:
        save_page(one, folder / "browser", journal + [f"pageerror: {e}" for e in errors])
    context.close()
    assert not errors, f"errors in the page: {errors}"


def _now() -> str:
    return time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"


def _status(request: Request) -> str:
    response = request.response()
    return str(response.status) if response is not None else "?"


def save_page(page: Page, target: Path, journal: list[str]) -> None:
    """A failed test's page: screenshot, HTML, URL, console and requests (best effort)."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "journal.log").write_text("\n".join(journal) + "\n")
    try:
        (target / "url.txt").write_text(page.url + "\n")
        page.screenshot(path=str(target / "page.png"), full_page=True)
        (target / "page.html").write_text(page.content())
    except PlaywrightError as err:  # a page that crashed or closed
        (target / "page-unavailable.txt").write_text(f"{err!r}\n")


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def login(page: Page, username: str = "alice", password: str = "wonderland") -> None:
    page.goto("/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form.login button[type=submit]")
    page.wait_for_selector("table.dags tbody tr")
