// One DAG: grid, graph, runs, source and details, the task instance panel, and the actions
// (pause, trigger with conf, backfill). Live through the DAG's event stream.

import { api } from "../api.js";
import { assetText, withAssetNodes } from "../asset_nodes.js";
import { clear, debounce, fmtDate, fmtDuration, h } from "../dom.js";
import { graphView } from "../graph.js";
import { gridView } from "../grid.js";
import { stateLegend } from "../legend.js";
import { gridRows } from "../gridrows.js";
import { layout } from "../layout.js";
import { route, setParams } from "../router.js";
import { RunData } from "../rundata.js";
import { isFinished, stateName } from "../states.js";
import { backfillDialog, clearRunDialog, markRunDialog, triggerDialog } from "./dag_actions.js";
import { tiPanel } from "./ti_panel.js";

const TABS = ["grid", "graph", "runs", "source", "details"];
const RUNS_PAGE = 50;
// How long the page waits for its event stream to open before reading anyway (it reads
// again once the stream opens)
const LIVE_WAIT_MS = 3000;

export function dagPage(main, { match }) {
  const dagId = match[0];
  const base = `/dags/${encodeURIComponent(dagId)}`;
  const data = new RunData(dagId);
  const state = {
    details: null,
    tasks: [],
    // the assets this DAG is scheduled on or updates (the graph's asset nodes)
    assets: [],
    order: [],
    rows: [],
    collapsed: new Set(),
    view: null,
    panel: null,
    stop: [],
  };
  const title = h("h1", {}, dagId);
  // Disabled until the DAG's details say whether it is paused: an early click would flip it the
  // wrong way (the unchecked box is not yet the DAG's state).
  const pausedToggle = h("input", { type: "checkbox", class: "switch", "aria-label": "DAG active", disabled: true });
  const runLabel = h("span", { class: "run-label", "aria-live": "polite" });
  // The selected run's deadlines (a DAG with deadline alerts): each pending or missed.
  const deadlineBox = h("span", { class: "run-deadlines", "aria-label": "Deadlines" });
  const tabBar = h("div", { class: "tabs", role: "tablist" });
  const content = h("section", { class: "tab-content", role: "tabpanel" });
  const panelSlot = h("div", { class: "panel-slot" });
  const status = h("p", { class: "error", role: "alert" });
  const legend = stateLegend();
  const buttons = h(
    "div",
    { class: "toolbar" },
    h("label", { class: "switch-label" }, pausedToggle, " Active"),
    h("button", { type: "button", class: "primary", "data-action": "trigger", disabled: true, onclick: () => trigger() }, "Trigger"),
    h("button", { type: "button", "data-action": "backfill", disabled: true, onclick: () => backfillDialog(state.details) }, "Backfill"),
  );
  main.append(
    h("div", { class: "page-head" }, h("div", {}, h("a", { href: "#/dags", class: "muted" }, "DAGs"), title), buttons),
    h("div", { class: "subhead" }, tabBar, h("span", { class: "run-info" }, runLabel, deadlineBox)),
    status,
    h("div", { class: "dag-body" }, content, panelSlot),
    legend,
  );

  const params = () => route().params;
  const rowsNow = () => gridRows(state.tasks, state.details.task_groups || [], state.order, state.collapsed);
  const selectedRun = () => params().get("run");
  // Without a tab in the address: the DAG's default_view (Airflow 2) when this UI has it.
  const defaultTab = () => (["grid", "graph"].includes(state.details?.default_view) ? state.details.default_view : "grid");
  const tab = () => (TABS.includes(params().get("tab")) ? params().get("tab") : defaultTab());

  const showRunLabel = () => {
    const run = data.byId.get(selectedRun());
    clear(runLabel,
      run
        ? h(
            "span",
            {},
            "Run ",
            h("strong", { title: run.dag_run_id }, run.dag_run_id),
            " ",
            h("span", { class: `badge state-${stateName(run.state)}`, "data-run-state": run.state }, run.state),
            run.duration ? ` ${fmtDuration(run.duration)}` : "",
            " ",
            h("button", { type: "button", class: "small", "data-action": "clear-run", onclick: () => runAction(clearRunDialog(dagId, run.dag_run_id)) }, "Clear run\u2026"),
            h("button", { type: "button", class: "small", "data-action": "mark-run-success", onclick: () => runAction(markRunDialog(dagId, run.dag_run_id, "success")) }, "Mark success\u2026"),
            h("button", { type: "button", class: "small", "data-action": "mark-run-failed", onclick: () => runAction(markRunDialog(dagId, run.dag_run_id, "failed")) }, "Mark failed\u2026"),
          )
        : h("span", { class: "muted" }, "No run selected"),
    );
  };

  /** The selected run's deadlines, read again (only the latest read shows). */
  let deadlineReads = 0;
  const showDeadlines = async () => {
    const runId = selectedRun();
    const mine = ++deadlineReads;
    if (!state.alerts || !runId) {
      clear(deadlineBox);
      return;
    }
    try {
      const body = await api.get(`${base}/dagRuns/${encodeURIComponent(runId)}/deadlines`);
      if (mine !== deadlineReads) return;
      clear(deadlineBox,
        body.deadlines.map((d) =>
          h(
            "span",
            {
              class: `badge ${d.missed ? "state-failed" : "deadline-pending"}`,
              "data-deadline": d.missed ? "missed" : "pending",
              title: d.alert_name || "deadline",
            },
            `${d.missed ? "Deadline missed" : "Deadline"} ${fmtDate(d.deadline_time)}`,
          ),
        ),
      );
    } catch {
      if (mine === deadlineReads) clear(deadlineBox); // the run went meanwhile
    }
  };

  /** After a run-level action: the instances and the run are read again. */
  const runAction = async (done) => {
    try {
      if (!(await done)) return;
      await data.loadRun(selectedRun());
      await refreshRun(selectedRun());
      if (state.view?.update) state.view.update(data.runStates(selectedRun()));
    } catch (err) {
      status.textContent = err.message;
    }
  };

  /** The run shown from now on: its label and the states known at once, the rest once its
   * instances are read (unless another run was selected meanwhile). */
  const selectRun = async (runId) => {
    setParams({ run: runId });
    showDeadlines();
    const show = () => {
      showRunLabel();
      if (state.view?.select) state.view.select(runId);
      if (state.view?.update) state.view.update(data.runStates(runId));
    };
    show();
    if (!runId) return;
    await data.loadRun(runId).catch(() => {});
    if (selectedRun() === runId) show();
  };

  const openTask = (runId, taskId, mapIndex) => {
    setParams({ run: runId, task: taskId, map_index: mapIndex ?? null });
    if (state.view?.select && tab() === "graph") state.view.select(taskId);
    showPanel();
  };

  const showPanel = () => {
    if (state.panel) state.panel.destroy();
    state.panel = null;
    const p = params();
    if (!p.get("task") || !p.get("run")) {
      clear(panelSlot);
      main.classList.remove("with-panel");
      return;
    }
    main.classList.add("with-panel");
    state.panel = tiPanel(panelSlot, {
      dagId,
      runId: p.get("run"),
      taskId: p.get("task"),
      mapIndex: Number(p.get("map_index") ?? -1),
      instances: data.instances(p.get("run"), p.get("task")),
      onClose: () => {
        setParams({ task: null, map_index: null, try: null });
        showPanel();
      },
    });
  };

  const renderTab = () => {
    if (state.view?.destroy) state.view.destroy();
    state.view = null;
    clear(tabBar,
      ...TABS.map((name) =>
        h(
          "button",
          {
            type: "button",
            role: "tab",
            "aria-selected": String(tab() === name),
            "data-tab": name,
            onclick: () => {
              setParams({ tab: name });
              renderTab();
            },
          },
          name[0].toUpperCase() + name.slice(1),
        ),
      ),
    );
    const which = tab();
    legend.hidden = !["grid", "graph"].includes(which);
    if (which === "grid") {
      state.view = gridView(content, state.rows, data, {
        selectedRun: selectedRun(),
        onCell: (run, taskId) => openTask(run.dag_run_id, taskId),
        onRun: (run) => selectRun(run.dag_run_id),
        onToggleGroup: (groupId) => {
          if (!state.collapsed.delete(groupId)) state.collapsed.add(groupId);
          state.rows = rowsNow();
          state.view.setRows(state.rows);
        },
      });
    } else if (which === "graph") {
      const graphTasks = withAssetNodes(dagId, state.tasks, state.assets);
      state.view = graphView(content, graphTasks, state.details.task_groups || [], (taskId) => {
        if (selectedRun()) openTask(selectedRun(), taskId);
      }, state.details.orientation);
      state.view.update(data.runStates(selectedRun()));
      if (params().get("task")) state.view.select(params().get("task"));
    } else if (which === "runs") {
      state.view = runsTable(content, base, selectRun);
    } else if (which === "source") {
      sourceView(content, dagId);
    } else {
      detailsView(content, state.details);
    }
  };

  const trigger = async () => {
    const run = await triggerDialog(state.details);
    if (!run) return;
    // The new run is shown at once, not once the run list has been read again: until then
    // the page kept showing the previous run, and a click on a task acted on that one.
    data.byId.set(run.dag_run_id, run);
    const selecting = selectRun(run.dag_run_id);
    await data.reload();
    await selecting;
    if (state.view?.redraw) state.view.redraw();
  };

  pausedToggle.addEventListener("change", async () => {
    // Disabled while the change is in flight: its outcome decides the state shown.
    pausedToggle.disabled = true;
    try {
      await api.patch(base, { is_paused: !pausedToggle.checked });
    } catch (err) {
      pausedToggle.checked = !pausedToggle.checked;
      status.textContent = err.message;
    } finally {
      pausedToggle.disabled = false;
    }
  });

  /** A run started or ended: read its dates and duration again (only the latest read of a
   * run applies: an earlier one that answers late would bring back an older state). */
  const reads = new Map();
  const refreshRun = async (runId) => {
    const ticket = (reads.get(runId) || 0) + 1;
    reads.set(runId, ticket);
    try {
      const run = await api.get(`${base}/dagRuns/${encodeURIComponent(runId)}`);
      if (reads.get(runId) !== ticket) return;
      Object.assign(data.byId.get(runId) || {}, run);
      showRunLabel();
      if (runId === selectedRun()) showDeadlines();
      if (state.view?.redraw) state.view.redraw();
    } catch {
      /* the run was deleted meanwhile */
    }
  };

  const onEvent = async (event) => {
    if (event.kind === "dag" && event.dag_id === dagId) return;
    if (event.kind === "deadline_missed") {
      if (event.run_id === selectedRun()) showDeadlines();
      return;
    }
    const changed = data.apply(event);
    if (changed === "runs") {
      await data.reload();
      if (!selectedRun() && data.total) await selectRun(data.runAt(data.total - 1).dag_run_id);
    } else if (changed === "run") {
      if (isFinished(event.state) || event.state === "running") refreshRun(event.run_id);
      if (event.run_id === selectedRun()) showRunLabel();
    } else if (changed === "ti" && event.run_id === selectedRun()) {
      if (state.view?.update) state.view.update(data.runStates(selectedRun()));
      const p = params();
      if (state.panel && p.get("task") === event.task_id) state.panel.changed(event);
    }
    if (changed && state.view?.redraw) state.view.redraw();
  };

  /** The event stream opened late (or again, with nothing to resume from): what was read
   * before it is read again. */
  let started = false;
  const resync = async () => {
    try {
      data.fetched.clear();
      await data.reload();
      if (selectedRun()) await data.loadRun(selectedRun()).catch(() => {});
      showRunLabel();
      if (state.view?.update) state.view.update(data.runStates(selectedRun()));
      if (state.view?.redraw) state.view.redraw();
    } catch (err) {
      status.textContent = err.message;
    }
  };

  const start = async () => {
    try {
      const [details, tasks, assets, alerts] = await Promise.all([
        api.get(`${base}/details`),
        api.get(`${base}/tasks`),
        api.get("/assets", { dag_ids: dagId, limit: 1000 }).catch(() => ({ assets: [] })),
        api.get(`${base}/deadlineAlerts`).catch(() => ({ total_entries: 0 })),
      ]);
      state.details = details;
      state.alerts = alerts.total_entries > 0;
      state.assets = assets.assets;
      state.tasks = tasks.tasks;
      title.textContent = details.dag_display_name;
      pausedToggle.checked = !details.is_paused;
      pausedToggle.disabled = false;
      // The actions need the DAG's details (params, schedule): usable from now on.
      for (const button of buttons.querySelectorAll("button")) button.disabled = false;
      state.order = layout(state.tasks, details.task_groups || []).order;
      state.rows = rowsNow();
      // Subscribed before the first reads: what changes after them comes as events. (Read
      // first, a run ending between the read and the subscription stayed "running".)
      const live = new Promise((resolve) => {
        state.stop.push(api.events({ dag_id: dagId }, onEvent, () => (started ? resync() : resolve())));
      });
      await Promise.race([live, new Promise((resolve) => setTimeout(resolve, LIVE_WAIT_MS))]);
      started = true;
      await data.reload();
      if (!selectedRun() && data.total) setParams({ run: data.runAt(data.total - 1).dag_run_id });
      if (selectedRun()) await data.loadRun(selectedRun()).catch(() => {});
      showRunLabel();
      showDeadlines();
      renderTab();
      showPanel();
    } catch (err) {
      status.textContent = err.status === 404 ? `No DAG ${dagId}.` : err.message;
    }
  };
  const keys = (event) => {
    if (event.key === "Escape" && state.panel && !document.querySelector("dialog[open]")) {
      setParams({ task: null, map_index: null, try: null });
      showPanel();
    }
  };
  document.addEventListener("keydown", keys);
  start();
  return () => {
    document.removeEventListener("keydown", keys);
    for (const stop of state.stop) stop();
    if (state.panel) state.panel.destroy();
    if (state.view?.destroy) state.view.destroy();
    main.classList.remove("with-panel");
  };
}

