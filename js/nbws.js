// @ts-check
/**
 * nbws.js — the browser helper's connection module, served by every nbws
 * server at `/_nbws/nbws.js` (ES module) and, with the chart, at
 * `/_nbws/nbws.global.js` (classic script, global `nbws`). The live-plot
 * chart is its own module, `/_nbws/chart.js`.
 *
 *     import { connect } from "./_nbws/nbws.js";
 *     const conn = connect();                      // ws URL derived from where this file was served
 *
 *     // lifecycle events, and only those: conn.on(event, fn)
 *     conn.on("open", () => ...);
 *     conn.on("close", (ev) => ...);               // a CloseEvent; reconnecting follows unless closed for good
 *     conn.on("status", (s) => ...);               // "connecting" | "open" | "reconnecting" | "closed"
 *     conn.on("error", (err) => ...);
 *     conn.on("message", (text) => ...);           // text frames that are not envelopes
 *     conn.on("binary", (buf) => ...);             // binary frames, as ArrayBuffers
 *
 *     // user topics, any name ("status" and "close" included): conn.topic(name, fn)
 *     conn.topic("price", (data) => ...);          // Python: ws.emit("price", data) / server.emit(...)
 *     conn.send("vote", { answer: 3 });            // Python: @app.on("vote")
 *     const result = await conn.call("fit", { degree: 2 });   // Python: @app.rpc("fit")
 *     conn.sendBinary(arrayBuffer);
 *
 * Lifecycle events and topics never share a name: a Python
 * `emit("status", ...)` reaches `conn.topic("status", fn)` and never a
 * `conn.on("status", fn)` listener. Older pages that subscribe to topics with
 * `conn.on("price", fn)` keep working for every name that is not a lifecycle
 * event (with a one-time console warning); use `conn.topic` in new code.
 *
 * The envelope (JSON text frames, usable by any client):
 *
 *     {"topic": "price", "data": ...}              a topic message, either direction
 *     {"call": "fit", "id": 7, "data": ...}        a request to the Python handler "fit"
 *     {"reply": 7, "data": ...}                    its result
 *     {"reply": 7, "error": "ValueError: ..."}     or its error
 *
 * On a session, each of those carries `"seq": n` as its first member, and
 * the session's own messages, which begin with `{"nbws":` (a member name
 * reserved for them: other text frames on a session must not begin so), are:
 *
 *     {"nbws": "hello", "protocol": "nbws/1", "session": id | null, "epoch": e, "ack": n}   page → server, first
 *     {"nbws": "welcome", "session": id, "resumed": bool, "ack": n, "from": n}           server → page, answer
 *     {"nbws": "ack", "ack": n}          either direction: every message up to n arrived
 *     {"nbws": "hb", "hb": k, "ack": n}  heartbeat (page → server) and its answer
 *
 * Reconnection: after a drop the connection retries with exponential backoff
 * and jitter (`backoff()`); messages and calls made while disconnected wait
 * in a bounded queue (`queueLimit`, default 1000) and are sent in order once
 * open. When the queue is full the oldest entry is dropped and counted in
 * `conn.dropped`. `close()` stops for good. The page reconnects at once, with
 * the backoff reset, when it becomes visible again (`visibilitychange`), is
 * restored from the back/forward cache (`pageshow`), or the device comes back
 * `online`; a socket that stays CONNECTING longer than `connectTimeout` ms is
 * given up and retried.
 *
 * Resumable sessions (on the envelope endpoint `/_nbws/ws`, the default;
 * `session: false` turns them off): the first message on each socket is a
 * hello naming the page's session (its id is kept in `sessionStorage`, so a
 * reload keeps it and a new tab starts its own). Envelopes in both directions
 * then carry sequence numbers and are acknowledged; after a reconnect the
 * server replays what the page missed and the page what the server missed,
 * so each is delivered once and in order, and calls in flight survive the
 * drop. When more was missed than the server kept (its `session_buffer_*`
 * traits), or the server no longer knows the session (it restarted, or the
 * page was away past `session_timeout`), `conn.on("resync", ({reason,
 * missed}) => ...)` fires before the next message: reload the page's state.
 * Every `heartbeatInterval` ms the page sends a heartbeat that the server's
 * I/O thread answers (also while a cell is busy); when neither the answer
 * nor any other frame arrives within `heartbeatTimeout` ms the socket is
 * dead: it is dropped and the page reconnects. Plain text and binary frames are not numbered or replayed.
 *
 * A `call()` always settles. Its Promise rejects with an {@link NbwsError}:
 * {@link NbwsQueueFull} when it was dropped from the full queue,
 * {@link NbwsClosed} when the connection was closed for good before it was
 * sent (or it is made after `close()`), {@link NbwsDisconnected} when the
 * connection dropped while it was in flight, {@link NbwsTimeout} after
 * `callTimeout` ms, and {@link NbwsCallError} when the Python handler raised.
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
 * @property {boolean} [session] resumable session (default: true on the envelope endpoint `_nbws/ws`)
 * @property {boolean} [heartbeat] send heartbeats without a session, to an endpoint that answers `{"hb": k}`
 *   with `{"hb": k}` (nbws's classroom socket does); on by default on a session
 * @property {number} [heartbeatInterval] ms between heartbeats (default 15000; 0: none)
 * @property {number} [heartbeatTimeout] ms to wait for a heartbeat's answer (or any other frame) before reconnecting (default 10000)
 * @property {number} [connectTimeout] ms a socket may take to open (and, on a session, be welcomed) (default 10000)
 * @property {string[]} [protocols] WebSocket subprotocols
 * @property {typeof WebSocket} [WebSocketImpl] a WebSocket class (tests)
 *
 * @typedef {{kind: "text", data: string, call?: number, envelope?: boolean} | {kind: "binary", data: ArrayBuffer | ArrayBufferView | Blob}} Outgoing
 *   a frame waiting to be sent; `call` is the id of the call it carries; an
 *   `envelope` gets a sequence number on a session
 *
 * @typedef {{reason: "gap" | "unknown", missed: number | null}} Resync
 *   what the `"resync"` event says: `"gap"`, `missed` messages were lost (more
 *   than the server kept); `"unknown"`, the server no longer knows the session
 *   (restarted, or the page was away past its `session_timeout`), `missed` null
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

// ---------------------------------------------------------------- errors

/** The root of the helper's errors: every rejected `call()` rejects with one. */
export class NbwsError extends Error {
  /**
   * @param {string} message
   * @param {string} [call] the name of the call that failed, if any
   */
  constructor(message, call) {
    super(message);
    this.name = "NbwsError";
    /** The name of the call that failed (`conn.call(name, ...)`), if any. */
    this.call = call;
  }
}

