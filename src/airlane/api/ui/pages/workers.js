// Connected workers with their slots and running tries, and the depth of each task queue.

import { api } from "../api.js";
import { clear, fmtDate, h } from "../dom.js";

const REFRESH_MS = 2000;

export function workersPage(main) {
  const workers = h("tbody");
  const queues = h("tbody");
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const head = (...names) => h("thead", {}, h("tr", {}, names.map((n) => h("th", { scope: "col" }, n))));
  main.append(
    h("h1", {}, "Workers and queues"),
    h("h2", {}, "Workers"),
    h("table", { class: "workers" }, head("Worker", "Host", "Queues", "Slots", "Alive", "Last heartbeat", "Running"), workers),
    h("h2", {}, "Queues"),
    h("table", { class: "queues" }, head("Queue", "Depth", "Running (delivered)", "Waiting", "Oldest message"), queues),
    status,
  );
  const load = async () => {
    try {
      const [w, q] = await Promise.all([api.get("/workers"), api.get("/queues")]);
      clear(workers,
        ...w.workers.map((one) =>
          h(
            "tr",
            { "data-worker-id": one.worker_id },
            h("td", {}, one.worker_id),
            h("td", {}, `${one.hostname} (pid ${one.pid ?? "?"})`),
            h("td", {}, one.queues.join(", ")),
            h(
              "td",
              {},
              h("meter", { min: 0, max: one.slots || 1, value: one.slots_busy, "aria-label": "slots busy" }),
              ` ${one.slots_busy} / ${one.slots}`,
            ),
            h("td", {}, one.alive ? "yes" : "no"),
            h("td", {}, fmtDate(one.last_heartbeat)),
            h(
              "td",
              {},
              one.running.map((r) =>
                h(
                  "div",
                  {},
                  h(
                    "a",
                    { href: `#/dags/${encodeURIComponent(r.dag_id)}?run=${encodeURIComponent(r.dag_run_id)}&task=${encodeURIComponent(r.task_id)}` },
                    `${r.dag_id} / ${r.task_id}${r.map_index >= 0 ? `[${r.map_index}]` : ""} try ${r.try_number}`,
                  ),
                ),
              ),
            ),
          ),
        ),
      );
      if (!w.workers.length) workers.append(h("tr", {}, h("td", { colspan: 7 }, "No worker is connected.")));
      clear(queues,
        ...q.queues.map((one) =>
          h(
            "tr",
            { "data-queue": one.name },
            h("td", {}, one.name),
            h("td", {}, String(one.depth)),
            h("td", {}, String(one.pending)),
            h("td", {}, String(one.waiting)),
            h("td", {}, one.depth ? `${one.oldest_message_age.toFixed(1)} s` : ""),
          ),
        ),
      );
      status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      status.textContent = err.message;
    }
  };
  load();
  const timer = setInterval(load, REFRESH_MS);
  return () => clearInterval(timer);
}
