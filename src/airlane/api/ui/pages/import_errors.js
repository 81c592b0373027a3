import { api } from "../api.js";
import { clear, fmtDate, h } from "../dom.js";

export function importErrorsPage(main) {
  const list = h("div", { class: "import-errors" });
  main.append(h("h1", {}, "Import errors"), list);
  const load = async () => {
    const body = await api.get("/importErrors", { limit: 1000 });
    clear(list,
      body.total_entries
        ? body.import_errors.map((e) =>
            h(
              "section",
              { class: "card import-error", "data-filename": e.filename },
              h("h2", {}, e.filename),
              h("p", { class: "muted" }, `Seen ${fmtDate(e.timestamp)}`),
              h("pre", { class: "trace" }, e.stack_trace),
            ),
          )
        : h("p", {}, "Every DAG file imports."),
    );
  };
  load().catch((err) => list.append(h("p", { class: "error" }, err.message)));
  return api.events({ kind: "import_errors" }, (event) => {
    if (event.kind === "import_errors") load().catch(() => {});
  });
}
