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
 * The envelope (nbws-envelope.js), a session's own messages
 * (nbws-session.js) and the socket under the connection (nbws-link.js:
 * reconnection with backoff, and at once when the page comes back; the
 * bounded offline queue, `queueLimit` and `conn.dropped`; resumable sessions
 * and the `"resync"` event; heartbeats) are described in the modules beside
 * this one, whose public names it re-exports.
 *
 * A `call()` always settles. Its Promise rejects with an {@link NbwsError}:
 * {@link NbwsQueueFull} when it was dropped from the full queue,
 * {@link NbwsClosed} when the connection was closed for good before it was
 * sent (or it is made after `close()`), {@link NbwsDisconnected} when the
 * connection dropped while it was in flight, {@link NbwsTimeout} after
 * `callTimeout` ms, and {@link NbwsCallError} when the Python handler raised.
 */

import { decode, encodeCall, encodeTopic } from "./nbws-envelope.js";
import { NbwsCallError, NbwsClosed, NbwsDisconnected, NbwsError, NbwsQueueFull, NbwsTimeout } from "./nbws-errors.js";
import { Link, wsUrl } from "./nbws-link.js";
import { LIFECYCLE, WARNED, addTo, dispatch } from "./nbws-listeners.js";
import { OutQueue } from "./nbws-queue.js";

export { encodeTopic, encodeCall, decode } from "./nbws-envelope.js";
export {
  NbwsError, NbwsQueueFull, NbwsClosed, NbwsDisconnected, NbwsTimeout, NbwsCallError,
} from "./nbws-errors.js";
export { PROTOCOL, CONTROL, sequenced, readSeq, Sequencer } from "./nbws-session.js";
export { wsUrl, backoff } from "./nbws-link.js";
export { LIFECYCLE_EVENTS } from "./nbws-listeners.js";
export { OutQueue } from "./nbws-queue.js";

/** @typedef {import("./nbws-envelope.js").Decoded} Decoded */
/** @typedef {import("./nbws-session.js").Resync} Resync */
/** @typedef {import("./nbws-session.js").Numbered} Numbered */
/** @typedef {import("./nbws-session.js").Welcome} Welcome */
/** @typedef {import("./nbws-listeners.js").LifecycleEvent} LifecycleEvent */
/** @typedef {import("./nbws-queue.js").Outgoing} Outgoing */

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
 */

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
    this.closedByUser = false;
    /** @private the socket under the connection */
    this.link = new Link(url, options, {
      opened: (replay) => this.opened(replay),
      resync: (resync, replay) => this.resync(resync, replay),
      closed: (ev) => this.closed(ev),
      frame: (data) => this.receive(data),
      error: (err) => this.emit("error", err),
    });
    /** Whether this connection resumes a session across reconnects (`session` option). */
    this.resumable = this.link.resumable;
    /** Whether this connection sends heartbeats (on a session, or with the `heartbeat` option). */
    this.heartbeating = this.link.heartbeating;
    /** @type {import("./nbws-session.js").Sequencer} the session's numbering and replay buffer (bounded by `queueLimit`) */
    this.sequencer = this.link.sequencer;
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

  /** The current WebSocket (null while disconnected). @returns {WebSocket | null} */
  get ws() {
    return this.link.ws;
  }

  /** The session's id (null before the first welcome, or without a session). @returns {string | null} */
  get sessionId() {
    return this.link.sessionId;
  }

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

  /**
   * The socket may carry messages now: send what waited, then say "open".
   * @private @param {Numbered[]} replay a session's unacknowledged messages, sent first
   */
  opened(replay) {
    this.setStatus("open");
    for (const item of replay) {
      this.link.sendText(item.text, false);
      const call = item.call !== undefined ? this.pending.get(item.call) : undefined;
      if (call) call.sent = true;
    }
    for (const item of this.queue.drain()) this.write(item);
    this.emit("open", undefined);
  }

  /**
   * Messages were lost: on a welcome, settle the calls in flight whose
   * replies are lost (those not in the `replay`); then say "resync".
   * @private @param {Resync} resync @param {Numbered[] | null} replay
   */
  resync(resync, replay) {
    if (replay) {
      const replayed = new Set(replay.map((item) => item.call));
      for (const [id, call] of [...this.pending]) {
        if (call.sent && !replayed.has(id)) this.settle(id, (name) => new NbwsDisconnected(name));
      }
    }
    this.emit("resync", resync);
  }

  /**
   * The socket is gone: settle what must be, say "close", and finish or
   * let the link reconnect (true).
   * @private @param {CloseEvent} ev @returns {boolean}
   */
  closed(ev) {
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
      return false;
    }
    this.setStatus("reconnecting");
    return true;
  }

  /** Closed for good: reject every queued call, forget queued frames. @private */
  finish() {
    this.dropQueue();
    this.link.stop();
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

  /** A frame that is not the session's own. @private @param {unknown} data */
  receive(data) {
    if (typeof data !== "string") {
      this.emit("binary", data);
      return;
    }
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
    if (this.link.writable) {
      if (item.kind === "text") this.link.sendText(item.data, item.envelope === true, item.call);
      else this.link.sendData(item.data);
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
    this.link.stop();
    this.dropQueue();
    const ws = this.link.ws;
    if (ws) ws.close(code, reason);
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