function runsTable(root, base, onSelect) {
  let offset = 0;
  const body = h("tbody");
  const pager = h("div", { class: "pager" });
  const head = ["State", "Run id", "Type", "Logical date", "Started", "Ended", "Duration"];
  clear(root,
    h("table", { class: "runs-table" }, h("thead", {}, h("tr", {}, head.map((n) => h("th", { scope: "col" }, n)))), body),
    pager,
  );
  const load = async () => {
    const page = await api.get(`${base}/dagRuns`, { order_by: "-run_after", limit: RUNS_PAGE, offset });
    clear(body,
      ...page.dag_runs.map((run) =>
        h(
          "tr",
          { "data-run-id": run.dag_run_id },
          h("td", {}, h("span", { class: `badge state-${stateName(run.state)}` }, run.state)),
          h("td", {}, h("button", { type: "button", class: "link", onclick: () => onSelect(run.dag_run_id) }, run.dag_run_id)),
          h("td", {}, run.run_type),
          h("td", {}, fmtDate(run.logical_date || run.run_after)),
          h("td", {}, fmtDate(run.start_date)),
          h("td", {}, fmtDate(run.end_date)),
          h("td", {}, fmtDuration(run.duration)),
        ),
      ),
    );
    const last = Math.min(offset + RUNS_PAGE, page.total_entries);
    clear(pager,
      h("button", { type: "button", disabled: offset === 0, onclick: () => ((offset -= RUNS_PAGE), load()) }, "Newer"),
      ` ${page.total_entries ? offset + 1 : 0}\u2013${last} of ${page.total_entries} `,
      h("button", { type: "button", disabled: last >= page.total_entries, onclick: () => ((offset += RUNS_PAGE), load()) }, "Older"),
    );
  };
  load();
  return { redraw: debounce(load, 500) };
}

