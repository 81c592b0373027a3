// Connections: list, add, edit and delete. Passwords are write-only: the API answers "***"
// for a set password, the form never shows one, and an empty password field on edit keeps
// the stored password (the field is left out of the PATCH).

import { api } from "../api.js";
import { modal } from "../dialogs.js";
import { clear, h } from "../dom.js";

const TEXT_FIELDS = [
  ["conn_type", "Connection type", "postgres, http, sqlite..."],
  ["description", "Description", ""],
  ["host", "Host", ""],
  ["schema", "Schema", ""],
  ["login", "Login", ""],
];

function field(id, label, input) {
  return [h("label", { for: id }, label), input];
}

/** The add / edit form; resolves with the saved connection, or null when cancelled. */
function connectionDialog(existing) {
  const inputs = {};
  const idInput = h("input", { id: "conn-connection_id", required: true, value: existing ? existing.connection_id : "" });
  if (existing) idInput.readOnly = true;
  const rows = [field("conn-connection_id", "Connection id", idInput)];
  for (const [name, label, placeholder] of TEXT_FIELDS) {
    inputs[name] = h("input", { id: `conn-${name}`, placeholder, value: (existing && existing[name]) || "" });
    rows.push(field(`conn-${name}`, label, inputs[name]));
  }
  inputs.port = h("input", { id: "conn-port", type: "number", min: 0, value: existing && existing.port != null ? String(existing.port) : "" });
  rows.push(field("conn-port", "Port", inputs.port));
  const passwordHint = existing && existing.password ? "set (leave empty to keep it)" : "";
  const password = h("input", { id: "conn-password", type: "password", autocomplete: "new-password", placeholder: passwordHint });
  rows.push(field("conn-password", "Password", password));
  const extra = h("textarea", { id: "conn-extra", rows: 5, class: "json-editor", placeholder: '{"key": "value"}' });
  extra.value = (existing && existing.extra) || "";
  rows.push(field("conn-extra", "Extra (JSON object; *** keeps a stored secret)", extra));
  const request = () => {
    const body = { connection_id: idInput.value.trim() };
    for (const [name] of TEXT_FIELDS) body[name] = inputs[name].value.trim() || null;
    if (!body.conn_type) throw new Error("The connection type is required.");
    body.port = inputs.port.value === "" ? null : Number(inputs.port.value);
    body.extra = extra.value.trim() || null;
    if (password.value) body.password = password.value;
    else if (!existing) body.password = null;
    return body;
  };
  const title = existing ? `Edit connection ${existing.connection_id}` : "Add connection";
  return modal(title, h("div", { class: "form" }, rows), [
    {
      label: "Save",
      primary: true,
      action: "save-connection",
      run: () => {
        const body = request();
        if (!existing) return api.post("/connections", body);
        return api.patch(`/connections/${encodeURIComponent(existing.connection_id)}`, body);
      },
    },
  ]);
}

function deleteDialog(conn) {
  const body = h("p", {}, `Delete the connection ${conn.connection_id}? Tasks that use it will fail to find it.`);
  return modal(`Delete ${conn.connection_id}`, body, [
    {
      label: "Delete",
      primary: true,
      action: "confirm-delete-connection",
      run: async () => {
        await api.request("DELETE", `/connections/${encodeURIComponent(conn.connection_id)}`);
        return true;
      },
    },
  ]);
}

function row(conn, reload) {
  const edit = async () => { if (await connectionDialog(conn)) reload(); };
  const remove = async () => { if (await deleteDialog(conn)) reload(); };
  return h(
    "tr",
    { "data-connection-id": conn.connection_id },
    h("td", {}, conn.connection_id),
    h("td", {}, conn.conn_type),
    h("td", {}, conn.host || ""),
    h("td", {}, conn.port == null ? "" : String(conn.port)),
    h("td", {}, conn.login || ""),
    h("td", { class: "conn-password" }, conn.password ? "set" : ""),
    h("td", {}, conn.description || ""),
    h(
      "td",
      {},
      h("button", { type: "button", "data-action": "edit-connection", onclick: edit }, "Edit"),
      " ",
      h("button", { type: "button", "data-action": "delete-connection", onclick: remove }, "Delete"),
    ),
  );
}

export function connectionsPage(main) {
  const rows = h("tbody");
  const status = h("p", { class: "muted", "aria-live": "polite" });
  const head = ["Connection id", "Type", "Host", "Port", "Login", "Password", "Description", ""];
  const load = async () => {
    try {
      const body = await api.get("/connections", { limit: 1000, order_by: "connection_id" });
      clear(rows, ...body.connections.map((conn) => row(conn, load)));
      if (!body.total_entries) rows.append(h("tr", {}, h("td", { colspan: head.length }, "No connection is stored.")));
      status.textContent = `${body.total_entries} connection${body.total_entries === 1 ? "" : "s"}`;
    } catch (err) {
      status.textContent = err.message;
    }
  };
  const add = async () => { if (await connectionDialog(null)) load(); };
  main.append(
    h("h1", {}, "Connections"),
    h("p", {}, h("button", { type: "button", class: "primary", "data-action": "add-connection", onclick: add }, "Add connection")),
    h("table", { class: "connections" }, h("thead", {}, h("tr", {}, head.map((n) => h("th", { scope: "col" }, n)))), rows),
    status,
  );
  load();
  return null;
}
