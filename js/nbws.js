// @ts-check
/**
 * nbws.js — the browser helper of nbws, served by every nbws server at
 * `/_nbws/nbws.js` (ES module) and `/_nbws/nbws.global.js` (classic script,
 * global `nbws`).
 *
 *     import { connect } from "./_nbws/nbws.js";
 *     const conn = connect();                      // ws URL derived from where this file was served
 *     conn.on("open", () => ...);
 *     conn.on("close", (ev) => ...);
 *     conn.on("status", (s) => ...);               // "connecting" | "open" | "reconnecting" | "closed"
 *     conn.on("price", (data) => ...);             // JSON messages by topic
 *     conn.send("vote", { answer: 3 });
 *     const result = await conn.call("fit", { degree: 2 });   // request/response into Python
 *     conn.on("binary", (buf) => ...); conn.sendBinary(arrayBuffer);
 *
 * The envelope (JSON text frames, usable by any client):
 *
 *     {"topic": "price", "data": ...}              a topic message, either direction
 *     {"call": "fit", "id": 7, "data": ...}        a request to the Python handler "fit"
 *     {"reply": 7, "data": ...}                    its result
 *     {"reply": 7, "error": "ValueError: ..."}     or its error
 *
 * Other text frames are emitted as "message" events (the raw string), binary
 * frames as "binary" events (an ArrayBuffer).
 *
 * Reconnection: after a drop the connection retries with exponential backoff
 * and jitter (`backoff()`); messages and calls made while disconnected wait
 * in a bounded queue (`queueLimit`, default 1000; the oldest are dropped and
 * counted in `conn.dropped`) and are sent in order once open. Calls in flight
 * when the connection drops are rejected. `close()` stops reconnecting.
 */

/** The module's own URL, from which the server root is derived. */
const MODULE_URL = import.meta.url;

/**
 * @typedef {"connecting" | "open" | "reconnecting" | "closed"} Status
 *
 * @typedef {object} ConnectOptions
 * @property {string} [url] full ws:// or wss:// URL (default: derived)
 * @property {string} [path] endpoint path relative to the server root (default "_nbws/ws")
 * @property {boolean} [reconnect] reconnect after drops (default true)
 * @property {number} [queueLimit] most messages kept while disconnected (default 1000)
 * @property {number} [callTimeout] milliseconds before a call() is rejected (default 30000)
 * @property {number} [backoffBase] first retry delay in ms (default 250)
 * @property {number} [backoffMax] longest retry delay in ms (default 10000)
 * @property {string[]} [protocols] WebSocket subprotocols
 * @property {typeof WebSocket} [WebSocketImpl] a WebSocket class (tests)
 *
 * @typedef {{kind: "text", data: string} | {kind: "binary", data: ArrayBuffer | ArrayBufferView | Blob}} Outgoing
 */

/**
 * The ws:// URL of an nbws endpoint, from the URL this module was served
 * from (so a proxy prefix such as `/user/ada/proxy/8000/` is kept), with the
 * page's `token` query parameter forwarded.
 *
 * @param {string} pageHref the page's `location.href`
 * @param {string} moduleHref the URL this module was loaded from
 * @param {string} [path] endpoint path relative to the server root
 * @returns {string}
 */
