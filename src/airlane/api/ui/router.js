// Hash routes: "#/path?query". Pages read and change the query through these.

/** The current route: path and query of the part after "#". */
export function route() {
  const raw = location.hash.replace(/^#/, "") || "/dags";
  const [path, search] = raw.split("?");
  return { path, params: new URLSearchParams(search || "") };
}

/** Change the query of the current route (replace: no new history entry). */
export function setParams(changes, replace = true) {
  const { path, params } = route();
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "") params.delete(name);
    else params.set(name, value);
  }
  const text = params.toString();
  const hash = `#${path}${text ? `?${text}` : ""}`;
  if (replace) history.replaceState(null, "", hash);
  else history.pushState(null, "", hash);
}

export function navigate(hash) {
  location.hash = hash;
}