/** A queued call was dropped because the offline queue was full (`queueLimit`). */
export class NbwsQueueFull extends NbwsError {
  /** @param {string} call @param {number} limit */
  constructor(call, limit) {
    super(`call ${call} was dropped: the offline queue is full (queueLimit ${limit}) ` +
      "while the connection is down; raise queueLimit or wait for status \"open\"", call);
    this.name = "NbwsQueueFull";
    /** The queue's bound (`queueLimit`). */
    this.limit = limit;
  }
}

/** A call was not sent because the connection is closed for good (`close()`, or `reconnect: false`). */
export class NbwsClosed extends NbwsError {
  /** @param {string} call */
  constructor(call) {
    super(`call ${call} was not sent: the connection is closed for good (conn.close() or reconnect: false)`, call);
    this.name = "NbwsClosed";
  }
}

/** The connection dropped after a call was sent and before its reply came. */
export class NbwsDisconnected extends NbwsError {
  /** @param {string} call */
  constructor(call) {
    super("the connection closed before the reply came", call);
    this.name = "NbwsDisconnected";
  }
}

/** No reply came within the call's timeout. */
export class NbwsTimeout extends NbwsError {
  /** @param {string} call @param {number} timeout ms */
  constructor(call, timeout) {
    super(`call ${call} timed out after ${timeout} ms`, call);
    this.name = "NbwsTimeout";
    /** The timeout, in milliseconds. */
    this.timeout = timeout;
  }
}

