// Trigger (conf as validated JSON, defaults from the DAG's params) and backfill dialogs.

import { api } from "../api.js";
import { affectedList, jsonEditor, modal } from "../dialogs.js";
import { h } from "../dom.js";

function paramDefaults(params) {
  const conf = {};
  for (const [name, param] of Object.entries(params || {})) {
    conf[name] = param && typeof param === "object" && "value" in param ? param.value : param;
  }
  return conf;
}

/** Resolves with the created run, or null when cancelled. */
export function triggerDialog(details) {
  const editor = jsonEditor(paramDefaults(details.params));
  const runId = h("input", { id: "trigger-run-id", placeholder: "generated when empty" });
  const logical = h("input", { id: "trigger-logical-date", type: "datetime-local", step: 1 });
  const body = h(
    "div",
    { class: "form" },
    h("label", { for: "trigger-run-id" }, "Run id"),
    runId,
    h("label", { for: "trigger-logical-date" }, "Logical date (UTC, empty: now)"),
    logical,
    h("label", {}, "Configuration (conf)"),
    editor.element,
  );
  return modal(`Trigger ${details.dag_id}`, body, [
    {
      label: "Trigger",
      primary: true,
      run: async () => {
        const conf = editor.value();
        if (conf === undefined) throw new Error("Fix the JSON before triggering.");
        const request = { conf };
        if (runId.value.trim()) request.dag_run_id = runId.value.trim();
        if (logical.value) request.logical_date = `${logical.value}Z`;
        return api.post(`/dags/${encodeURIComponent(details.dag_id)}/dagRuns`, request);
      },
    },
  ]);
}

export function backfillDialog(details) {
  const from = h("input", { id: "backfill-from", type: "datetime-local", step: 1, required: true });
  const to = h("input", { id: "backfill-to", type: "datetime-local", step: 1, required: true });
  const reprocess = h(
    "select",
    { id: "backfill-reprocess" },
    [
      ["none", "Missing runs only"],
      ["failed", "Missing and failed runs"],
      ["completed", "All runs (rerun completed)"],
    ].map(([v, t]) => h("option", { value: v }, t)),
  );
  const maxRuns = h("input", { id: "backfill-max-runs", type: "number", min: 1, value: 10 });
  const backwards = h("input", { id: "backfill-backwards", type: "checkbox" });
  const preview = h("div", { class: "preview", "aria-live": "polite" });
  const request = () => {
    if (!from.value || !to.value) throw new Error("Choose both dates.");
    return {
      dag_id: details.dag_id,
      from_date: `${from.value}Z`,
      to_date: `${to.value}Z`,
      reprocess_behavior: reprocess.value,
      max_active_runs: Number(maxRuns.value),
      run_backwards: backwards.checked,
    };
  };
  const body = h(
    "div",
    { class: "form" },
    h("label", { for: "backfill-from" }, "From (UTC)"),
    from,
    h("label", { for: "backfill-to" }, "To (UTC)"),
    to,
    h("label", { for: "backfill-reprocess" }, "Reprocess"),
    reprocess,
    h("label", { for: "backfill-max-runs" }, "Max active runs"),
    maxRuns,
    h("label", { class: "inline" }, backwards, " Run backwards"),
    preview,
  );
  return modal(`Backfill ${details.dag_id}`, body, [
    {
      label: "Preview",
      action: "preview",
      run: async () => {
        const dry = await api.post("/backfills/dry_run", request());
        preview.replaceChildren(
          h("p", {}, `${dry.total_entries} run${dry.total_entries === 1 ? "" : "s"} would be created:`),
          h("ul", { class: "affected" }, dry.backfills.slice(0, 50).map((b) => h("li", {}, b.logical_date))),
        );
        return false; // keep the dialog open
      },
    },
    { label: "Create backfill", primary: true, action: "create", run: () => api.post("/backfills", request()) },
  ]);
}

/** Clear a whole run (or only its failed instances) after listing what the API would clear. */
export function clearRunDialog(dagId, runId) {
  const path = `/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(runId)}/clear`;
  const onlyFailed = h("input", { type: "checkbox", id: "clear-run-only-failed" });
  const list = h("div", { class: "preview", "aria-live": "polite" });
  let asked = 0; // only the latest preview shows: an earlier answer arriving late is dropped
  const preview = async () => {
    const mine = ++asked;
    const body = await api.post(path, { dry_run: true, only_failed: onlyFailed.checked });
    if (mine === asked) list.replaceChildren(affectedList(body.task_instances, "cleared"));
  };
  onlyFailed.addEventListener("change", preview);
  preview().catch((err) => list.replaceChildren(h("p", { class: "error" }, err.message)));
  const body = h("div", { class: "form" }, h("label", { class: "inline" }, onlyFailed, " Only failed"), list);
  return modal(`Clear run ${runId}`, body, [
    {
      label: "Clear run",
      primary: true,
      action: "confirm-clear-run",
      run: () => api.post(path, { dry_run: false, only_failed: onlyFailed.checked }),
    },
  ]);
}

const FINISHED = ["success", "failed", "skipped", "upstream_failed", "removed"];

/** What marking a run changes, by Airflow's rule: success marks every instance not yet
 * successful; failed fails the running ones and skips the ones not finished. */
function markedBy(state, instances) {
  return instances.filter((ti) =>
    state === "success"
      ? !["success", "skipped"].includes(ti.state)
      : ti.state === "running" || !FINISHED.includes(ti.state),
  );
}

export async function markRunDialog(dagId, runId, state) {
  const base = `/dags/${encodeURIComponent(dagId)}/dagRuns/${encodeURIComponent(runId)}`;
  const all = await api.get(`${base}/taskInstances`, { limit: 1000 });
  const body = h("div", {}, affectedList(markedBy(state, all.task_instances), `marked (run ${state})`));
  return modal(`Mark run ${runId} ${state}`, body, [
    { label: `Mark ${state}`, primary: true, action: "confirm-mark-run", run: () => api.patch(base, { state }) },
  ]);
}
