// Asset nodes on a DAG's graph (pure): the assets the DAG is scheduled on, before its first
// tasks, and each task's outlets after it. Returns the tasks the graph lays out: copies of the
// DAG's tasks with the asset nodes among them (task_id "asset:<name>", `asset` set).

export const ASSET_PREFIX = "asset:";

export function withAssetNodes(dagId, tasks, assets) {
  const nodes = new Map();
  const copies = tasks.map((t) => ({ ...t, downstream_task_ids: [...(t.downstream_task_ids || [])] }));
  const byId = new Map(copies.map((t) => [t.task_id, t]));
  const node = (asset) => {
    const id = `${ASSET_PREFIX}${asset.name}`;
    if (!nodes.has(id)) {
      nodes.set(id, { task_id: id, asset: asset.name, uri: asset.uri, operator_name: "Asset", downstream_task_ids: [] });
    }
    return nodes.get(id);
  };
  const hasUpstream = new Set(copies.flatMap((t) => t.downstream_task_ids));
  const roots = copies.filter((t) => !hasUpstream.has(t.task_id)).map((t) => t.task_id);
  for (const asset of assets) {
    if (asset.scheduled_dags.some((d) => d.dag_id === dagId)) {
      node(asset).downstream_task_ids.push(...roots);
    }
    for (const ref of asset.producing_tasks) {
      const task = ref.dag_id === dagId ? byId.get(ref.task_id) : null;
      if (task) task.downstream_task_ids.push(node(asset).task_id);
    }
  }
  return [...copies, ...nodes.values()];
}

/** A DAG's asset condition (its details' asset_expression) as text: (a & b) | alias:c. */
export function assetText(expr) {
  if (expr.asset) return expr.asset.name;
  if (expr.alias) return `alias:${expr.alias.name}`;
  const [op, parts] = expr.all ? [" & ", expr.all] : [" | ", expr.any || []];
  const inner = parts.map((p) => (p.all || p.any ? `(${assetText(p)})` : assetText(p)));
  return inner.join(op);
}