/** The Python handler raised; the message is its error ("ValueError: ..."). */
export class NbwsCallError extends NbwsError {
  /** @param {string} call @param {string} error */
  constructor(call, error) {
    super(error, call);
    this.name = "NbwsCallError";
  }
}

// ---------------------------------------------------------------- the connection

/**
 * A bounded FIFO of outgoing frames kept while disconnected. Past `limit`
 * the oldest item is dropped, counted, and handed to `onDrop`.
 * @template T
 */
export class OutQueue {
  /**
   * @param {number} limit
   * @param {(item: T) => void} [onDrop] called with each dropped item
   */
  constructor(limit, onDrop) {
    /** @type {T[]} */
    this.items = [];
    this.limit = Math.max(0, limit);
    this.dropped = 0;
    /** @private */
    this.onDrop = onDrop;
  }

  /** @param {T} item @returns {boolean} false when an item was dropped */
  push(item) {
    this.items.push(item);
    if (this.items.length > this.limit) {
      const old = /** @type {T} */ (this.items.shift());
      this.dropped += 1;
      this.onDrop?.(old);
      return false;
    }
    return true;
  }

  /** Remove one item (not counted as dropped). @param {T} item @returns {boolean} whether it was queued */
  remove(item) {
    const at = this.items.indexOf(item);
    if (at < 0) return false;
    this.items.splice(at, 1);
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

// ---------------------------------------------------------------- sessions

/** The session protocol's name in the hello. */
export const PROTOCOL = "nbws/1";

/** How the session protocol's own messages begin: `{"nbws": kind, ...}`. */
export const CONTROL = '{"nbws":';

/**
 * `envelope` (a JSON object's text) with `"seq": seq` as its first member,
 * where the server's I/O thread reads it without parsing the rest.
 * @param {number} seq
 * @param {string} envelope
 * @returns {string}
 */
export function sequenced(seq, envelope) {
  const rest = envelope.slice(1);
  return `{"seq":${seq}` + (rest === "}" ? "}" : "," + rest);
}

/**
 * The sequence number of a received frame, or null when it has none.
 * @param {string} text
 * @returns {number | null}
 */
export function readSeq(text) {
  const m = /^\{"seq":(\d{1,15})[,}]/.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * @typedef {{seq: number, text: string, call?: number}} Numbered
 *   a sent envelope kept until the server acknowledges it
 *
 * @typedef {{nbws: "welcome", session: string, resumed: boolean, ack: number, from: number}} Welcome
 *   the server's answer to the hello
 */

/**
 * The page's half of a resumable session, without sockets: numbers what the
 * page sends and keeps it until acknowledged (at most `limit`, oldest dropped
 * first), and tells new, duplicate and missed messages apart on receipt.
 */
export class Sequencer {
  /** @param {number} limit most unacknowledged messages kept for a replay */
  constructor(limit) {
    this.limit = Math.max(0, limit);
    /** The last number given to a sent message. */
    this.tx = 0;
    /** The server's messages received up to here. */
    this.rx = 0;
    /** @type {Numbered[]} sent, not yet acknowledged, oldest first */
    this.unacked = [];
    /** Unacknowledged messages dropped past `limit` (not replayable). */
    this.dropped = 0;
  }

  /**
   * Number an envelope and keep it for a replay.
   * @param {string} envelope @param {number} [call] the id of the call it carries
   * @returns {string} the text to send
   */
  number(envelope, call) {
    const seq = ++this.tx;
    const text = sequenced(seq, envelope);
    this.unacked.push({ seq, text, call });
    while (this.unacked.length > this.limit) {
      this.unacked.shift();
      this.dropped += 1;
    }
    return text;
  }

  /** The server has every message up to `ack`. @param {number} ack */
  acknowledge(ack) {
    let n = 0;
    while (n < this.unacked.length && this.unacked[n].seq <= ack) n++;
    if (n) this.unacked.splice(0, n);
  }

  /**
   * A message numbered `seq` arrived: `"new"` (handle it), `"duplicate"`
   * (already handled: drop it) or a number: how many were missed before it
   * (handle it after a resync).
   * @param {number} seq
   * @returns {"new" | "duplicate" | number}
   */
  receive(seq) {
    if (seq <= this.rx) return "duplicate";
    const missed = seq - this.rx - 1;
    this.rx = seq;
    return missed > 0 ? missed : "new";
  }

  /**
   * The server's welcome: what to replay to it, and the resync to report
   * (null when nothing was lost). `known` says whether this page had a
   * session before (a welcome, or messages received).
   * @param {Welcome} welcome
   * @param {boolean} known
   * @returns {{replay: Numbered[], resync: Resync | null}}
   */
  welcome(welcome, known) {
    /** @type {Resync | null} */
    let resync = null;
    if (!welcome.resumed) {
      if (known || this.rx > 0) resync = { reason: "unknown", missed: null };
      // a new session's numbering starts at `from` (1 on a server; on a relay, where the app's log is now)
      this.rx = Math.max(0, (Number.isSafeInteger(welcome.from) ? welcome.from : 1) - 1);
    } else if (welcome.from - 1 > this.rx) {
      resync = { reason: "gap", missed: welcome.from - 1 - this.rx };
      this.rx = welcome.from - 1;
    }
    this.acknowledge(welcome.ack);
    return { replay: [...this.unacked], resync };
  }
}

/** @type {Map<string, number>} connections made by this page, per URL */
const OPENED = new Map();

/**
 * The `sessionStorage` key of the `index`-th connection of this page to `url`.
 * @param {string} url @param {number} index
 */
function storageKey(url, index) {
  return `nbws.session ${url} ${index}`;
}

/** @param {string} key @returns {string | null} */
function loadId(key) {
  try {
    return globalThis.sessionStorage?.getItem(key) ?? null;
  } catch {
    return null; // storage blocked (sandboxed iframe, privacy settings): the session lasts as long as the page
  }
}

/** @param {string} key @param {string} id */
function saveId(key, id) {
  try {
    globalThis.sessionStorage?.setItem(key, id);
  } catch {
    // as in loadId
  }
}

/** The events of `conn.on(event, fn)`; every other name is a user topic (`conn.topic`). */
export const LIFECYCLE_EVENTS = Object.freeze(/** @type {const} */ (["open", "close", "status", "error", "message", "binary", "resync"]));

/** @typedef {typeof LIFECYCLE_EVENTS[number]} LifecycleEvent */

/** @type {Set<string>} */
const LIFECYCLE = new Set(LIFECYCLE_EVENTS);
/** @type {Set<string>} topics already warned about, once per page */
const WARNED = new Set();

/**
 * Call every listener in `set` with `arg`; a failing listener is logged, not
 * propagated.
 * @param {Set<(arg: any) => void> | undefined} set @param {string} label @param {unknown} arg
 */
function dispatch(set, label, arg) {
  for (const fn of [...(set ?? [])]) {
    try {
      fn(arg);
    } catch (err) {
      console.error(`nbws: a ${label} listener failed`, err);
    }
  }
}

/**
 * @param {Map<string, Set<(arg: any) => void>>} map @param {string} key @param {(arg: any) => void} fn
 */
function addTo(map, key, fn) {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(fn);
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
    /** @private @type {Map<string, Set<(arg: any) => void>>} lifecycle listeners */
    this.listeners = new Map();
    /** @private @type {Map<string, Set<(arg: any) => void>>} topic subscribers */
    this.topics = new Map();
    /** @type {OutQueue<Outgoing>} frames waiting for the connection */
    this.queue = new OutQueue(options.queueLimit ?? 1000, (item) => {
      if (item.kind === "text" && item.call !== undefined) this.settle(item.call, (name) => new NbwsQueueFull(name, this.queue.limit));
    });
    /** @private @type {Map<number, {name: string, sent: boolean, resolve: (v: any) => void, reject: (e: Error) => void, timer: any}>} calls not settled yet */
    this.pending = new Map();
    /** @private */
    this.nextId = 1;
    /** @private */
    this.attempt = 0;
    /** @private */
    this.closedByUser = false;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @private @type {any} */
    this.retryTimer = null;
    /** @private whether the current socket may carry messages (open; on a session, welcomed) */
    this.ready = false;
    /** @private @type {any} */
    this.connectTimer = null;
    /** @private @type {any} */
    this.heartbeatTimer = null;
    /** @private @type {any} the deadline of the heartbeat in flight */
    this.heartbeatDeadline = null;
    /** @private */
    this.heartbeats = 0;
    /** @private @type {any} */
    this.ackTimer = null;
    /** @private messages received since the last acknowledgement */
    this.unackedIn = 0;
    /** Whether this connection resumes a session across reconnects (`session` option). */
    this.resumable = options.session ?? /\/_nbws\/ws$/.test(new URL(url).pathname);
    /** Whether this connection sends heartbeats (on a session, or with the `heartbeat` option). */
    this.heartbeating = this.resumable || options.heartbeat === true;
    /** @type {Sequencer} the session's numbering and replay buffer (bounded by `queueLimit`) */
    this.sequencer = new Sequencer(options.queueLimit ?? 1000);
    /** @private this page instance's numbering, told to the server in the hello */
    this.epoch = Math.random().toString(36).slice(2, 12);
    /** @private */
    this.welcomed = false;
    const index = OPENED.get(url) ?? 0;
    OPENED.set(url, index + 1);
    /** @private */
    this.storageKey = storageKey(url, index);
    /** The session's id (null before the first welcome, or without a session). */
    this.sessionId = this.resumable ? loadId(this.storageKey) : null;
    /** @private */
    this.wake = () => this.comeBack();
    /** @private @param {Event} ev */
    this.onVisibility = (ev) => {
      if (ev.type !== "visibilitychange" || globalThis.document?.visibilityState === "visible") this.comeBack();
    };
    /** @private @param {PageTransitionEvent} ev */
    this.onPageShow = (ev) => {
      if (ev.persisted) this.comeBack();
    };
    globalThis.document?.addEventListener?.("visibilitychange", this.onVisibility);
    globalThis.document?.addEventListener?.("resume", this.onVisibility); // Page Lifecycle: unfrozen
    globalThis.addEventListener?.("pageshow", this.onPageShow);
    globalThis.addEventListener?.("online", this.wake);
    this.open();
  }

  /** Messages and calls dropped from the full queue while disconnected. */
  get dropped() {
    return this.queue.dropped;
  }

  /**
   * @overload
   * @param {"open"} event the connection opened (again); queued frames were just sent
   * @param {() => void} fn
   * @returns {() => void}
   */
  /**
   * @overload
   * @param {"close"} event the WebSocket closed
   * @param {(ev: CloseEvent) => void} fn
   * @returns {() => void}
   */
  /**
   * @overload
   * @param {"status"} event the status changed
   * @param {(status: Status) => void} fn
   * @returns {() => void}
   */
  /**
   * @overload
   * @param {"error"} event a WebSocket error (a close follows)
   * @param {(err: Error) => void} fn
   * @returns {() => void}
   */
  /**
   * @overload
   * @param {"message"} event a text frame that is not an envelope
   * @param {(text: string) => void} fn
   * @returns {() => void}
   */
  /**
   * @overload
   * @param {"binary"} event a binary frame
   * @param {(buf: ArrayBuffer) => void} fn
   * @returns {() => void}
   */
  /**
   * @overload
   * @param {"resync"} event the session lost messages (or the server lost the session): reload the page's state
   * @param {(info: Resync) => void} fn
   * @returns {() => void}
   */
  /**
   * @overload
   * @param {string} event a topic name
   * @param {(data: any) => void} fn
   * @returns {() => void}
   * @deprecated for topics use `conn.topic(name, fn)`; `on` with a name that is not a lifecycle event subscribes to that topic
   */
  /**
   * Listen to a lifecycle event: "open", "close", "status", "error",
   * "message", "binary" or "resync" (see {@link LIFECYCLE_EVENTS}). Topics sent from
   * Python never reach these listeners, whatever their name.
   *
   * Deprecated: any other name subscribes to that topic, as `topic()` does.
   * @param {string} event
   * @param {(arg: any) => void} fn
   * @returns {() => void} a function that removes the listener
   */
  on(event, fn) {
    if (!LIFECYCLE.has(event)) {
      if (!WARNED.has(event)) {
        WARNED.add(event);
        console.warn(`nbws: conn.on(${JSON.stringify(event)}, fn) for a topic is deprecated; use conn.topic(${JSON.stringify(event)}, fn)`);
      }
      return this.topic(event, fn);
    }
    addTo(this.listeners, event, fn);
    return () => this.off(event, fn);
  }

  /**
   * Remove a listener added with `on` (lifecycle events; other names remove
   * a topic subscriber, as the deprecated `on` added it).
   * @param {string} event @param {(arg: any) => void} fn
   */
  off(event, fn) {
    (LIFECYCLE.has(event) ? this.listeners : this.topics).get(event)?.delete(fn);
  }

  /**
   * Subscribe to a user topic: `fn(data)` runs for every `{"topic": name,
   * "data": data}` message (Python: `ws.emit(name, data)`,
   * `server.emit(name, data)`). Any name works, lifecycle names included.
   * @param {string} name
   * @param {(data: any) => void} fn
   * @returns {() => void} a function that unsubscribes
   */
  topic(name, fn) {
    addTo(this.topics, name, fn);
    return () => this.topics.get(name)?.delete(fn);
  }

  /** @private @param {LifecycleEvent} event @param {unknown} arg */
  emit(event, arg) {
    dispatch(this.listeners.get(event), `"${event}"`, arg);
  }

  /** @private @param {Status} status */
  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.emit("status", status);
  }

  /** Whether the connection is closed for good (no reconnect will come). @private */
  finished() {
    return this.closedByUser || this.status === "closed";
  }

  /** @private */
  open() {
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    const ws = new Impl(this.url, this.options.protocols);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.connectTimer = setTimeout(() => this.abandon(ws, "connect timeout"), this.options.connectTimeout ?? 10000);
    ws.onopen = () => {
      if (!this.resumable) {
        this.opened();
        return;
      }
      ws.send(JSON.stringify({ nbws: "hello", protocol: PROTOCOL, session: this.sessionId, epoch: this.epoch, ack: this.sequencer.rx }));
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onerror = () => this.emit("error", new NbwsError(`WebSocket error on ${this.url}`));
    ws.onclose = (ev) => this.dropped_(ev);
  }

  /**
   * The socket may carry messages now: send what waited, then say "open".
   * @private @param {Numbered[]} [replay] a session's unacknowledged messages, sent first
   */
  opened(replay = []) {
    clearTimeout(this.connectTimer);
    this.ready = true;
    this.attempt = 0;
    this.setStatus("open");
    for (const item of replay) {
      this.ws?.send(item.text);
      const call = item.call !== undefined ? this.pending.get(item.call) : undefined;
      if (call) call.sent = true;
    }
    for (const item of this.queue.drain()) this.write(item);
    this.scheduleHeartbeat();
    this.emit("open", undefined);
  }

  /**
   * The session's welcome: report a resync, settle the calls whose replies
   * are lost, replay, open.
   * @private @param {Welcome} welcome
   */
  welcome(welcome) {
    const { replay, resync } = this.sequencer.welcome(welcome, this.welcomed);
    this.welcomed = true;
    this.sessionId = welcome.session;
    saveId(this.storageKey, welcome.session);
    if (resync) {
      const replayed = new Set(replay.map((item) => item.call));
      for (const [id, call] of [...this.pending]) {
        if (call.sent && !replayed.has(id)) this.settle(id, (name) => new NbwsDisconnected(name));
      }
      this.emit("resync", resync);
    }
    this.opened(replay);
  }

  /**
   * Give up on a socket that does not open, or no longer answers heartbeats:
   * forget it at once (its close may take minutes on a dead network) and
   * reconnect.
   * @private @param {WebSocket} ws @param {string} reason
   */
  abandon(ws, reason) {
    if (this.ws !== ws) return;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    try {
      ws.close(4000, reason);
    } catch {
      // already closing
    }
    const init = { code: 1006, reason, wasClean: false };
    const ev = typeof CloseEvent === "function" ? new CloseEvent("close", init) : /** @type {CloseEvent} */ (/** @type {unknown} */ (init));
    this.dropped_(ev);
  }

  /**
   * The current socket is gone: settle what must be, then reconnect (or finish).
   * @private @param {CloseEvent} ev
   */
  dropped_(ev) {
    this.ws = null;
    this.ready = false;
    clearTimeout(this.connectTimer);
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.heartbeatDeadline);
    clearTimeout(this.ackTimer);
    this.heartbeatDeadline = this.ackTimer = null;
    const byUser = this.closedByUser;
    const again = !byUser && this.options.reconnect !== false;
    for (const [id, call] of [...this.pending]) { // in flight; queued calls wait for the next connection
      // on a session, calls in flight are replayed (or their replies are) after the reconnect
      if (call.sent && !(this.resumable && again)) {
        this.settle(id, (name) => (byUser ? new NbwsClosed(name) : new NbwsDisconnected(name)));
      }
    }
    this.emit("close", ev);
    if (!again) {
      this.finish();
      return;
    }
    this.setStatus("reconnecting");
    const delay = backoff(this.attempt++, this.options.backoffBase, this.options.backoffMax);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /**
   * The page came back (visible, restored from the back/forward cache, online
   * again): reconnect now with the backoff reset, or check an open socket.
   * @private
   */
  comeBack() {
    if (this.finished()) return;
    this.attempt = 0;
    if (this.ws === null) {
      clearTimeout(this.retryTimer);
      this.open();
    } else if (this.ready) this.heartbeat();
  }

  /** @private */
  scheduleHeartbeat() {
    clearTimeout(this.heartbeatTimer);
    const every = this.options.heartbeatInterval ?? 15000;
    if (this.heartbeating && every > 0) this.heartbeatTimer = setTimeout(() => this.heartbeat(), every);
  }

  /** Send a heartbeat (with an acknowledgement) and expect its answer. @private */
  heartbeat() {
    const ws = this.ws;
    if (!ws || !this.ready || !this.heartbeating) return;
    clearTimeout(this.heartbeatTimer);
    this.heartbeats += 1;
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.unackedIn = 0;
    ws.send(JSON.stringify(this.resumable ? { nbws: "hb", hb: this.heartbeats, ack: this.sequencer.rx } : { hb: this.heartbeats }));
    if (this.heartbeatDeadline === null) {
      this.heartbeatDeadline = setTimeout(() => this.abandon(ws, "heartbeat timeout"), this.options.heartbeatTimeout ?? 10000);
    }
  }

  /** Tell the server what arrived. @private */
  sendAck() {
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.ws && this.ready && this.unackedIn > 0) {
      this.unackedIn = 0;
      this.ws.send(`{"nbws":"ack","ack":${this.sequencer.rx}}`);
    }
  }

  /**
   * A session's own message (or a numbered one): true when it was handled here.
   * @private @param {string} text
   */
  control(text) {
    const seq = readSeq(text);
    if (seq !== null) {
      const outcome = this.sequencer.receive(seq);
      if (outcome === "duplicate") return true;
      if (typeof outcome === "number") this.emit("resync", { reason: "gap", missed: outcome });
      this.unackedIn += 1;
      if (this.unackedIn >= 32) this.sendAck();
      else if (this.ackTimer === null) this.ackTimer = setTimeout(() => this.sendAck(), 200);
      return false;
    }
    if (!text.startsWith(CONTROL)) return false;
    /** @type {Record<string, any>} */
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return false;
    }
    if (msg.nbws !== "welcome" && msg.nbws !== "ack" && msg.nbws !== "hb") return false;
    if (typeof msg.ack === "number") this.sequencer.acknowledge(msg.ack);
    if (msg.nbws === "welcome" && typeof msg.session === "string" && !this.ready) this.welcome(/** @type {Welcome} */ (msg));
    else if (msg.nbws === "hb") this.scheduleHeartbeat();
    return true;
  }

