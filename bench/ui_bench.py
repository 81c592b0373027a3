"""The web UI at size, in headless Chromium: a DAG of 500 tasks in groups with 1,000 finished
runs. How long the grid and the graph take to show, how many cells exist, scroll frame times."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright
from tests.browser.conftest import VIEWPORT, chromium_path
from tests.integration.cluster import SECRET, USERS, Api, Cluster, RedisServer, wait_until

from bench import dags
from bench.airlane_bench import running

#: one scroll step of the grid: 20 runs to the left, then two animation frames
SCROLL_STEP = """async (steps) => {
  const el = document.querySelector(".grid-scroll");
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const times = [];
  for (let i = 0; i < steps; i++) {
    const began = performance.now();
    el.scrollLeft = Math.max(0, el.scrollLeft - 440);
    el.scrollTop = (i % 10) * 300;
    await frame();
    times.push(performance.now() - began);
  }
  return times;
}"""


def _finished_runs(cluster: Cluster, dag_id: str, runs: int) -> None:
    first = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(runs):
        when = (first + timedelta(minutes=i)).isoformat()
        cluster.trigger(dag_id, run_id=f"bench__{i:05d}", logical_date=when)
    client = cluster.redis()
    wait_until(lambda: client.scard(cluster.keys.active_runs) == 0, 900, f"{runs} runs to end")
    client.close()


def _login(page: Page, api: Api) -> None:
    page.goto(api.url + "/")
    page.fill("#username", "alice")
    page.fill("#password", "wonderland")
    page.click("form.login button[type=submit]")
    page.wait_for_selector("table.dags tbody tr")


def _browse(api: Api, dag_id: str, tasks: int) -> dict[str, Any]:
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=chromium_path(), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(120_000)
        _login(page, api)
        began = time.perf_counter()
        page.goto(f"{api.url}/ui/#/dags/{dag_id}?tab=grid")
        page.wait_for_selector(".cell.state-success")
        grid_s = time.perf_counter() - began
        cells = page.locator(".cell").count()
        page.evaluate("performance.clearMeasures('grid-draw')")
        frames = page.evaluate(SCROLL_STEP, 40)
        draws = page.evaluate("performance.getEntriesByName('grid-draw').map((e) => e.duration)")
        began = time.perf_counter()
        page.locator(".grid-scroll").evaluate("el => { el.scrollLeft = 0; el.scrollTop = 0; }")
        page.wait_for_selector(".cell[data-run-id='bench__00000'].state-success")
        jump_s = time.perf_counter() - began
        began = time.perf_counter()
        page.get_by_role("tab", name="Graph").click()
        page.wait_for_function(
            f"document.querySelectorAll('.graph-svg .node.state-success').length === {tasks}"
        )
        graph_s = time.perf_counter() - began
        browser.close()
    return {
        "grid_first_paint_s": grid_s,
        "grid_cells_in_dom": cells,
        "scroll_frame_ms_p50": statistics.median(frames),
        "scroll_frame_ms_max": max(frames),
        "draw_ms_p50": statistics.median(draws),
        "draw_ms_max": max(draws),
        "jump_to_oldest_runs_s": jump_s,
        "graph_render_s": graph_s,
    }


def measure(work: Path, redis: RedisServer, smoke: bool) -> dict[str, Any]:
    tasks, runs = (20, 10) if smoke else (500, 1000)
    folder = work / "ui-dags"
    folder.mkdir(parents=True, exist_ok=True)
    dag_id = dags.grouped(folder, tasks)
    env = {"AIRLANE_API_USERS": USERS, "AIRLANE_API_SECRET": SECRET}
    with running(work / "ui", redis, folder, workers=0, **env) as cluster:
        cluster.wait_for_dags(dag_id, timeout_s=120)
        began = time.time()
        _finished_runs(cluster, dag_id, runs)
        made_s = time.time() - began
        api = Api.start(cluster)
        return {"tasks": tasks, "runs": runs, "runs_made_s": made_s, **_browse(api, dag_id, tasks)}
