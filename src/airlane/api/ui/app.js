// The UI's shell: hash routes, sign-in, and the page in view (each page returns its cleanup).

import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { assetsPage } from "./pages/assets.js";
import { connectionsPage } from "./pages/connections.js";
import { dagPage } from "./pages/dag.js";
import { dagsPage } from "./pages/dags.js";
import { importErrorsPage } from "./pages/import_errors.js";
import { loginPage } from "./pages/login.js";
import { workersPage } from "./pages/workers.js";
import { navigate, route } from "./router.js";

const ROUTES = [
  [/^\/login$/, loginPage],
  [/^\/(dags)?$/, dagsPage],
  [/^\/dags\/([^/]+)$/, dagPage],
  [/^\/workers$/, workersPage],
  [/^\/import-errors$/, importErrorsPage],
  [/^\/connections$/, connectionsPage],
  [/^\/assets$/, assetsPage],
];

let cleanup = null;

function render() {
  if (cleanup) cleanup();
  cleanup = null;
  const main = clear(document.getElementById("main"));
  const { path, params } = route();
  if (!api.token && path !== "/login") {
    navigate(`#/login?next=${encodeURIComponent(location.hash || "#/dags")}`);
    return;
  }
  document.getElementById("who").replaceChildren(
    api.token
      ? h(
          "span",
          {},
          `Signed in as ${api.user} `,
          h("button", { type: "button", class: "link", onclick: () => api.signOut().then(() => navigate("#/login")) }, "Sign out"),
        )
      : "",
  );
  for (const link of document.querySelectorAll("[data-nav]")) {
    const active = path === `/${link.dataset.nav}` || path.startsWith(`/${link.dataset.nav}/`);
    link.toggleAttribute("aria-current", active);
  }
  for (const [pattern, page] of ROUTES) {
    const match = path.match(pattern);
    if (match) {
      cleanup = page(main, { match: match.slice(1).map((m) => m && decodeURIComponent(m)), params }) || null;
      return;
    }
  }
  main.append(h("h1", {}, "Not found"), h("p", {}, `No page at ${path}.`));
}

window.addEventListener("hashchange", render);
window.addEventListener("airlane:unauthorized", () => {
  if (route().path !== "/login") navigate(`#/login?next=${encodeURIComponent(location.hash)}`);
});
render();
