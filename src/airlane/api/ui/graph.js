// The graph view: the layered layout drawn as SVG, nodes coloured by the selected run's states.

import { clear, h, s } from "./dom.js";
import { NODE_H, NODE_W, layout } from "./layout.js";
import { stateName } from "./states.js";

function label(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}\u2026` : text;
}

/** An asset (a node the DAG's tasks are scheduled on or update): links to the Assets page. */
function assetNode(node, at) {
  const el = s(
    "a",
    { href: "#/assets", class: "asset-node", transform: `translate(${at.x},${at.y})`, "data-asset": node.asset },
    s("title", {}, `Asset ${node.asset} (${node.uri})`),
    s("rect", { width: NODE_W, height: NODE_H, rx: NODE_H / 2, class: "node-box" }),
    s("text", { x: 18, y: 17, class: "node-label" }, label(node.asset, 22)),
    s("text", { x: 18, y: 33, class: "node-operator" }, "Asset"),
  );
  return el;
}

/**
 * Draw `tasks` into `root`, laid out as `orientation` says (LR, RL, TB, BT); `onSelect(task_id)`
 * on click or Enter. Returns {update(states),
 * destroy()} where states maps task_id -> state.
 */
export function graphView(root, tasks, groups, onSelect, orientation = "LR") {
  const shape = layout(tasks, groups, orientation);
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  let scale = 1;
  const svg = s("svg", {
    class: "graph-svg",
    width: shape.width,
    height: shape.height,
    viewBox: `0 0 ${shape.width} ${shape.height}`,
    role: "img",
    "aria-label": "Graph of the DAG's tasks",
  });
  const defs = s(
    "defs",
    {},
    s(
      "marker",
      {
        id: "arrow",
        viewBox: "0 0 10 10",
        refX: 10,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: "auto-start-reverse",
      },
      s("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "edge-head" }),
    ),
  );
  svg.append(defs);
  for (const g of shape.groups) {
    const name = g.group_display_name || g.group_id.split(".").pop();
    svg.append(
      s(
        "g",
        { class: "group", "data-group": g.group_id },
        s("rect", { x: g.x, y: g.y, width: g.w, height: g.h, rx: 8 }),
        s("text", { x: g.x + 8, y: g.y + 14, class: "group-label" }, name),
      ),
    );
  }
  const edgeLayer = s("g", { class: "edges" });
  for (const e of shape.edges) {
    edgeLayer.append(s("path", { d: e.path, class: "edge", "marker-end": "url(#arrow)" }));
  }
  svg.append(edgeLayer);
  const nodeEls = new Map();
  for (const [id, at] of shape.nodes) {
    const task = byId.get(id);
    if (task.asset) {
      svg.append(assetNode(task, at));
      continue;
    }
    const short = task.task_display_name && task.task_display_name !== id ? task.task_display_name : id.split(".").pop();
    const node = s(
      "g",
      {
        class: "node state-none",
        transform: `translate(${at.x},${at.y})`,
        tabindex: 0,
        role: "button",
        "data-task-id": id,
        "aria-label": `${id}: no status`,
      },
      s("title", {}, id),
      s("rect", { width: NODE_W, height: NODE_H, rx: 6, class: "node-box" }),
      s("rect", { width: 8, height: NODE_H, rx: 3, class: "node-state" }),
      s("text", { x: 16, y: 17, class: "node-label" }, label(short, 22)),
      s(
        "text",
        { x: 16, y: 33, class: "node-operator" },
        label(`${task.operator_name || ""}${task.is_mapped ? " [ ]" : ""}`, 26),
      ),
    );
    node.addEventListener("click", () => onSelect(id));
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        onSelect(id);
      }
    });
    nodeEls.set(id, node);
    svg.append(node);
  }
  const zoomed = () => {
    svg.setAttribute("width", String(shape.width * scale));
    svg.setAttribute("height", String(shape.height * scale));
  };
  const tools = h(
    "div",
    { class: "graph-tools" },
    h("button", { type: "button", onclick: () => ((scale = Math.min(2, scale * 1.25)), zoomed()) }, "Zoom in"),
    h("button", { type: "button", onclick: () => ((scale = Math.max(0.2, scale / 1.25)), zoomed()) }, "Zoom out"),
    h(
      "button",
      {
        type: "button",
        onclick: () => {
          scale = Math.min(1, (frame.clientWidth - 20) / shape.width);
          zoomed();
        },
      },
      "Fit",
    ),
  );
  const frame = h("div", { class: "graph-frame" }, svg);
  clear(root, tools, frame);
  let selected = null;
  return {
    order: shape.order,
    update(states) {
      for (const [id, node] of nodeEls) {
        const state = stateName(states.get(id));
        node.setAttribute("class", `node state-${state}${id === selected ? " selected" : ""}`);
        node.setAttribute("aria-label", `${id}: ${state === "none" ? "no status" : state}`);
        node.dataset.state = state;
      }
    },
    select(id) {
      selected = id;
      for (const [one, node] of nodeEls) node.classList.toggle("selected", one === id);
    },
  };
}
