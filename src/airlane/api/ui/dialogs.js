// Modal dialogs: a confirmation that lists what will change, and forms that validate first.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

/** Show a <dialog> with `body` and buttons; resolves with the chosen value (null: cancel). */
export function modal(title, body, buttons) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "modal", "aria-label": title });
    const error = h("p", { class: "error", role: "alert" });
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const row = h(
      "div",
      { class: "modal-buttons" },
      h("button", { type: "button", onclick: () => close(null) }, "Cancel"),
      buttons.map((b) =>
        h(
          "button",
          {
            type: "button",
            class: b.primary ? "primary" : "",
            "data-action": b.action || b.label,
            onclick: async () => {
              error.textContent = "";
              try {
                const value = b.run ? await b.run() : true;
                if (value !== undefined && value !== false) close(value);
              } catch (err) {
                error.textContent = err instanceof ApiError ? err.message : String(err.message || err);
              }
            },
          },
          b.label,
        ),
      ),
    );
    dialog.append(h("h2", {}, title), body, error, row);
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = dialog.querySelector("textarea, input, select, button.primary");
    if (first) first.focus();
  });
}

/** A list of task instances a change would touch, for a confirmation dialog. */
export function affectedList(instances, verb) {
  if (!instances.length) return h("p", {}, `No task instance would be ${verb}.`);
  return h(
    "div",
    {},
    h("p", {}, `${instances.length} task instance${instances.length === 1 ? "" : "s"} will be ${verb}:`),
    h(
      "ul",
      { class: "affected" },
      instances.map((ti) =>
        h(
          "li",
          { "data-task-id": ti.task_id },
          `${ti.task_id}${ti.map_index >= 0 ? `[${ti.map_index}]` : ""}`,
          h("span", { class: `badge state-${ti.state || "none"}` }, ti.state || "no status"),
          h("span", { class: "muted" }, ` ${ti.dag_run_id}`),
        ),
      ),
    ),
  );
}

/** A JSON editor: a textarea that says whether its text is a JSON object as you type. */
export function jsonEditor(initial) {
  const area = h("textarea", {
    class: "json-editor",
    rows: 10,
    spellcheck: false,
    "aria-label": "Run configuration (JSON)",
  });
  area.value = JSON.stringify(initial ?? {}, null, 2);
  const note = h("p", { class: "json-status", "aria-live": "polite" });
  const check = () => {
    try {
      const value = JSON.parse(area.value || "{}");
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new Error("conf must be a JSON object");
      }
      note.textContent = "Valid JSON";
      note.className = "json-status ok";
      area.setAttribute("aria-invalid", "false");
      return value;
    } catch (err) {
      note.textContent = `Invalid JSON: ${err.message}`;
      note.className = "json-status bad";
      area.setAttribute("aria-invalid", "true");
      return undefined;
    }
  };
  area.addEventListener("input", check);
  check();
  return { element: h("div", {}, area, note), value: check };
}
