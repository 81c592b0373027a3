// What the DAG page knows of its runs and their task instances, loaded as the views need it
// and kept current from the event stream. Runs are columns oldest first; pages load on demand.

import { api } from "./api.js";
import { summarize } from "./states.js";

const RUN_PAGE = 100;
const TI_PAGE = 1000;

export class RunData {
  constructor(dagId) {
    this.dagId = dagId;
    this.total = 0;
    this.pages = new Map(); // page number -> Promise
    this.byIndex = new Map(); // descending index (0 = newest) -> run
    this.byId = new Map();
    this.tis = new Map(); // run id -> task id -> map index -> TI
    this.fetched = new Set(); // "run|task" pairs loaded at least once
    this.listeners = new Set();
    // Events counted as they arrive: a fetched instance never replaces one that an event
    // updated after the fetch began (the fetch's snapshot may be older than that event).
    this.seq = 0;
  }

  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(what) {
    for (const fn of this.listeners) fn(what);
  }

  /** Forget the run list (a run was created or deleted); instance states stay. */
  async reload() {
    this.pages.clear();
    this.byIndex.clear();
    await this.loadPage(0);
    this.changed("runs");
  }

  loadPage(page) {
    if (!this.pages.has(page)) {
      const loading = api
        .get(`/dags/${encodeURIComponent(this.dagId)}/dagRuns`, {
          order_by: "-run_after",
          limit: RUN_PAGE,
          offset: page * RUN_PAGE,
        })
        .then((body) => {
          this.total = body.total_entries;
          body.dag_runs.forEach((run, i) => {
            this.byIndex.set(page * RUN_PAGE + i, run);
            this.byId.set(run.dag_run_id, run);
          });
        });
      this.pages.set(page, loading);
    }
    return this.pages.get(page);
  }

  /** The run in column `col` (0 = oldest), or null until its page is loaded. */
  runAt(col) {
    return this.byIndex.get(this.total - 1 - col) || null;
  }

  async ensureRuns(firstCol, lastCol) {
    const want = new Set();
    for (let c = Math.max(0, firstCol); c <= Math.min(this.total - 1, lastCol); c++) {
      const index = this.total - 1 - c;
      if (!this.byIndex.has(index)) want.add(Math.floor(index / RUN_PAGE));
    }
    if (!want.size) return false;
    await Promise.all([...want].map((p) => this.loadPage(p)));
    return true;
  }

  /**
   * Load the states of `taskIds` in `runIds` not loaded yet: batch requests of whole runs, each
   * small enough for one page (a second page would make the API read everything again).
   */
  async ensureTis(runIds, taskIds) {
    const runs = runIds.filter((r) => taskIds.some((t) => !this.fetched.has(`${r}|${t}`)));
    if (!runs.length || !taskIds.length) return false;
    for (const r of runs) for (const t of taskIds) this.fetched.add(`${r}|${t}`);
    const perRequest = Math.max(1, Math.floor(TI_PAGE / taskIds.length));
    const chunks = [];
    for (let i = 0; i < runs.length; i += perRequest) chunks.push(runs.slice(i, i + perRequest));
    const path = `/dags/${encodeURIComponent(this.dagId)}/dagRuns/~/taskInstances/list`;
    const since = this.seq;
    await Promise.all(
      chunks.map(async (chunk) => {
        const body = await api.post(path, { dag_run_ids: chunk, task_ids: taskIds, page_limit: TI_PAGE });
        for (const ti of body.task_instances) this.putFetched(ti, since);
      }),
    );
    return true;
  }

  /** Every instance of one run (the graph view, the panel). */
  async loadRun(runId) {
    const base = `/dags/${encodeURIComponent(this.dagId)}/dagRuns/${encodeURIComponent(runId)}`;
    let offset = 0;
    const since = this.seq;
    for (;;) {
      const body = await api.get(`${base}/taskInstances`, { limit: TI_PAGE, offset });
      for (const ti of body.task_instances) this.putFetched(ti, since);
      offset += body.task_instances.length;
      if (!body.task_instances.length || offset >= body.total_entries) break;
    }
  }

  /** A fetched instance, unless an event after `since` (a seq) already said more. */
  putFetched(ti, since) {
    const known = this.tis.get(ti.dag_run_id)?.get(ti.task_id)?.get(ti.map_index);
    if (known && known.eventSeq > since) {
      this.fetched.add(`${ti.dag_run_id}|${ti.task_id}`);
      return;
    }
    this.put(ti);
  }

  put(ti) {
    if (!this.tis.has(ti.dag_run_id)) this.tis.set(ti.dag_run_id, new Map());
    const tasks = this.tis.get(ti.dag_run_id);
    if (!tasks.has(ti.task_id)) tasks.set(ti.task_id, new Map());
    tasks.get(ti.task_id).set(ti.map_index, ti);
    this.fetched.add(`${ti.dag_run_id}|${ti.task_id}`);
  }

  state(runId, taskId) {
    const instances = this.tis.get(runId)?.get(taskId);
    if (!instances || !instances.size) return null;
    return summarize([...instances.values()].map((ti) => ti.state));
  }

  instances(runId, taskId) {
    return [...(this.tis.get(runId)?.get(taskId)?.values() || [])];
  }

  runStates(runId) {
    const states = new Map();
    for (const taskId of this.tis.get(runId)?.keys() || []) {
      states.set(taskId, this.state(runId, taskId));
    }
    return states;
  }

  /** An event from the stream; returns what it changed ("ti", "runs", "run" or null). */
  apply(event) {
    if (event.dag_id !== this.dagId) return null;
    if (event.kind === "ti") {
      this.seq += 1;
      const tasks = this.tis.get(event.run_id);
      const known = tasks?.get(event.task_id)?.get(event.map_index);
      const ti = known
        ? { ...known }
        : { dag_run_id: event.run_id, task_id: event.task_id, map_index: event.map_index };
      ti.state = event.state === "none" ? null : event.state;
      ti.try_number = event.try_number ?? ti.try_number;
      if (event.worker) ti.hostname = event.worker;
      ti.eventSeq = this.seq;
      this.put(ti);
      return "ti";
    }
    if (event.kind === "run") {
      const run = this.byId.get(event.run_id);
      if (!run) return "runs"; // a new run: the list is reloaded
      run.state = event.state;
      return "run";
    }
    return null;
  }
}
