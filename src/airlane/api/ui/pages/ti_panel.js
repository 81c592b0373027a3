// The task instance panel: state, tries, timings, the operator's extra links, rendered template
// fields, XCom, the log of each try (tailed live while it runs), clear / mark with a
// confirmation of what changes, and the question of a human-in-the-loop task with its form.

import { api } from "../api.js";
import { affectedList, modal } from "../dialogs.js";
import { clear, fmtDate, fmtDuration, h } from "../dom.js";
import { setParams } from "../router.js";
import { showQuestion } from "./hitl_panel.js";
import { isFinished, stateName } from "../states.js";

export function tiPanel(slot, { dagId, runId, taskId, mapIndex, instances, onClose }) {
  const dagPath = `/dags/${encodeURIComponent(dagId)}`;
  const runPath = `${dagPath}/dagRuns/${encodeURIComponent(runId)}`;
  const tiBase = `${runPath}/taskInstances/${encodeURIComponent(taskId)}`;
  const mapped = instances.some((ti) => ti.map_index >= 0);
  if (mapped && mapIndex < 0) mapIndex = Math.min(...instances.map((ti) => ti.map_index));
  const tiPath = () => `${tiBase}${mapIndex >= 0 ? `/${mapIndex}` : ""}`;
  const summary = h("dl", { class: "details compact" });
  const tries = h("div", { class: "tries", role: "tablist", "aria-label": "Tries" });
  const log = h("pre", { class: "log", tabindex: 0, "aria-label": "Log", "aria-live": "off" });
  const rendered = h("div", { class: "rendered" });
  const xcoms = h("div", { class: "xcoms" });
  const links = h("nav", { class: "extra-links", "aria-label": "Extra links", hidden: true });
  const error = h("p", { class: "error", role: "alert" });
  const question = h("section", { class: "hitl", "aria-label": "Question" });
  const maps = mapped
    ? h(
        "select",
        { "aria-label": "Map index", onchange: (e) => ((mapIndex = Number(e.target.value)), refresh()) },
        [...instances]
          .sort((a, b) => a.map_index - b.map_index)
          .map((ti) =>
            h(
              "option",
              { value: ti.map_index, selected: ti.map_index === mapIndex },
              // a map_index_template's rendering names the instance, as in Airflow's UI
              ti.rendered_map_index ? `[${ti.map_index}] ${ti.rendered_map_index}` : `[${ti.map_index}]`,
            ),
          ),
      )
    : "";
  const panel = h(
    "aside",
    { class: "ti-panel", "aria-label": `Task ${taskId}`, "data-task-id": taskId },
    h(
      "div",
      { class: "panel-head" },
      h("h2", {}, taskId),
      maps,
      h("button", { type: "button", class: "close", "aria-label": "Close", onclick: onClose }, "\u00d7"),
    ),
    h(
      "div",
      { class: "toolbar" },
      h("button", { type: "button", "data-action": "clear", onclick: () => clearDialog() }, "Clear\u2026"),
      h("button", { type: "button", "data-action": "mark-success", onclick: () => markDialog("success") }, "Mark success\u2026"),
      h("button", { type: "button", "data-action": "mark-failed", onclick: () => markDialog("failed") }, "Mark failed\u2026"),
    ),
    error,
    question,
    summary,
    links,
    h("h3", {}, "Log"),
    tries,
    log,
    h("h3", {}, "Rendered template fields"),
    rendered,
    h("h3", {}, "XCom"),
    xcoms,
  );
  clear(slot, panel);
  let current = null; // the TaskInstanceResponse shown
  let shownTry = null;
  let logLoads = 0; // bumped by each showLog, so that an older paged read stops
  let stopTail = null;

  const showSummary = (ti) => {
    const rows = [
      ["State", h("span", { class: `badge state-${stateName(ti.state)}`, "data-ti-state": stateName(ti.state) }, stateName(ti.state))],
      ["Try", `${ti.try_number} of ${ti.max_tries + 1}`],
      ...(ti.rendered_map_index ? [["Map index", `${ti.map_index}: ${ti.rendered_map_index}`]] : []),
      ["Operator", ti.operator],
      ["Run", ti.dag_run_id],
      ["Started", fmtDate(ti.start_date)],
      ["Ended", fmtDate(ti.end_date)],
      ["Duration", fmtDuration(ti.duration)],
      ["Queued", fmtDate(ti.queued_when)],
      ["Worker", ti.hostname],
      ["Pool", `${ti.pool} (${ti.pool_slots} slot${ti.pool_slots === 1 ? "" : "s"})`],
      ["Queue", ti.queue],
      ["Priority", ti.priority_weight],
      // a deferred instance: the trigger it waits on and the triggerer running it
      ...(ti.trigger ? [["Trigger", h("span", { "data-trigger": ti.trigger.classpath }, ti.trigger.classpath)]] : []),
      ...(ti.triggerer_job ? [["Triggerer", ti.triggerer_job.hostname]] : []),
    ];
    clear(summary, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "")]));
  };

  const showLog = async (tryNumber) => {
    shownTry = tryNumber;
    logLoads += 1;
    setParams({ try: tryNumber });
    for (const b of tries.querySelectorAll("button")) {
      b.setAttribute("aria-selected", String(Number(b.dataset.try) === tryNumber));
    }
    if (stopTail) stopTail();
    stopTail = null;
    if (!tryNumber) {
      log.textContent = "This task has not run yet.";
      return;
    }
    const live = current && current.try_number === tryNumber && !isFinished(current.state);
    if (live && current.state === "running") {
      // The stream sends the running try's log from its first line, then each new line.
      log.textContent = "";
      stopTail = api.events({ dag_id: dagId, run_id: runId, task_id: taskId, logs: true }, (event) => {
        if (event.kind === "log" && event.try_number === tryNumber && event.map_index === mapIndex) {
          const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
          log.append(`${event.line}\n`);
          if (atEnd) log.scrollTop = log.scrollHeight;
        }
      });
      log.dataset.live = "1";
      return;
    }
    log.dataset.live = "0";
    // Page by page (the API sends a log of many MB in pages of about 1 MB), appended as they
    // come; a newer showLog call makes this one stop.
    const load = ++logLoads;
    log.textContent = "";
    let token = null;
    let shown = false;
    for (;;) {
      const params = token ? { map_index: mapIndex, token } : { map_index: mapIndex };
      const body = await api.get(`${tiBase}/logs/${tryNumber}`, params);
      if (load !== logLoads) return;
      const lines = body.content.map((c) => c.event);
      if (lines.length) {
        log.append(`${shown ? "\n" : ""}${lines.join("\n")}`);
        shown = true;
      }
      token = body.continuation_token;
      // A try still running hands out a token at the end of what it wrote so far: stop there.
      if (!token || !lines.length) break;
    }
    if (!shown) log.textContent = "(no log lines)";
  };

  const showTries = (ti, history) => {
    const numbers = history.map((t) => t.try_number);
    clear(tries,
      ...numbers.map((n) => {
        const entry = history.find((t) => t.try_number === n);
        return h(
          "button",
          {
            type: "button",
            role: "tab",
            class: `try state-${stateName(entry.state)}`,
            "data-try": n,
            title: `${stateName(entry.state)} ${fmtDuration(entry.duration)}`,
            onclick: () => showLog(n),
          },
          `Try ${n}`,
        );
      }),
    );
    return numbers;
  };

  const showRendered = (ti) => {
    const entries = Object.entries(ti.rendered_fields || {});
    clear(rendered,
      entries.length
        ? h("dl", { class: "details" }, entries.map(([k, v]) => [h("dt", {}, k), h("dd", {}, h("pre", {}, typeof v === "string" ? v : JSON.stringify(v, null, 2)))]))
        : h("p", { class: "muted" }, "None rendered yet."),
    );
  };

  const showXcoms = async () => {
    const body = await api.get(`${tiBase}/xcomEntries`, {
      map_index: mapIndex,
    });
    clear(xcoms,
      body.total_entries
        ? h(
            "dl",
            { class: "details" },
            body.xcom_entries.map((x) => [h("dt", {}, x.key), h("dd", {}, h("pre", {}, JSON.stringify(x.value, null, 2)))]),
          )
        : h("p", { class: "muted" }, "No XCom."),
    );
  };

  // The operator's extra links (Airflow's buttons above the log): a link's URL is what its try
  // pushed, so one not pushed yet is shown disabled; only http(s) URLs become links (a URL is
  // user code's text: a "javascript:" one stays text).
  const showLinks = async () => {
    let body;
    try {
      body = await api.get(`${tiBase}/links`, { map_index: mapIndex });
    } catch {
      links.hidden = true; // (the log and XComs still show)
      return;
    }
    const entries = Object.entries(body.extra_links || {});
    links.hidden = entries.length === 0;
    clear(links,
      entries.map(([name, url]) =>
        isWebUrl(url)
          ? h("a", { class: "button", href: url, target: "_blank", rel: "noopener noreferrer", "data-link": name }, name)
          : h("span", { class: "button disabled", "data-link": name, title: url ? `not a web address: ${url}` : "no link yet" }, name),
      ),
    );
  };

  let generation = 0; // only the latest refresh shows what it read
  const refresh = async (keepTry = false) => {
    const mine = ++generation;
    try {
      error.textContent = "";
      const [ti, tried] = await Promise.all([api.get(tiPath()), api.get(`${tiPath()}/tries`)]);
      if (mine !== generation) return;
      current = ti;
      showSummary(current);
      showQuestion(question, { runPath, taskId, mapIndex, onAnswered: () => refresh(true) }).catch((err) => {
        error.textContent = err.message;
      });
      showRendered(current);
      const history = tried.task_instances;
      const numbers = showTries(current, history);
      const wanted = keepTry && numbers.includes(shownTry) ? shownTry : current.try_number || null;
      await showLinks();
      await showLog(wanted);
      await showXcoms();
    } catch (err) {
      error.textContent = err.message;
    }
  };

  const clearDialog = async () => {
    const downstream = h("input", { type: "checkbox", checked: true, id: "clear-downstream" });
    const upstream = h("input", { type: "checkbox", id: "clear-upstream" });
    const onlyFailed = h("input", { type: "checkbox", id: "clear-only-failed" });
    const list = h("div", { class: "preview", "aria-live": "polite" });
    const request = (dryRun) => ({
      dry_run: dryRun,
      dag_run_id: runId,
      task_ids: [taskId],
      include_downstream: downstream.checked,
      include_upstream: upstream.checked,
      only_failed: onlyFailed.checked,
    });
    let asked = 0; // only the latest preview shows: an earlier answer arriving late is dropped
    const preview = async () => {
      const mine = ++asked;
      const body = await api.post(`${dagPath}/clearTaskInstances`, request(true));
      if (mine === asked) list.replaceChildren(affectedList(body.task_instances, "cleared"));
    };
    for (const box of [downstream, upstream, onlyFailed]) box.addEventListener("change", preview);
    const body = h(
      "div",
      { class: "form" },
      h("label", { class: "inline" }, downstream, " Downstream"),
      h("label", { class: "inline" }, upstream, " Upstream"),
      h("label", { class: "inline" }, onlyFailed, " Only failed"),
      list,
    );
    preview().catch((err) => list.replaceChildren(h("p", { class: "error" }, err.message)));
    const done = await modal(`Clear ${taskId}`, body, [
      { label: "Clear", primary: true, action: "confirm-clear", run: () => api.post(`${dagPath}/clearTaskInstances`, request(false)) },
    ]);
    if (done) refresh();
  };

  const markDialog = async (newState) => {
    const downstream = h("input", { type: "checkbox", id: "mark-downstream" });
    const upstream = h("input", { type: "checkbox", id: "mark-upstream" });
    const list = h("div", { class: "preview", "aria-live": "polite" });
    const request = () => ({
      new_state: newState,
      include_downstream: downstream.checked,
      include_upstream: upstream.checked,
    });
    let asked = 0; // only the latest preview shows: an earlier answer arriving late is dropped
    const preview = async () => {
      const mine = ++asked;
      const body = await api.patch(`${tiPath()}/dry_run`, request());
      if (mine === asked) list.replaceChildren(affectedList(body.task_instances, `marked ${newState}`));
    };
    for (const box of [downstream, upstream]) box.addEventListener("change", preview);
    preview().catch((err) => list.replaceChildren(h("p", { class: "error" }, err.message)));
    const body = h(
      "div",
      { class: "form" },
      h("label", { class: "inline" }, downstream, " Downstream"),
      h("label", { class: "inline" }, upstream, " Upstream"),
      list,
    );
    const done = await modal(`Mark ${taskId} ${newState}`, body, [
      { label: `Mark ${newState}`, primary: true, action: "confirm-mark", run: () => api.patch(tiPath(), request()) },
    ]);
    if (done) refresh();
  };

  refresh();
  let pending = null;
  return {
    /** A ti event of this task: read it again (coalesced), keeping the try shown if it ended. */
    changed(event) {
      if (event.map_index !== mapIndex) return;
      clearTimeout(pending);
      pending = setTimeout(() => refresh(event.try_number === shownTry), 100);
    },
    destroy() {
      clearTimeout(pending);
      if (stopTail) stopTail();
      panel.remove();
    },
  };
}

function isWebUrl(url) {
  if (typeof url !== "string") return false;
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:";
  } catch {
    return false;
  }
}
