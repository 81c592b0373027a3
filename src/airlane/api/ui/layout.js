// A layered (Sugiyama-style) layout of a DAG, left to right, with task groups kept together.
// Pure: tasks and groups in, coordinates out; the graph view draws what this returns.

export const NODE_W = 180;
export const NODE_H = 42;
const GAP_X = 70;
const GAP_Y = 16;
const GROUP_PAD = 10;
const GROUP_LABEL = 16;
const SWEEPS = 6;

/** Each task's chain of enclosing groups, outermost first, from the groups' children. */
export function groupChains(tasks, groups) {
  const parentOf = new Map();
  for (const g of groups || []) {
    for (const child of g.children || []) parentOf.set(child, g.group_id);
  }
  const chains = new Map();
  for (const t of tasks) {
    const chain = [];
    let at = parentOf.get(t.task_id);
    while (at) {
      chain.unshift(at);
      at = parentOf.get(at);
    }
    chains.set(t.task_id, chain);
  }
  return chains;
}

/** Longest-path layers: every task sits one column right of its furthest upstream. */
export function layers(tasks) {
  const ids = tasks.map((t) => t.task_id);
  const known = new Set(ids);
  const upstream = new Map(ids.map((id) => [id, []]));
  for (const t of tasks) {
    for (const d of t.downstream_task_ids || []) if (known.has(d)) upstream.get(d).push(t.task_id);
  }
  const indegree = new Map(ids.map((id) => [id, upstream.get(id).length]));
  const layer = new Map();
  const ready = ids.filter((id) => indegree.get(id) === 0);
  const order = [];
  const downstream = new Map(tasks.map((t) => [t.task_id, t.downstream_task_ids || []]));
  while (ready.length) {
    const id = ready.shift();
    order.push(id);
    const ups = upstream.get(id);
    layer.set(id, ups.length ? Math.max(...ups.map((u) => layer.get(u))) + 1 : 0);
    for (const d of downstream.get(id)) {
      if (!known.has(d)) continue;
      indegree.set(d, indegree.get(d) - 1);
      if (indegree.get(d) === 0) ready.push(d);
    }
  }
  return { layer, order, upstream, downstream };
}

function mean(values, fallback) {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : fallback;
}

/** Order one column by barycenter, members of a group together (nested groups too). */
function orderColumn(column, bary, chains) {
  const keyOf = new Map();
  const prefixMeans = new Map();
  for (const id of column) {
    const chain = chains.get(id) || [];
    for (let i = 1; i <= chain.length; i++) {
      const prefix = chain.slice(0, i).join("\u0000");
      if (!prefixMeans.has(prefix)) prefixMeans.set(prefix, []);
      prefixMeans.get(prefix).push(bary.get(id));
    }
  }
  for (const id of column) {
    const chain = chains.get(id) || [];
    const key = [];
    for (let i = 1; i <= chain.length; i++) {
      const prefix = chain.slice(0, i).join("\u0000");
      key.push(mean(prefixMeans.get(prefix), 0), prefix);
    }
    key.push(bary.get(id), id);
    keyOf.set(id, key);
  }
  const compare = (a, b) => {
    const ka = keyOf.get(a);
    const kb = keyOf.get(b);
    // Tasks outside any group compare by barycenter against a group's mean.
    for (let i = 0; i < Math.max(ka.length, kb.length); i += 2) {
      const va = i < ka.length - 2 ? ka[i] : ka[ka.length - 2];
      const vb = i < kb.length - 2 ? kb[i] : kb[kb.length - 2];
      if (va !== vb) return va - vb;
      const na = i < ka.length - 2 ? ka[i + 1] : ka[ka.length - 1];
      const nb = i < kb.length - 2 ? kb[i + 1] : kb[kb.length - 1];
      if (na !== nb) return na < nb ? -1 : 1;
    }
    return 0;
  };
  column.sort(compare);
}

/**
 * Lay out `tasks` ([{task_id, downstream_task_ids}]) with `groups` ([{group_id, children}]),
 * layers from left to right, or as `orientation` says (Airflow 2's LR, RL, TB, BT).
 * Returns {nodes: Map id -> {x, y, layer}, edges: [{from, to, path}], groups: [{group_id,
 * x, y, w, h, depth}], width, height, order: ids by column then row}.
 */