async function sourceView(root, dagId) {
  const source = await api.get(`/dagSources/${encodeURIComponent(dagId)}`);
  const lines = (source.content ?? "(the API cannot read this DAG's file)").split("\n");
  clear(root,
    h(
      "pre",
      { class: "source", "aria-label": "DAG source" },
      h("code", {}, lines.map((line) => h("span", { class: "line" }, `${line}\n`))),
    ),
  );
}

function detailsView(root, d) {
  const rows = [
    ["Description", d.description],
    ["Schedule", d.timetable_summary || "None"],
    ["Timetable", d.timetable_description],
    ["Next run", fmtDate(d.next_dagrun_run_after)],
    ["Next logical date", fmtDate(d.next_dagrun_logical_date)],
    ["Start date", fmtDate(d.start_date)],
    ["End date", fmtDate(d.end_date)],
    ["Catchup", String(d.catchup)],
    ["Time zone", d.timezone],
    ["Max active runs", d.max_active_runs],
    ["Max active tasks", d.max_active_tasks],
    ["Run timeout", d.dag_run_timeout ? fmtDuration(d.dag_run_timeout) : ""],
    ["Owners", d.owners.join(", ")],
    ["Tags", d.tags.map((t) => t.name).join(", ")],
    ["File", d.fileloc],
    ["Last parsed", fmtDate(d.last_parsed_time)],
    ["Assets", d.asset_expression ? assetText(d.asset_expression) : ""],
  ];
  clear(root,
    h("dl", { class: "details" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v === null || v === undefined ? "" : String(v))])),
    h("h3", {}, "Params"),
    h("pre", { class: "json" }, JSON.stringify(d.params || {}, null, 2)),
    d.doc_md ? [h("h3", {}, "Documentation"), h("pre", { class: "doc" }, d.doc_md)] : "",
  );
}