  /** Closed for good: reject every queued call, forget queued frames. @private */
  finish() {
    this.dropQueue();
    globalThis.document?.removeEventListener?.("visibilitychange", this.onVisibility);
    globalThis.document?.removeEventListener?.("resume", this.onVisibility);
    globalThis.removeEventListener?.("pageshow", this.onPageShow);
    globalThis.removeEventListener?.("online", this.wake);
    this.setStatus("closed");
  }

  /** Forget every queued frame; each queued call rejects with {@link NbwsClosed}. @private */
  dropQueue() {
    for (const item of this.queue.drain()) {
      if (item.kind === "text" && item.call !== undefined) this.settle(item.call, (name) => new NbwsClosed(name));
    }
  }

  /**
   * Reject the pending call `id` with `error(name)` (if it is still pending).
   * @private @param {number} id @param {(name: string) => Error} error
   */
  settle(id, error) {
    const call = this.pending.get(id);
    if (!call) return;
    this.pending.delete(id);
    clearTimeout(call.timer);
    call.reject(error(call.name));
  }

  /**
   * A frame arrived: the socket is alive, so the heartbeat in flight needs no
   * answer (on a slow link the answer may wait behind a large backlog).
   * @private
   */
  alive() {
    if (this.heartbeatDeadline === null) return;
    clearTimeout(this.heartbeatDeadline);
    this.heartbeatDeadline = null;
    this.scheduleHeartbeat();
  }

