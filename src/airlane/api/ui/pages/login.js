import { api } from "../api.js";
import { navigate } from "../router.js";
import { h } from "../dom.js";

export function loginPage(main, { params }) {
  const error = h("p", { class: "error", role: "alert" });
  const user = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const form = h(
    "form",
    { class: "login card", "aria-label": "Sign in" },
    h("h1", {}, "Sign in to Airlane"),
    h("label", { for: "username" }, "Username"),
    user,
    h("label", { for: "password" }, "Password"),
    password,
    error,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await api.login(user.value, password.value);
      const next = params.get("next") || "";
      const ui = new URL("/ui/", location.href).pathname;
      const hash = next.startsWith(ui + "#/") ? next.slice(ui.length) : next;
      // only this server's pages: a next that resolves to another origin is dropped
      const target = next.startsWith("/") ? new URL(next, location.origin) : null;
      if (hash.startsWith("#/") && !hash.startsWith("#/login")) navigate(hash);
      else if (target && target.origin === location.origin) location.assign(target.href);
      else navigate("#/dags");
    } catch (err) {
      error.textContent = err.status === 401 ? "Wrong username or password." : err.message;
    }
  });
  main.append(form);
  user.focus();
}
