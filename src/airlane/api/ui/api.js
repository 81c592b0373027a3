// The public REST API and the run event stream: the only things the UI talks to.

const TOKEN_KEY = "airlane.token";
const USER_KEY = "airlane.user";

export class ApiError extends Error {
  constructor(status, detail) {
    super(ApiError.describe(detail) || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }

  /** Airflow's error shapes: {"detail": "text"} or a 422 list naming each field. */
  static describe(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((e) => `${(e.loc || []).slice(1).join(".") || "request"}: ${e.msg}`)
        .join("; ");
    }
    return detail ? JSON.stringify(detail) : "";
  }
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const one of Array.isArray(value) ? value : [value]) search.append(name, String(one));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const api = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get user() {
    return sessionStorage.getItem(USER_KEY) || "";
  },

  async login(username, password) {
    const response = await fetch("/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, body.detail);
    sessionStorage.setItem(TOKEN_KEY, body.access_token);
    sessionStorage.setItem(USER_KEY, username);
  },

  logout() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },

  /** Sign out: the server revokes the token (Airflow's logout) before it is forgotten here,
   * so a copy of it elsewhere stops working too. */
  async signOut() {
    const token = this.token;
    this.logout();
    if (!token) return;
    const headers = { Authorization: `Bearer ${token}` };
    await fetch("/api/v2/auth/logout", { headers, redirect: "manual" }).catch(() => null);
  },

  async request(method, path, { params, body, signal } = {}) {
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`/api/v2${path}${query(params)}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (response.status === 401) {
      this.logout();
      window.dispatchEvent(new CustomEvent("airlane:unauthorized"));
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data && data.detail);
    return data;
  },

  get(path, params, signal) {
    return this.request("GET", path, { params, signal });
  },
  post(path, body) {
    return this.request("POST", path, { body });
  },
  patch(path, body) {
    return this.request("PATCH", path, { body });
  },

  /**
   * Follow /api/v2/events (Server-Sent Events) with the bearer token, which EventSource
   * cannot send. Reconnects after a drop with Last-Event-ID, so no event is missed or
   * repeated. `onLive()` is called each time a stream opens with nothing to resume from (it
   * gets only what happens from then on): whatever the caller read before that must be read
   * again, or a change made between that read and the subscription is never seen.
   * Returns a function that stops it.
   */
  events(params, onEvent, onLive = null) {
    const controller = new AbortController();
    let lastId = null;
    const connect = async () => {
      while (!controller.signal.aborted) {
        try {
          const headers = { Accept: "text/event-stream" };
          if (this.token) headers.Authorization = `Bearer ${this.token}`;
          if (lastId) headers["Last-Event-ID"] = lastId;
          const response = await fetch(`/api/v2/events${query(params)}`, {
            headers,
            signal: controller.signal,
          });
          if (response.status === 401) {
            this.logout();
            window.dispatchEvent(new CustomEvent("airlane:unauthorized"));
            return;
          }
          if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
          if (!lastId && onLive) onLive();
          await readStream(response.body, (id, data) => {
            if (id) lastId = id; // also from the id-only frame a live stream starts with
            if (data !== null) onEvent(data);
          });
        } catch (err) {
          if (controller.signal.aborted) return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    connect();
    return () => controller.abort();
  },
};

async function readStream(body, onMessage) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let id = null;
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("id: ")) id = line.slice(4);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length) onMessage(id, JSON.parse(data.join("\n")));
      else if (id) onMessage(id, null);
    }
  }
}
