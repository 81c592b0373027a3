// The grid's rows: task groups as rows of their own (collapsible) above their members, each
// level in topological order, as in Airflow's grid. Pure.

import { groupChains } from "./layout.js";

/** A tree of groups, each with its tasks and child groups, from the layout's order. */
function groupTree(tasks, groups, order) {
  const chains = groupChains(tasks, groups);
  const rank = new Map(order.map((id, i) => [id, i]));
  const root = { id: null, children: new Map(), tasks: [], first: -1 };
  for (const id of order) {
    let at = root;
    for (const g of chains.get(id) || []) {
      if (!at.children.has(g)) {
        at.children.set(g, { id: g, children: new Map(), tasks: [], first: rank.get(id) });
      }
      at = at.children.get(g);
    }
    at.tasks.push(id);
  }
  return { root, rank };
}

function members(node) {
  return [...node.tasks, ...[...node.children.values()].flatMap(members)];
}

/**
 * Rows for the grid: {task_id, depth, name} for a task, {group_id, depth, members, collapsed,
 * name} for a group (name: its display name when it has one). Groups in `collapsed` show their
 * row but not what is inside.
 */
export function gridRows(tasks, groups, order, collapsed = new Set()) {
  const { root, rank } = groupTree(tasks, groups, order);
  // display names (task_display_name, group_display_name) where they differ from the id
  const names = new Map(tasks.filter((t) => t.task_display_name && t.task_display_name !== t.task_id).map((t) => [t.task_id, t.task_display_name]));
  const groupNames = new Map(groups.filter((g) => g.group_display_name && g.group_display_name !== g.label).map((g) => [g.group_id, g.group_display_name]));
  const rows = [];
  const walk = (node, depth) => {
    const items = [
      ...node.tasks.map((id) => ({ first: rank.get(id), task: id })),
      ...[...node.children.values()].map((child) => ({ first: child.first, group: child })),
    ].sort((a, b) => a.first - b.first);
    for (const item of items) {
      if (item.task) {
        rows.push({ task_id: item.task, depth, name: names.get(item.task) });
        continue;
      }
      const shut = collapsed.has(item.group.id);
      const name = groupNames.get(item.group.id);
      rows.push({ group_id: item.group.id, depth, members: members(item.group), collapsed: shut, name });
      if (!shut) walk(item.group, depth + 1);
    }
  };
  walk(root, 0);
  return rows;
}
