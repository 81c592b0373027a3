// The state legend under the grid and the graph: each task state's colour and name, as
// Airflow's legend lists them (deferred, Airflow's mediumpurple, included).

import { h } from "./dom.js";

export const LEGEND_STATES = [
  "deferred",
  "failed",
  "queued",
  "removed",
  "restarting",
  "running",
  "scheduled",
  "skipped",
  "success",
  "up_for_reschedule",
  "up_for_retry",
  "upstream_failed",
  "none",
];

export function stateLegend() {
  return h(
    "ul",
    { class: "legend", "aria-label": "Task states" },
    ...LEGEND_STATES.map((name) =>
      h(
        "li",
        { "data-state": name },
        h("span", { class: `dot state-${name}`, "aria-hidden": "true" }),
        name === "none" ? "no_status" : name,
      ),
    ),
  );
}