  /** @private @param {unknown} data */
  receive(data) {
    this.alive();
    if (typeof data !== "string") {
      this.emit("binary", data);
      return;
    }
    if (this.resumable && this.control(data)) return;
    if (!this.resumable && this.heartbeating && data.startsWith('{"hb":')) return; // answered: alive() saw it
    const msg = decode(data);
    if (msg.type === "topic") dispatch(this.topics.get(msg.topic), `topic "${msg.topic}"`, msg.data);
    else if (msg.type === "reply") {
      const call = this.pending.get(msg.id);
      if (!call) return;
      this.pending.delete(msg.id);
      clearTimeout(call.timer);
      if (msg.error !== null) call.reject(new NbwsCallError(call.name, msg.error));
      else call.resolve(msg.data);
    } else if (msg.type === "text") this.emit("message", msg.text);
  }

  /** @private @param {Outgoing} item */
  write(item) {
    if (this.ws && this.ready && this.ws.readyState === 1) {
      const numbered = this.resumable && item.kind === "text" && item.envelope;
      this.ws.send(numbered ? this.sequencer.number(item.data, item.call) : item.data);
      const call = item.kind === "text" && item.call !== undefined ? this.pending.get(item.call) : undefined;
      if (call) call.sent = true;
    } else if (!this.finished()) this.queue.push(item);
  }

