// The CrossTrade API as the blotter uses it: REST under /v1/api with the bearer token, and
// the /ws/stream WebSocket for everything live.

const BASE = new URL(".", document.baseURI);

/** An absolute URL of the server's own ``path`` (kept under a proxy's prefix). */
export function serverUrl(path, scheme = null) {
  const url = new URL(path.replace(/^\//, ""), BASE);
  if (scheme === "ws") url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url;
}

/** A refusal: the HTTP status and the body the server answered. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.error || body.message)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** An HTTP call with JSON in and out; ``headers`` carry the credentials. */
export async function call(method, path, { headers = {}, body = undefined, query = undefined } = {}) {
  const url = serverUrl(path);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null) url.searchParams.set(k, v);
  }
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { error: text };
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/** The CrossTrade REST API with one bearer token. */
export class CrossTrade {
  constructor(token) {
    this.headers = { Authorization: `Bearer ${token}` };
    this.token = token;
  }

  get(path, query) {
    return call("GET", `/v1/api${path}`, { headers: this.headers, query });
  }

  post(path, body = {}) {
    return call("POST", `/v1/api${path}`, { headers: this.headers, body });
  }

  put(path, body = {}) {
    return call("PUT", `/v1/api${path}`, { headers: this.headers, body });
  }

  /** ``GET path``, or ``fallback`` when the server has no such endpoint (404) or refuses. */
  async optional(path, fallback = null) {
    try {
      return await this.get(path);
    } catch (error) {
      if (error instanceof ApiError) return fallback;
      throw error;
    }
  }
}

/**
 * The /ws/stream connection: reconnects after a drop (1 s, then up to 10 s apart), hands
 * every pushed frame to ``onFrame``, and tells ``onState`` "connecting", "live" or "off".
 * ``onOpen`` runs after each (re)connect, to subscribe again and resynchronise.
 */
export class Stream {
  constructor(token, { onFrame, onState, onOpen }) {
    this.token = token;
    this.onFrame = onFrame;
    this.onState = onState;
    this.onOpen = onOpen;
    this.pending = new Map();
    this.nextId = 1;
    this.delay = 1000;
    this.stopped = false;
    this.socket = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    if (this.socket) this.socket.close(1000);
  }

  connect() {
    this.onState("connecting");
    const socket = new WebSocket(serverUrl("/ws/stream", "ws"), ["crosstrade", `bearer.${this.token}`]);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = 1000;
      this.onState("live");
      this.onOpen();
    });
    socket.addEventListener("message", (event) => this.receive(event.data));
    socket.addEventListener("close", () => {
      for (const { reject } of this.pending.values()) reject(new Error("stream closed"));
      this.pending.clear();
      this.onState("off");
      if (this.stopped) return;
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    });
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const waiting = frame.id !== undefined && frame.id !== null ? this.pending.get(frame.id) : undefined;
    if (waiting) {
      this.pending.delete(frame.id);
      if (frame.success === false) waiting.reject(new ApiError(frame.status || 400, frame));
      else waiting.resolve(frame.data !== undefined ? frame.data : frame);
      return;
    }
    this.onFrame(frame);
  }

  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  /** Send ``frame`` with a new id; resolves with the answer to it. */
  request(frame) {
    const id = `b${this.nextId++}`;
    return new Promise((resolve, reject) => {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        reject(new Error("stream not connected"));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ ...frame, id }));
    });
  }

  rpc(api, args) {
    return this.request({ action: "rpc", api, args });
  }
}