export function wsUrl(pageHref, moduleHref, path = "_nbws/ws") {
  const root = new URL("../", moduleHref);
  const url = new URL(path.replace(/^\/+/, ""), root);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const token = new URL(pageHref).searchParams.get("token");
  if (token && !url.searchParams.has("token")) url.searchParams.set("token", token);
  url.hash = "";
  return url.toString();
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped,
 * with jitter between 50 % and 100 % of the step.
 *
 * @param {number} attempt
 * @param {number} [base] ms
 * @param {number} [max] ms
 * @param {() => number} [random] a source of numbers in [0, 1)
 * @returns {number} milliseconds
 */
export function backoff(attempt, base = 250, max = 10000, random = Math.random) {
  const step = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return step * (0.5 + 0.5 * random());
}

/**
 * Encode a topic message.
 * @param {string} topic
 * @param {unknown} data
 * @returns {string}
 */
export function encodeTopic(topic, data) {
  return JSON.stringify({ topic, data: data === undefined ? null : data });
}

/**
 * Encode a call.
 * @param {string} name
 * @param {number} id
 * @param {unknown} data
 * @returns {string}
 */
export function encodeCall(name, id, data) {
  return JSON.stringify({ call: name, id, data: data === undefined ? null : data });
}

/**
 * @typedef {{type: "topic", topic: string, data: unknown}
 *   | {type: "reply", id: number, data: unknown, error: string | null}
 *   | {type: "call", name: string, id: number, data: unknown}
 *   | {type: "text", text: string}} Decoded
 */

/**
 * Decode a text frame: an envelope, or plain text.
 * @param {string} text
 * @returns {Decoded}
 */
export function decode(text) {
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return { type: "text", text };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { type: "text", text };
  const obj = /** @type {Record<string, unknown>} */ (value);
  if (typeof obj.topic === "string") return { type: "topic", topic: obj.topic, data: obj.data ?? null };
  if (typeof obj.reply === "number") {
    const error = typeof obj.error === "string" ? obj.error : null;
    return { type: "reply", id: obj.reply, data: obj.data ?? null, error };
  }
  if (typeof obj.call === "string" && typeof obj.id === "number") {
    return { type: "call", name: obj.call, id: obj.id, data: obj.data ?? null };
  }
  return { type: "text", text };
}

/**
 * A bounded FIFO of outgoing frames kept while disconnected.
 * @template T
 */
export class OutQueue {
  /** @param {number} limit */
  constructor(limit) {
    /** @type {T[]} */
    this.items = [];
    this.limit = Math.max(0, limit);
    this.dropped = 0;
  }

  /** @param {T} item @returns {boolean} false when an older item was dropped */
  push(item) {
    this.items.push(item);
    if (this.items.length > this.limit) {
      this.items.shift();
      this.dropped += 1;
      return false;
    }
    return true;
  }

  /** Remove and return everything, oldest first. @returns {T[]} */
  drain() {
    const items = this.items;
    this.items = [];
    return items;
  }

  get length() {
    return this.items.length;
  }
}

/** A connection to an nbws server, with reconnects, topics and calls. */
export class Connection {
  /**
   * @param {string} url
   * @param {ConnectOptions} [options]
   */
  constructor(url, options = {}) {
    this.url = url;
    this.options = options;
    /** @type {Status} */
    this.status = "connecting";
    /** @type {Map<string, Set<(arg: any) => void>>} */
    this.handlers = new Map();
    /** @type {OutQueue<Outgoing>} */
    this.queue = new OutQueue(options.queueLimit ?? 1000);
    /** @type {Map<number, {resolve: (v: any) => void, reject: (e: Error) => void, timer: any}>} */
    this.pending = new Map();
    this.nextId = 1;
    this.attempt = 0;
    this.closedByUser = false;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {any} */
    this.retryTimer = null;
    this.open();
  }

  /** Messages dropped from the queue while disconnected. */
  get dropped() {
    return this.queue.dropped;
  }

  /**
   * Listen to "open", "close", "status", "error", "binary", "message", or a topic.
   * @param {string} event
   * @param {(arg: any) => void} fn
   * @returns {() => void} a function that removes the listener
   */
  on(event, fn) {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  /** @param {string} event @param {(arg: any) => void} fn */
  off(event, fn) {
    this.handlers.get(event)?.delete(fn);
  }

  /** @param {string} event @param {unknown} arg */
  emit(event, arg) {
    for (const fn of [...(this.handlers.get(event) ?? [])]) {
      try {
        fn(arg);
      } catch (err) {
        console.error(`nbws: a "${event}" listener failed`, err);
      }
    }
  }

  /** @param {Status} status */
  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.emit("status", status);
  }

  /** @private */
  open() {
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    const ws = new Impl(this.url, this.options.protocols);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.setStatus("open");
      for (const item of this.queue.drain()) this.write(item);
      this.emit("open", undefined);
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onerror = () => this.emit("error", new Error(`WebSocket error on ${this.url}`));
    ws.onclose = (ev) => {
      this.ws = null;
      for (const [id, call] of this.pending) {
        clearTimeout(call.timer);
        call.reject(new Error("the connection closed before the reply came"));
        this.pending.delete(id);
      }
      this.emit("close", ev);
      if (this.closedByUser || this.options.reconnect === false) {
        this.setStatus("closed");
        return;
      }
      this.setStatus("reconnecting");
      const delay = backoff(this.attempt++, this.options.backoffBase, this.options.backoffMax);
      this.retryTimer = setTimeout(() => this.open(), delay);
    };
  }

  /** @private @param {unknown} data */
  receive(data) {
    if (typeof data !== "string") {
      this.emit("binary", data);
      return;
    }
    const msg = decode(data);
    if (msg.type === "topic") this.emit(msg.topic, msg.data);
    else if (msg.type === "reply") {
      const call = this.pending.get(msg.id);
      if (!call) return;
      this.pending.delete(msg.id);
      clearTimeout(call.timer);
      if (msg.error !== null) call.reject(new Error(msg.error));
      else call.resolve(msg.data);
    } else if (msg.type === "text") this.emit("message", msg.text);
  }

  /** @private @param {Outgoing} item */
  write(item) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(item.data);
    else this.queue.push(item);
  }

  /**
   * Send a JSON message on a topic (queued while disconnected).
   * @param {string} topic
   * @param {unknown} [data]
   */
  send(topic, data) {
    this.write({ kind: "text", data: encodeTopic(topic, data) });
  }

  /**
   * Send raw text (no envelope).
   * @param {string} text
   */
  sendText(text) {
    this.write({ kind: "text", data: text });
  }

  /**
   * Send a binary frame.
   * @param {ArrayBuffer | ArrayBufferView | Blob} data
   */
  sendBinary(data) {
    this.write({ kind: "binary", data });
  }

  /**
   * Call a Python handler registered with `@app.rpc(name)`; resolves with its
   * return value, rejects with its error message or after `callTimeout` ms.
   * @param {string} name
   * @param {unknown} [data]
   * @param {{timeout?: number}} [options]
   * @returns {Promise<any>}
   */
  call(name, data, options = {}) {
    const id = this.nextId++;
    const timeout = options.timeout ?? this.options.callTimeout ?? 30000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`call ${name} timed out after ${timeout} ms`));
      }, timeout);
      this.pending.set(id, { resolve, reject, timer });
      this.write({ kind: "text", data: encodeCall(name, id, data) });
    });
  }

  /** Close for good: no more reconnects. */
  close(code = 1000, reason = "") {
    this.closedByUser = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(code, reason);
    else this.setStatus("closed");
  }
}

/**
 * Connect to the nbws server that served this module.
 * @param {ConnectOptions} [options]
 * @returns {Connection}
 */
export function connect(options = {}) {
  const href = typeof location !== "undefined" ? location.href : MODULE_URL;
  const url = options.url ?? wsUrl(href, MODULE_URL, options.path);
  return new Connection(url, options);
}
