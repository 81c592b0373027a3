// Assets: each asset with the tasks that produce it, the DAGs scheduled on it and the tasks
// that read it, and its latest events. Kept current from the event stream (kind "asset").

import { api } from "../api.js";
import { clear, debounce, fmtDate, h } from "../dom.js";

const LATEST = 3;

function dagLink(dagId, label = dagId) {
  return h("a", { href: `#/dags/${encodeURIComponent(dagId)}` }, label);
}

function taskRefs(refs) {
  return refs.map((ref) => h("div", {}, dagLink(ref.dag_id, `${ref.dag_id} / ${ref.task_id}`)));
}

function source(event) {
  if (!event.source_dag_id) return event.extra && event.extra.from_trigger ? "watcher" : "API";
  const index = event.source_map_index >= 0 ? `[${event.source_map_index}]` : "";
  return `${event.source_dag_id} / ${event.source_task_id}${index}`;
}

function eventList(events) {
  if (!events.length) return h("span", { class: "muted" }, "none yet");
  return h(
    "ul",
    { class: "asset-events" },
    events.map((e) =>
      h(
        "li",
        { "data-event-id": String(e.id) },
        `${fmtDate(e.timestamp)} from ${source(e)}`,
        e.created_dagruns.length
          ? [" → ", e.created_dagruns.map((r) => dagLink(r.dag_id, `${r.dag_id} (${r.state})`))]
          : "",
      ),
    ),
  );
}

function assetRow(asset, events) {
  const consumers = asset.scheduled_dags.map((d) => h("div", {}, dagLink(d.dag_id)));
  return h(
    "tr",
    { "data-asset": asset.name },
    h("td", {}, h("strong", {}, asset.name), asset.uri !== asset.name ? h("div", { class: "muted" }, asset.uri) : ""),
    h("td", {}, asset.group),
    h("td", { class: "producers" }, taskRefs(asset.producing_tasks)),
    h("td", { class: "consumers" }, consumers, taskRefs(asset.consuming_tasks)),
    h("td", { class: "latest" }, eventList(events)),
  );
}

export function assetsPage(main) {
  const rows = h("tbody");
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const head = (...names) => h("thead", {}, h("tr", {}, names.map((n) => h("th", { scope: "col" }, n))));
  main.append(
    h("h1", {}, "Assets"),
    h("table", { class: "assets" }, head("Asset", "Group", "Produced by", "Consumed by", "Latest events"), rows),
    status,
  );
  const load = async () => {
    try {
      const [assets, events] = await Promise.all([
        api.get("/assets", { limit: 1000, order_by: "name" }),
        api.get("/assets/events", { limit: 1000, order_by: "-timestamp" }),
      ]);
      const byAsset = new Map();
      for (const event of events.asset_events) {
        const list = byAsset.get(event.asset_id) || [];
        if (list.length < LATEST) list.push(event);
        byAsset.set(event.asset_id, list);
      }
      clear(rows, assets.assets.map((a) => assetRow(a, byAsset.get(a.id) || [])));
      if (!assets.assets.length) rows.append(h("tr", {}, h("td", { colspan: 5 }, "No DAG declares an asset.")));
      status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      status.textContent = err.message;
    }
  };
  const reload = debounce(load, 200);
  load();
  return api.events({ kind: ["asset", "dag"] }, reload, reload);
}
