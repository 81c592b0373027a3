// Airflow's state colours and names, and how a mapped task's many states read as one.

export const STATE_COLORS = {
  success: "#008000",
  running: "#00d000",
  failed: "#d00000",
  up_for_retry: "#ffd700",
  up_for_reschedule: "#40e0d0",
  upstream_failed: "#ffa500",
  skipped: "#ff69b4",
  queued: "#808080",
  scheduled: "#d2b48c",
  deferred: "#9370db",
  removed: "#d3d3d3",
  restarting: "#ee82ee",
  none: "#ffffff",
};

export const RUN_STATES = ["queued", "running", "success", "failed"];

/** The state shown for a task whose mapped instances are in `states` (worst first). */
const PRIORITY = [
  "failed",
  "upstream_failed",
  "up_for_retry",
  "up_for_reschedule",
  "running",
  "deferred",
  "restarting",
  "queued",
  "scheduled",
  "success",
  "skipped",
  "removed",
  "none",
];

export function summarize(states) {
  let best = null;
  for (const state of states) {
    const name = state || "none";
    if (best === null || PRIORITY.indexOf(name) < PRIORITY.indexOf(best)) best = name;
  }
  return best || "none";
}

export function stateName(state) {
  return state || "none";
}

export function isFinished(state) {
  return ["success", "failed", "skipped", "upstream_failed", "removed"].includes(state);
}
