// The DAG list: search, tags, paused toggle, schedule and next run, the last runs' states,
// and a banner when some DAG files do not import. Kept current from the event stream.

import { api } from "../api.js";
import { clear, debounce, fmtDate, h } from "../dom.js";
import { route, setParams } from "../router.js";
import { stateName } from "../states.js";

const RECENT_RUNS = 10;

export function dagsPage(main) {
  const { params } = route();
  const search = h("input", {
    type: "search",
    placeholder: "Search DAGs",
    "aria-label": "Search DAGs by id",
    value: params.get("q") || "",
  });
  const filter = h(
    "select",
    { "aria-label": "Show DAGs" },
    ["all", "active", "paused"].map((v) =>
      h("option", { value: v, selected: (params.get("show") || "all") === v }, v === "all" ? "All DAGs" : v === "active" ? "Active" : "Paused"),
    ),
  );
  const tagBar = h("div", { class: "tag-filter" });
  const banner = h("div", { class: "banner-slot" });
  const body = h("tbody");
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const table = h(
    "table",
    { class: "dags" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Active", "DAG", "Tags", "Schedule", "Next run", "Recent runs", "Owner"].map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    body,
  );
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, "DAGs"), h("div", { class: "toolbar" }, search, filter)),
    banner,
    tagBar,
    table,
    status,
  );
  const rowOf = new Map();

  const recentRuns = async (dagId, cell) => {
    const body = await api.get(`/dags/${encodeURIComponent(dagId)}/dagRuns`, {
      order_by: "-run_after",
      limit: RECENT_RUNS,
    });
    clear(cell,
      h(
        "span",
        { class: "recent" },
        body.dag_runs
          .slice()
          .reverse()
          .map((run) =>
            h("a", {
              class: `dot state-${stateName(run.state)}`,
              href: `#/dags/${encodeURIComponent(dagId)}?run=${encodeURIComponent(run.dag_run_id)}`,
              title: `${run.dag_run_id}: ${run.state}`,
              "aria-label": `run ${run.dag_run_id} ${run.state}`,
              "data-state": run.state,
            }),
          ),
      ),
      body.total_entries ? h("span", { class: "muted" }, ` ${body.total_entries}`) : "",
    );
  };

  const row = (dag) => {
    const toggle = h("input", {
      type: "checkbox",
      class: "switch",
      checked: !dag.is_paused,
      "aria-label": `${dag.dag_id} active`,
      "data-dag-id": dag.dag_id,
    });
    toggle.addEventListener("change", async () => {
      toggle.disabled = true; // until the change is stored: its outcome decides the state shown
      try {
        await api.patch(`/dags/${encodeURIComponent(dag.dag_id)}`, { is_paused: !toggle.checked });
      } catch (err) {
        toggle.checked = !toggle.checked;
        status.textContent = err.message;
      } finally {
        toggle.disabled = false;
      }
    });
    const runs = h("td", { class: "runs" });
    const tr = h(
      "tr",
      { "data-dag-id": dag.dag_id },
      h("td", {}, toggle),
      h(
        "td",
        {},
        h("a", { href: `#/dags/${encodeURIComponent(dag.dag_id)}`, class: "dag-link" }, dag.dag_display_name),
        dag.description ? h("div", { class: "muted small" }, dag.description) : "",
      ),
      h(
        "td",
        {},
        dag.tags.map((t) =>
          h("button", { type: "button", class: "tag", onclick: () => setTag(t.name) }, t.name),
        ),
      ),
      h("td", { title: dag.timetable_description || "" }, dag.timetable_summary || "None"),
      h("td", {}, fmtDate(dag.next_dagrun_run_after)),
      runs,
      h("td", {}, dag.owners.join(", ")),
    );
    rowOf.set(dag.dag_id, runs);
    recentRuns(dag.dag_id, runs).catch(() => {});
    return tr;
  };

  const setTag = (tag) => {
    setParams({ tag: route().params.get("tag") === tag ? null : tag });
    load();
  };

  const load = async () => {
    const { params: now } = route();
    const show = filter.value;
    const tag = now.get("tag");
    clear(tagBar,
      tag ? h("span", {}, "Tag: ", h("button", { type: "button", class: "tag active", onclick: () => setTag(tag) }, `${tag} \u00d7`)) : "",
    );
    try {
      const [dags, errors] = await Promise.all([
        api.get("/dags", {
          limit: 1000,
          dag_id_pattern: search.value || undefined,
          paused: show === "all" ? undefined : show === "paused",
          tags: tag || undefined,
        }),
        api.get("/importErrors", { limit: 1 }),
      ]);
      rowOf.clear();
      clear(body, ...dags.dags.map(row));
      status.textContent = dags.total_entries ? "" : "No DAGs match.";
      clear(banner,
        errors.total_entries
          ? h(
              "div",
              { class: "banner error-banner", role: "alert" },
              `${errors.total_entries} DAG file${errors.total_entries === 1 ? " does" : "s do"} not import. `,
              h("a", { href: "#/import-errors" }, "See the import errors"),
            )
          : "",
      );
    } catch (err) {
      status.textContent = err.message;
    }
  };

  const refreshRuns = new Map();
  const onEvent = (event) => {
    if (event.kind === "import_errors" || event.kind === "dag") return reload();
    if (event.kind === "run" && rowOf.has(event.dag_id)) {
      if (!refreshRuns.has(event.dag_id)) {
        refreshRuns.set(event.dag_id, debounce(() => recentRuns(event.dag_id, rowOf.get(event.dag_id)).catch(() => {}), 200));
      }
      refreshRuns.get(event.dag_id)();
    }
    return undefined;
  };
  const reload = debounce(load, 300);
  search.addEventListener("input", () => {
    setParams({ q: search.value });
    reload();
  });
  filter.addEventListener("change", () => {
    setParams({ show: filter.value === "all" ? null : filter.value });
    load();
  });
  load();
  return api.events({ kind: ["run", "dag", "import_errors"] }, onEvent);
}
