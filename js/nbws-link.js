// @ts-check
/**
 * nbws-link.js — the socket under a `Connection` ({@link Link}): one
 * WebSocket at a time, reopened after drops, kept alive and, on a session,
 * resumed. Served beside nbws.js, which re-exports the public names (import
 * them from `/_nbws/nbws.js`).
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
 */

import { NbwsError } from "./nbws-errors.js";
import { CONTROL, PROTOCOL, Sequencer, loadId, nextStorageKey, readSeq, saveId } from "./nbws-session.js";

/** @typedef {import("./nbws.js").ConnectOptions} ConnectOptions */
/** @typedef {import("./nbws-session.js").Numbered} Numbered */
/** @typedef {import("./nbws-session.js").Welcome} Welcome */
/** @typedef {import("./nbws-session.js").Resync} Resync */

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
 * What a {@link Link} tells its connection (each runs in the page).
 * @typedef {object} LinkEvents
 * @property {(replay: Numbered[]) => void} opened the socket may carry messages now: send `replay` (a
 *   session's unacknowledged messages, numbered already) first, then what waited
 * @property {(resync: Resync, replay: Numbered[] | null) => void} resync messages were lost; on a welcome,
 *   `replay` is what is sent again (calls in flight outside it lost their replies)
 * @property {(ev: CloseEvent) => boolean} closed the socket is gone: true to open another
 * @property {(data: unknown) => void} frame a frame that is not the session's own
 * @property {(err: Error) => void} error a WebSocket error (a close follows)
 */

/** One WebSocket at a time, reopened after drops, kept alive and (on a session) resumed. */
export class Link {
  /**
   * Opens the first socket at once.
   * @param {string} url @param {ConnectOptions} options @param {LinkEvents} events
   */
  constructor(url, options, events) {
    this.url = url;
    this.options = options;
    /** @private */
    this.events = events;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** Whether the current socket may carry messages (open; on a session, welcomed). */
    this.ready = false;
    /** Stopped for good: no more sockets. */
    this.stopped = false;
    /** @private */
    this.attempt = 0;
    /** @private @type {any} */
    this.retryTimer = null;
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
    /** Whether this link resumes a session across reconnects (`session` option). */
    this.resumable = options.session ?? /\/_nbws\/ws$/.test(new URL(url).pathname);
    /** Whether this link sends heartbeats (on a session, or with the `heartbeat` option). */
    this.heartbeating = this.resumable || options.heartbeat === true;
    /** @type {Sequencer} the session's numbering and replay buffer (bounded by `queueLimit`) */
    this.sequencer = new Sequencer(options.queueLimit ?? 1000);
    /** @private this page instance's numbering, told to the server in the hello */
    this.epoch = Math.random().toString(36).slice(2, 12);
    /** @private */
    this.welcomed = false;
    /** @private */
    this.storageKey = nextStorageKey(url);
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

  /** Whether a frame sent now goes out on a socket. */
  get writable() {
    return this.ws !== null && this.ready && this.ws.readyState === 1;
  }

  /**
   * Send text on the socket (see {@link Link#writable}); an `envelope` is
   * numbered on a session and kept until acknowledged.
   * @param {string} text @param {boolean} envelope @param {number} [call] the id of the call it carries
   */
  sendText(text, envelope, call) {
    this.ws?.send(envelope && this.resumable ? this.sequencer.number(text, call) : text);
  }

  /** @param {ArrayBuffer | ArrayBufferView | Blob} data sent as it is */
  sendData(data) {
    this.ws?.send(data);
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
    ws.onerror = () => this.events.error(new NbwsError(`WebSocket error on ${this.url}`));
    ws.onclose = (ev) => this.dropped(ev);
  }

  /**
   * The socket may carry messages now: the connection sends what waited.
   * @private @param {Numbered[]} [replay] a session's unacknowledged messages, to send first
   */
  opened(replay = []) {
    clearTimeout(this.connectTimer);
    this.ready = true;
    this.attempt = 0;
    this.events.opened(replay);
    this.scheduleHeartbeat();
  }

  /**
   * The session's welcome: report a resync, replay, open.
   * @private @param {Welcome} welcome
   */
  welcome(welcome) {
    const { replay, resync } = this.sequencer.welcome(welcome, this.welcomed);
    this.welcomed = true;
    this.sessionId = welcome.session;
    saveId(this.storageKey, welcome.session);
    if (resync) this.events.resync(resync, replay);
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
    this.dropped(ev);
  }

  /**
   * The current socket is gone: tell the connection, then open another after
   * the backoff (unless it says not to).
   * @private @param {CloseEvent} ev
   */
  dropped(ev) {
    this.ws = null;
    this.ready = false;
    clearTimeout(this.connectTimer);
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.heartbeatDeadline);
    clearTimeout(this.ackTimer);
    this.heartbeatDeadline = this.ackTimer = null;
    if (!this.events.closed(ev)) return;
    const delay = backoff(this.attempt++, this.options.backoffBase, this.options.backoffMax);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /**
   * The page came back (visible, restored from the back/forward cache, online
   * again): reconnect now with the backoff reset, or check an open socket.
   * @private
   */
  comeBack() {
    if (this.stopped) return;
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
      if (typeof outcome === "number") this.events.resync({ reason: "gap", missed: outcome }, null);
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
    if (typeof data === "string") {
      if (this.resumable && this.control(data)) return;
      if (!this.resumable && this.heartbeating && data.startsWith('{"hb":')) return; // answered: alive() saw it
    }
    this.events.frame(data);
  }

  /** No more sockets: no reconnect is waiting, the page's coming back is not watched. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.connectTimer);
    globalThis.document?.removeEventListener?.("visibilitychange", this.onVisibility);
    globalThis.document?.removeEventListener?.("resume", this.onVisibility);
    globalThis.removeEventListener?.("pageshow", this.onPageShow);
    globalThis.removeEventListener?.("online", this.wake);
  }
}
