// The grid view: runs (columns, oldest left) x tasks (rows), in Airflow's state colours.
// Only the cells in view exist in the DOM, so 1,000 runs x 500 tasks scroll as fast as ten.

import { clear, debounce, fmtDate, fmtDuration, h } from "./dom.js";
import { stateName, summarize } from "./states.js";

const CELL = 22;
const LABEL_W = 260;
const HEADER_H = 90;
const OVERSCAN = 4;

/** The state of a row in a run: a task's, or the summary of a group's members. */
function rowState(data, runId, row) {
  if (row.task_id) return data.state(runId, row.task_id);
  return summarize(row.members.map((t) => data.state(runId, t)).filter(Boolean));
}

/** The task ids whose states the rows need. */
function rowTasks(rows) {
  return rows.flatMap((r) => (r.task_id ? [r.task_id] : r.members));
}

/**
 * `rows`: from gridRows(), `data`: a RunData. `onCell(run, taskId)` and `onRun(run)` when a
 * cell or a run's bar is chosen (click, or Enter on the keyboard cursor).
 */
export function gridView(root, rows, data, { onCell, onRun, onToggleGroup, selectedRun }) {
  const canvas = h("div", { class: "grid-canvas" });
  const scroller = h(
    "div",
    {
      class: "grid-scroll",
      tabindex: 0,
      role: "grid",
      "aria-label": "Grid of runs and tasks; arrow keys move, Enter opens",
    },
    canvas,
  );
  const status = h("div", { class: "grid-status", "aria-live": "polite" });
  clear(root, status, scroller);
  const cursor = { row: 0, col: Math.max(0, data.total - 1) };
  let selected = selectedRun;
  let frame = 0;

  const size = () => {
    canvas.style.width = `${LABEL_W + data.total * CELL + 20}px`;
    canvas.style.height = `${HEADER_H + rows.length * CELL + 20}px`;
  };

  const visible = () => {
    const left = scroller.scrollLeft;
    const top = scroller.scrollTop;
    const firstCol = Math.max(0, Math.floor(left / CELL) - OVERSCAN);
    const lastCol = Math.min(
      data.total - 1,
      Math.ceil((left + scroller.clientWidth - LABEL_W) / CELL) + OVERSCAN,
    );
    const firstRow = Math.max(0, Math.floor(top / CELL) - OVERSCAN);
    const lastRow = Math.min(
      rows.length - 1,
      Math.ceil((top + scroller.clientHeight - HEADER_H) / CELL) + OVERSCAN,
    );
    return { left, top, firstCol, lastCol, firstRow, lastRow };
  };

  /** The longest duration among the runs in view: bars are scaled to it, as in Airflow. */
  const maxDuration = (v) => {
    let most = 0;
    for (let c = v.firstCol; c <= v.lastCol; c++) {
      const run = data.runAt(c);
      if (run && run.duration) most = Math.max(most, run.duration);
    }
    return most || 1;
  };

  const draw = () => {
    frame = 0;
    const began = performance.now();
    size();
    const v = visible();
    const cells = [];
    const most = maxDuration(v);
    for (let c = v.firstCol; c <= v.lastCol; c++) {
      const run = data.runAt(c);
      const x = LABEL_W + c * CELL;
      if (!run) continue;
      const height = Math.max(4, Math.round(((run.duration || 0) / most) * (HEADER_H - 24)));
      const bar = h(
        "div",
        {
          class: `run-bar state-${stateName(run.state)}${run.dag_run_id === selected ? " selected" : ""}`,
          title: `${run.dag_run_id}\n${run.state} ${fmtDuration(run.duration)}\n${fmtDate(run.run_after)}`,
          dataset: { runId: run.dag_run_id },
          style: `left:${x + 3}px;top:${v.top + HEADER_H - height - 4}px;height:${height}px`,
          onclick: () => choose(run.dag_run_id, null),
        },
      );
      cells.push(bar);
      for (let r = v.firstRow; r <= v.lastRow; r++) {
        const row = rows[r];
        const state = rowState(data, run.dag_run_id, row);
        const here = r === cursor.row && c === cursor.col;
        const ids = row.task_id ? { taskId: row.task_id } : { groupId: row.group_id };
        cells.push(
          h("div", {
            class: `cell state-${stateName(state)}${here ? " cursor" : ""}${row.task_id ? "" : " group-cell"}`,
            title: `${row.task_id || row.group_id}\n${run.dag_run_id}\n${stateName(state)}`,
            dataset: { runId: run.dag_run_id, ...ids, state: stateName(state) },
            style: `left:${x + 2}px;top:${HEADER_H + r * CELL + 2}px`,
            onclick: () => choose(run.dag_run_id, row, r, c),
          }),
        );
      }
    }
    for (let r = v.firstRow; r <= v.lastRow; r++) {
      const row = rows[r];
      const id = row.task_id || row.group_id;
      const style = `left:${v.left}px;top:${HEADER_H + r * CELL}px;width:${LABEL_W}px;padding-left:${8 + row.depth * 14}px`;
      const name = row.name || id.split(".").pop();
      cells.push(
        row.task_id
          ? h("div", { class: `row-label${r === cursor.row ? " cursor-row" : ""}`, title: id, style }, name)
          : h(
              "button",
              {
                type: "button",
                class: `row-label group-label${r === cursor.row ? " cursor-row" : ""}`,
                title: id,
                style,
                "aria-expanded": String(!row.collapsed),
                "data-group-id": id,
                onclick: () => onToggleGroup(id),
              },
              `${row.collapsed ? "\u25b8" : "\u25be"} ${name}`,
            ),
      );
    }
    cells.push(
      h(
        "div",
        { class: "grid-corner", style: `left:${v.left}px;top:${v.top}px;width:${LABEL_W}px;height:${HEADER_H}px` },
        h("span", {}, `${data.total} runs \u00b7 ${new Set(rowTasks(rows)).size} tasks`),
      ),
    );
    canvas.replaceChildren(...cells);
    status.textContent = "";
    // How long a frame of the grid takes to build (read by the UI benchmark).
    performance.measure("grid-draw", { start: began });
    load(v);
  };

  const redraw = () => {
    if (!frame) frame = requestAnimationFrame(draw);
  };

  const load = debounce(async (v) => {
    try {
      const gotRuns = await data.ensureRuns(v.firstCol, v.lastCol);
      const runIds = [];
      for (let c = v.firstCol; c <= v.lastCol; c++) {
        const run = data.runAt(c);
        if (run) runIds.push(run.dag_run_id);
      }
      const taskIds = rowTasks(rows.slice(v.firstRow, v.lastRow + 1));
      const gotTis = await data.ensureTis(runIds, taskIds);
      if (gotRuns || gotTis) redraw();
    } catch (err) {
      status.textContent = `Could not load the grid: ${err.message}`;
    }
  }, 60);

  const choose = (runId, row, r, c) => {
    if (r !== undefined) Object.assign(cursor, { row: r, col: c });
    selected = runId;
    const run = data.byId.get(runId);
    if (row && row.task_id) onCell(run, row.task_id);
    else if (row) onToggleGroup(row.group_id);
    else onRun(run);
    redraw();
  };

  const reveal = () => {
    const x = LABEL_W + cursor.col * CELL;
    const y = HEADER_H + cursor.row * CELL;
    if (x < scroller.scrollLeft + LABEL_W) scroller.scrollLeft = x - LABEL_W;
    if (x + CELL > scroller.scrollLeft + scroller.clientWidth) {
      scroller.scrollLeft = x + CELL - scroller.clientWidth;
    }
    if (y < scroller.scrollTop + HEADER_H) scroller.scrollTop = y - HEADER_H;
    if (y + CELL > scroller.scrollTop + scroller.clientHeight) {
      scroller.scrollTop = y + CELL - scroller.clientHeight;
    }
  };

  scroller.addEventListener("scroll", redraw, { passive: true });
  scroller.addEventListener("keydown", (event) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (moves[event.key]) {
      event.preventDefault();
      const [dr, dc] = moves[event.key];
      cursor.row = Math.min(rows.length - 1, Math.max(0, cursor.row + dr));
      cursor.col = Math.min(data.total - 1, Math.max(0, cursor.col + dc));
      reveal();
      redraw();
    } else if (event.key === "Enter") {
      const run = data.runAt(cursor.col);
      if (run && rows[cursor.row]) choose(run.dag_run_id, rows[cursor.row]);
    }
  });
  const resize = new ResizeObserver(redraw);
  resize.observe(scroller);
  size();
  scroller.scrollLeft = scroller.scrollWidth;
  redraw();
  return {
    redraw,
    setRows(next) {
      rows = next;
      cursor.row = Math.min(cursor.row, rows.length - 1);
      redraw();
    },
    select(runId) {
      selected = runId;
      redraw();
    },
    destroy() {
      performance.clearMeasures("grid-draw");
      resize.disconnect();
      if (frame) cancelAnimationFrame(frame);
    },
  };
}
