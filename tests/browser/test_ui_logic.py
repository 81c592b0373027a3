"""The UI's pure modules (layout, grid rows, states, error text) run in Chromium, with no
server: the page's origin is routed to the files on disk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route

from airlane.api.webui import UI_DIR

ORIGIN = "http://airlane.test"


@pytest.fixture(scope="module")
def logic(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()

    def serve(route: Route) -> None:
        name = route.request.url.removeprefix(f"{ORIGIN}/ui/") or "index.html"
        path = UI_DIR / name
        if name == "blank.html":
            route.fulfill(body="<!doctype html><title>logic</title>", content_type="text/html")
        elif path.is_file():
            route.fulfill(path=str(path), content_type="text/javascript")
        else:
            route.fulfill(status=404)

    context.route(f"{ORIGIN}/**", serve)
    page = context.new_page()
    page.goto(f"{ORIGIN}/ui/blank.html")
    yield page
    context.close()


def run(page: Page, module: str, body: str) -> Any:
    """Evaluate ``body`` (an async function body) with ``m`` bound to the imported module."""
    return page.evaluate(f"async () => {{ const m = await import('/ui/{module}'); {body} }}")


def test_layout_puts_each_task_right_of_its_upstream(logic: Page) -> None:
    result = run(
        logic,
        "layout.js",
        """
        const tasks = [
          {task_id: "a", downstream_task_ids: ["b", "c"]},
          {task_id: "b", downstream_task_ids: ["d"]},
          {task_id: "c", downstream_task_ids: ["d"]},
          {task_id: "d", downstream_task_ids: []},
          {task_id: "lonely", downstream_task_ids: []},
        ];
        const out = m.layout(tasks, []);
        const at = Object.fromEntries([...out.nodes].map(([id, n]) => [id, n]));
        return {layers: Object.fromEntries(Object.entries(at).map(([id, n]) => [id, n.layer])),
                edges: out.edges.length, distinctY: new Set(["b", "c"].map((id) => at[id].y)).size,
                order: out.order};
        """,
    )
    assert result["layers"] == {"a": 0, "lonely": 0, "b": 1, "c": 1, "d": 2}
    assert result["edges"] == 4
    assert result["distinctY"] == 2  # siblings never overlap
    assert result["order"].index("a") < result["order"].index("b") < result["order"].index("d")


def test_layout_keeps_a_group_together_and_boxes_it(logic: Page) -> None:
    result = run(
        logic,
        "layout.js",
        """
        const tasks = [
          {task_id: "start", downstream_task_ids: ["g.x", "other", "g.y"]},
          {task_id: "g.x", downstream_task_ids: []},
          {task_id: "other", downstream_task_ids: []},
          {task_id: "g.y", downstream_task_ids: []},
        ];
        const groups = [{group_id: "g", children: ["g.x", "g.y"]}];
        const out = m.layout(tasks, groups);
        const column = out.order.slice(1);
        const box = out.groups[0];
        const inside = (id) => { const n = out.nodes.get(id);
          return n.x >= box.x && n.y >= box.y && n.x + m.NODE_W <= box.x + box.w
                 && n.y + m.NODE_H <= box.y + box.h; };
        return {column, group: box.group_id, inside: ["g.x", "g.y"].map(inside),
                otherInside: inside("other")};
        """,
    )
    column = result["column"]
    assert abs(column.index("g.x") - column.index("g.y")) == 1  # members next to each other
    assert result["group"] == "g"
    assert result["inside"] == [True, True]
    assert result["otherInside"] is False


def test_layout_of_500_tasks_has_no_overlapping_nodes(logic: Page) -> None:
    overlaps = run(
        logic,
        "layout.js",
        """
        const tasks = [];
        for (let i = 0; i < 500; i++) {
          const down = [];
          if (i + 1 < 500 && i % 7) down.push(`t${i + 1}`);
          if (i + 13 < 500) down.push(`t${i + 13}`);
          tasks.push({task_id: `t${i}`, downstream_task_ids: down});
        }
        const out = m.layout(tasks, []);
        const seen = new Set();
        let clashes = 0;
        for (const n of out.nodes.values()) {
          const key = `${n.x},${n.y}`;
          if (seen.has(key)) clashes++;
          seen.add(key);
        }
        return clashes;
        """,
    )
    assert overlaps == 0


def test_grid_rows_nest_groups_and_fold_them(logic: Page) -> None:
    result = run(
        logic,
        "gridrows.js",
        """
        const tasks = [
          {task_id: "start", downstream_task_ids: ["outer.a"]},
          {task_id: "outer.a", downstream_task_ids: ["outer.inner.b"]},
          {task_id: "outer.inner.b", downstream_task_ids: ["end"]},
          {task_id: "end", downstream_task_ids: []},
        ];
        const groups = [
          {group_id: "outer", children: ["outer.a", "outer.inner"]},
          {group_id: "outer.inner", children: ["outer.inner.b"]},
        ];
        const order = ["start", "outer.a", "outer.inner.b", "end"];
        const label = (r) => `${r.depth}:${r.task_id || "[" + r.group_id + "]"}`;
        const open = m.gridRows(tasks, groups, order).map(label);
        const folded = m.gridRows(tasks, groups, order, new Set(["outer"]));
        // display names show where they differ from the id
        tasks[1].task_display_name = "Step A";
        groups[0].label = "outer";
        groups[0].group_display_name = "Outer stage";
        const named = m.gridRows(tasks, groups, order).map((r) => r.name || "");
        return {open, folded: folded.map(label), members: folded[1].members, named};
        """,
    )
    assert result["named"] == ["", "Outer stage", "Step A", "", "", ""]
    assert result["open"] == [
        "0:start",
        "0:[outer]",
        "1:outer.a",
        "1:[outer.inner]",
        "2:outer.inner.b",
        "0:end",
    ]
    assert result["folded"] == ["0:start", "0:[outer]", "0:end"]
    assert sorted(result["members"]) == ["outer.a", "outer.inner.b"]


def test_a_mapped_task_shows_its_worst_state(logic: Page) -> None:
    result = run(
        logic,
        "states.js",
        """
        return [m.summarize(["success", "running", "success"]),
                m.summarize(["success", "failed", "running"]),
                m.summarize(["success", null]), m.summarize([])];
        """,
    )
    assert result == ["running", "failed", "success", "none"]


def test_api_errors_name_the_field(logic: Page) -> None:
    text = run(
        logic,
        "api.js",
        """
        const bad = {loc: ["body", "conf"], msg: "Input should be a valid dictionary"};
        return [m.ApiError.describe([bad]),
                m.ApiError.describe("Dag with id x was not found")];
        """,
    )
    assert text == ["conf: Input should be a valid dictionary", "Dag with id x was not found"]


def test_a_fetched_snapshot_never_hides_a_newer_event(logic: Page) -> None:
    states = run(
        logic,
        "rundata.js",
        """
        const data = new m.RunData("d");
        const ti = (state) => ({dag_run_id: "r", task_id: "t", map_index: -1, state});
        const since = data.seq;             // a fetch starts
        data.apply({kind: "ti", dag_id: "d", run_id: "r", task_id: "t", map_index: -1,
                    state: "success", try_number: 1});
        data.putFetched(ti("running"), since);  // its older snapshot arrives after the event
        const kept = data.state("r", "t");
        data.putFetched(ti("failed"), data.seq);  // a fetch begun after the event wins
        return [kept, data.state("r", "t")];
        """,
    )
    assert states == ["success", "failed"]