  /**
   * Send a JSON message on a topic (queued while disconnected; dropped after
   * `close()`).
   * @param {string} topic
   * @param {unknown} [data]
   */
  send(topic, data) {
    this.write({ kind: "text", data: encodeTopic(topic, data), envelope: true });
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
   * return value. Always settles: rejects with {@link NbwsCallError} (the
   * handler raised), {@link NbwsTimeout} (after `callTimeout` ms; a call
   * still queued is then never sent), {@link NbwsQueueFull} (dropped from the
   * full offline queue), {@link NbwsDisconnected} (the connection dropped
   * while it was in flight) or {@link NbwsClosed} (closed for good first).
   * @param {string} name
   * @param {unknown} [data]
   * @param {{timeout?: number}} [options]
   * @returns {Promise<any>}
   */
  call(name, data, options = {}) {
    if (this.finished()) return Promise.reject(new NbwsClosed(name));
    const id = this.nextId++;
    const timeout = options.timeout ?? this.options.callTimeout ?? 30000;
    return new Promise((resolve, reject) => {
      /** @type {Outgoing} */
      const item = { kind: "text", data: encodeCall(name, id, data), call: id, envelope: true };
      const timer = setTimeout(() => {
        this.queue.remove(item);
        this.settle(id, (n) => new NbwsTimeout(n, timeout));
      }, timeout);
      this.pending.set(id, { name, sent: false, resolve, reject, timer });
      this.write(item);
    });
  }

  /**
   * Close for good: no more reconnects. Queued calls reject with
   * {@link NbwsClosed} now, calls in flight when the socket has closed;
   * later `send()`s are dropped and later `call()`s reject.
   */
  close(code = 1000, reason = "") {
    this.closedByUser = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    this.dropQueue();
    if (this.ws) this.ws.close(code, reason);
    else this.finish();
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
