// The question a human-in-the-loop task asks (Airflow's "required actions"), and the form that
// answers it: one button per option, or checkboxes and Respond when several may be chosen, with
// a field per param. Once answered: who chose what, and when.

import { api } from "../api.js";
import { clear, fmtDate, h } from "../dom.js";

/** Fill `slot` with the question of this task instance, if it asks one; empty it otherwise. */
export async function showQuestion(slot, { runPath, taskId, mapIndex, onAnswered }) {
  const body = await api.get(`${runPath}/hitlDetails`, { task_id: taskId, map_index: mapIndex });
  const detail = body.hitl_details[0];
  if (!detail) {
    clear(slot);
    return;
  }
  const url = `${runPath}/taskInstances/${encodeURIComponent(taskId)}/${mapIndex}/hitlDetails`;
  clear(
    slot,
    h("h3", {}, "Question"),
    h("p", { class: "hitl-subject" }, detail.subject),
    detail.body ? h("p", { class: "hitl-body" }, detail.body) : "",
    detail.response_received ? answered(detail) : form(detail, url, onAnswered),
  );
}

function answered(detail) {
  const who = detail.responded_by_user ? detail.responded_by_user.name : "timeout (defaults)";
  const inputs = Object.entries(detail.params_input || {});
  return h(
    "dl",
    { class: "details compact", "data-hitl": "answered" },
    h("dt", {}, "Chosen"),
    h("dd", { "data-hitl-chosen": "" }, (detail.chosen_options || []).join(", ")),
    h("dt", {}, "By"),
    h("dd", {}, who),
    h("dt", {}, "At"),
    h("dd", {}, fmtDate(detail.responded_at)),
    inputs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "string" ? v : JSON.stringify(v))]),
  );
}

/** A field per param, prefilled with its value; read back in the type its schema names. */
function paramField(name, param) {
  const type = (param.schema || {}).type;
  const value = param.value;
  if (type === "boolean") {
    const box = h("input", { type: "checkbox", checked: Boolean(value), name });
    return { node: h("label", { class: "inline" }, box, ` ${name}`), read: () => box.checked };
  }
  const text = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  const input = h("input", { type: "text", value: text, name, "aria-label": name });
  const read = () => {
    if (type === "string") return input.value;
    try {
      return JSON.parse(input.value);
    } catch {
      return input.value; // the API says what is wrong with it
    }
  };
  const label = param.description ? `${name} (${param.description})` : name;
  return { node: h("label", {}, label, input), read };
}

function form(detail, url, onAnswered) {
  const error = h("p", { class: "error", role: "alert" });
  const fields = Object.entries(detail.params || {}).map(([name, p]) => [name, paramField(name, p)]);
  const respond = async (chosen) => {
    error.textContent = "";
    const params_input = Object.fromEntries(fields.map(([name, f]) => [name, f.read()]));
    try {
      await api.patch(url, { chosen_options: chosen, params_input });
      onAnswered();
    } catch (err) {
      error.textContent = err.message;
    }
  };
  const boxes = detail.options.map((o) => h("input", { type: "checkbox", value: o, checked: (detail.defaults || []).includes(o) }));
  const choices = detail.multiple
    ? [
        boxes.map((box) => h("label", { class: "inline" }, box, ` ${box.value}`)),
        h("button", { type: "button", class: "primary", onclick: () => respond(boxes.filter((b) => b.checked).map((b) => b.value)) }, "Respond"),
      ]
    : h(
        "div",
        { class: "toolbar" },
        detail.options.map((o) => h("button", { type: "button", "data-hitl-option": o, onclick: () => respond([o]) }, o)),
      );
  return h("div", { class: "form", "data-hitl": "form" }, fields.map(([, f]) => f.node), choices, error);
}
