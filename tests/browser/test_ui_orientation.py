"""The graph layout follows a DAG's ``orientation`` (Airflow 2's LR, RL, TB, BT): downstream
tasks are right of, left of, below or above their upstream."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.test_ui_logic import logic, run

__all__ = ["logic"]


def test_layout_follows_the_orientation(logic: Page) -> None:
    result = run(
        logic,
        "layout.js",
        """
        const tasks = [
          {task_id: "a", downstream_task_ids: ["b"]},
          {task_id: "b", downstream_task_ids: ["c"]},
          {task_id: "c", downstream_task_ids: []},
        ];
        const out = {};
        for (const o of ["LR", "RL", "TB", "BT"]) {
          const shape = m.layout(tasks, [], o);
          const a = shape.nodes.get("a"), b = shape.nodes.get("b");
          out[o] = {dx: Math.sign(b.x - a.x), dy: Math.sign(b.y - a.y),
                    tall: shape.height > shape.width, edges: shape.edges.length};
        }
        out.default = m.layout(tasks, []).edges[0].path === m.layout(tasks, [], "LR").edges[0].path;
        return out;
        """,
    )
    assert result["LR"] == {"dx": 1, "dy": 0, "tall": False, "edges": 2}
    assert result["RL"] == {"dx": -1, "dy": 0, "tall": False, "edges": 2}
    assert result["TB"] == {"dx": 0, "dy": 1, "tall": True, "edges": 2}
    assert result["BT"] == {"dx": 0, "dy": -1, "tall": True, "edges": 2}
    assert result["default"] is True