export function layout(tasks, groups = [], orientation = "LR") {
  const chains = groupChains(tasks, groups);
  const { layer, order, upstream, downstream } = layers(tasks);
  const columns = [];
  for (const id of order) {
    const l = layer.get(id);
    (columns[l] ||= []).push(id);
  }
  const position = new Map();
  const place = () => columns.forEach((col) => col.forEach((id, i) => position.set(id, i)));
  place();
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    const down = sweep % 2 === 0;
    const range = down ? columns.map((_, i) => i).slice(1) : columns.map((_, i) => i).reverse();
    for (const c of range) {
      const bary = new Map();
      for (const id of columns[c]) {
        const near = (down ? upstream.get(id) : downstream.get(id)).filter((n) => position.has(n));
        bary.set(id, mean(near.map((n) => position.get(n)), position.get(id)));
      }
      orderColumn(columns[c], bary, chains);
      columns[c].forEach((id, i) => position.set(id, i));
    }
  }
  const tallest = Math.max(1, ...columns.map((col) => col.length));
  const depth = Math.max(0, ...[...chains.values()].map((c) => c.length));
  const margin = 20 + depth * (GROUP_PAD + GROUP_LABEL);
  // Layers run along x (LR, RL) or y (TB, BT), the DAG's orientation as in Airflow 2's graph.
  const horizontal = orientation !== "TB" && orientation !== "BT";
  const reversed = orientation === "RL" || orientation === "BT";
  const layerStep = horizontal ? NODE_W + GAP_X : NODE_H + GAP_X;
  const rowStep = horizontal ? NODE_H + GAP_Y : NODE_W + GAP_Y;
  const nodes = new Map();
  columns.forEach((col, c) => {
    const offset = ((tallest - col.length) * rowStep) / 2;
    const along = margin + (reversed ? columns.length - 1 - c : c) * layerStep;
    col.forEach((id, i) => {
      const across = margin + offset + i * rowStep;
      nodes.set(id, horizontal ? { x: along, y: across, layer: c } : { x: across, y: along, layer: c });
    });
  });
  const edges = [];
  for (const t of tasks) {
    const a = nodes.get(t.task_id);
    for (const d of t.downstream_task_ids || []) {
      const b = nodes.get(d);
      if (!a || !b) continue;
      edges.push({ from: t.task_id, to: d, path: edgePath(a, b, horizontal, reversed) });
    }
  }
  const boxes = groupBoxes(nodes, chains);
  const alongSize = 2 * margin + columns.length * layerStep - GAP_X;
  const acrossSize = 2 * margin + tallest * rowStep - GAP_Y;
  const [width, height] = horizontal ? [alongSize, acrossSize] : [acrossSize, alongSize];
  const ordered = columns.flat();
  return { nodes, edges, groups: boxes, width: Math.max(width, 200), height, order: ordered };
}

/** An edge from a's exit side to b's entry side, as a cubic curve. */
function edgePath(a, b, horizontal, reversed) {
  const sign = reversed ? -1 : 1;
  if (horizontal) {
    const x1 = reversed ? a.x : a.x + NODE_W;
    const x2 = reversed ? b.x + NODE_W : b.x;
    const y1 = a.y + NODE_H / 2;
    const y2 = b.y + NODE_H / 2;
    const bend = sign * Math.max(30, Math.abs(x2 - x1) / 2);
    return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
  }
  const x1 = a.x + NODE_W / 2;
  const x2 = b.x + NODE_W / 2;
  const y1 = reversed ? a.y : a.y + NODE_H;
  const y2 = reversed ? b.y + NODE_H : b.y;
  const bend = sign * Math.max(20, Math.abs(y2 - y1) / 2);
  return `M${x1},${y1} C${x1},${y1 + bend} ${x2},${y2 - bend} ${x2},${y2}`;
}

function groupBoxes(nodes, chains) {
  const members = new Map();
  for (const [id, chain] of chains) {
    chain.forEach((g, i) => {
      if (!members.has(g)) members.set(g, { ids: [], depth: i, below: 0 });
      const entry = members.get(g);
      entry.ids.push(id);
      entry.below = Math.max(entry.below, chain.length - 1 - i);
    });
  }
  const boxes = [];
  for (const [group_id, { ids, depth, below }] of members) {
    const pad = GROUP_PAD * (below + 1);
    const top = (GROUP_PAD + GROUP_LABEL) * (below + 1);
    const xs = ids.map((id) => nodes.get(id).x);
    const ys = ids.map((id) => nodes.get(id).y);
    const x = Math.min(...xs) - pad;
    const y = Math.min(...ys) - top;
    boxes.push({
      group_id,
      depth,
      x,
      y,
      w: Math.max(...xs) + NODE_W + pad - x,
      h: Math.max(...ys) + NODE_H + pad - y,
    });
  }
  return boxes.sort((a, b) => a.depth - b.depth);
}
