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
export function wsUrl(pageHref: string, moduleHref: string, path?: string): string;
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
export function backoff(attempt: number, base?: number, max?: number, random?: () => number): number;
/**
 * Encode a topic message.
 * @param {string} topic
 * @param {unknown} data
 * @returns {string}
 */
export function encodeTopic(topic: string, data: unknown): string;
/**
 * Encode a call.
 * @param {string} name
 * @param {number} id
 * @param {unknown} data
 * @returns {string}
 */
export function encodeCall(name: string, id: number, data: unknown): string;
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
export function decode(text: string): Decoded;
/**
 * `envelope` (a JSON object's text) with `"seq": seq` as its first member,
 * where the server's I/O thread reads it without parsing the rest.
 * @param {number} seq
 * @param {string} envelope
 * @returns {string}
 */
export function sequenced(seq: number, envelope: string): string;
/**
 * The sequence number of a received frame, or null when it has none.
 * @param {string} text
 * @returns {number | null}
 */
export function readSeq(text: string): number | null;
/**
 * Connect to the nbws server that served this module.
 * @param {ConnectOptions} [options]
 * @returns {Connection}
 */
export function connect(options?: ConnectOptions): Connection;
/** The root of the helper's errors: every rejected `call()` rejects with one. */
export class NbwsError extends Error {
    /**
     * @param {string} message
     * @param {string} [call] the name of the call that failed, if any
     */
    constructor(message: string, call?: string);
    /** The name of the call that failed (`conn.call(name, ...)`), if any. */
    call: string | undefined;
}
/** A queued call was dropped because the offline queue was full (`queueLimit`). */
export class NbwsQueueFull extends NbwsError {
    /** @param {string} call @param {number} limit */
    constructor(call: string, limit: number);
    /** The queue's bound (`queueLimit`). */
    limit: number;
}
/** A call was not sent because the connection is closed for good (`close()`, or `reconnect: false`). */
export class NbwsClosed extends NbwsError {
    /** @param {string} call */
    constructor(call: string);
}
/** The connection dropped after a call was sent and before its reply came. */
export class NbwsDisconnected extends NbwsError {
    /** @param {string} call */
    constructor(call: string);
}
/** No reply came within the call's timeout. */
export class NbwsTimeout extends NbwsError {
    /** @param {string} call @param {number} timeout ms */
    constructor(call: string, timeout: number);
    /** The timeout, in milliseconds. */
    timeout: number;
}
/** The Python handler raised; the message is its error ("ValueError: ..."). */
export class NbwsCallError extends NbwsError {
    /** @param {string} call @param {string} error */
    constructor(call: string, error: string);
}
/**
 * A bounded FIFO of outgoing frames kept while disconnected. Past `limit`
 * the oldest item is dropped, counted, and handed to `onDrop`.
 * @template T
 */
export class OutQueue<T> {
    /**
     * @param {number} limit
     * @param {(item: T) => void} [onDrop] called with each dropped item
     */
    constructor(limit: number, onDrop?: (item: T) => void);
    /** @type {T[]} */
    items: T[];
    limit: number;
    dropped: number;
    /** @private */
    private onDrop;
    /** @param {T} item @returns {boolean} false when an item was dropped */
    push(item: T): boolean;
    /** Remove one item (not counted as dropped). @param {T} item @returns {boolean} whether it was queued */
    remove(item: T): boolean;
    /** Remove and return everything, oldest first. @returns {T[]} */
    drain(): T[];
    get length(): number;
}
/** The session protocol's name in the hello. */
export const PROTOCOL: "nbws/1";
/** How the session protocol's own messages begin: `{"nbws": kind, ...}`. */
export const CONTROL: "{\"nbws\":";
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
    constructor(limit: number);
    limit: number;
    /** The last number given to a sent message. */
    tx: number;
    /** The server's messages received up to here. */
    rx: number;
    /** @type {Numbered[]} sent, not yet acknowledged, oldest first */
    unacked: Numbered[];
    /** Unacknowledged messages dropped past `limit` (not replayable). */
    dropped: number;
    /**
     * Number an envelope and keep it for a replay.
     * @param {string} envelope @param {number} [call] the id of the call it carries
     * @returns {string} the text to send
     */
    number(envelope: string, call?: number): string;
    /** The server has every message up to `ack`. @param {number} ack */
    acknowledge(ack: number): void;
    /**
     * A message numbered `seq` arrived: `"new"` (handle it), `"duplicate"`
     * (already handled: drop it) or a number: how many were missed before it
     * (handle it after a resync).
     * @param {number} seq
     * @returns {"new" | "duplicate" | number}
     */
    receive(seq: number): "new" | "duplicate" | number;
    /**
     * The server's welcome: what to replay to it, and the resync to report
     * (null when nothing was lost). `known` says whether this page had a
     * session before (a welcome, or messages received).
     * @param {Welcome} welcome
     * @param {boolean} known
     * @returns {{replay: Numbered[], resync: Resync | null}}
     */
    welcome(welcome: Welcome, known: boolean): {
        replay: Numbered[];
        resync: Resync | null;
    };
}
/** The events of `conn.on(event, fn)`; every other name is a user topic (`conn.topic`). */
export const LIFECYCLE_EVENTS: readonly ["open", "close", "status", "error", "message", "binary", "resync"];
/** A connection to an nbws server, with reconnects, topics and calls. */
export class Connection {
    /**
     * @param {string} url
     * @param {ConnectOptions} [options]
     */
    constructor(url: string, options?: ConnectOptions);
    url: string;
    options: ConnectOptions;
    /** @type {Status} */
    status: Status;
    /** @private @type {Map<string, Set<(arg: any) => void>>} lifecycle listeners */
    private listeners;
    /** @private @type {Map<string, Set<(arg: any) => void>>} topic subscribers */
    private topics;
    /** @type {OutQueue<Outgoing>} frames waiting for the connection */
    queue: OutQueue<Outgoing>;
    /** @private @type {Map<number, {name: string, sent: boolean, resolve: (v: any) => void, reject: (e: Error) => void, timer: any}>} calls not settled yet */
    private pending;
    /** @private */
    private nextId;
    /** @private */
    private attempt;
    /** @private */
    private closedByUser;
    /** @type {WebSocket | null} */
    ws: WebSocket | null;
    /** @private @type {any} */
    private retryTimer;
    /** @private whether the current socket may carry messages (open; on a session, welcomed) */
    private ready;
    /** @private @type {any} */
    private connectTimer;
    /** @private @type {any} */
    private heartbeatTimer;
    /** @private @type {any} the deadline of the heartbeat in flight */
    private heartbeatDeadline;
    /** @private */
    private heartbeats;
    /** @private @type {any} */
    private ackTimer;
    /** @private messages received since the last acknowledgement */
    private unackedIn;
    /** Whether this connection resumes a session across reconnects (`session` option). */
    resumable: boolean;
    /** Whether this connection sends heartbeats (on a session, or with the `heartbeat` option). */
    heartbeating: boolean;
    /** @type {Sequencer} the session's numbering and replay buffer (bounded by `queueLimit`) */
    sequencer: Sequencer;
    /** @private this page instance's numbering, told to the server in the hello */
    private epoch;
    /** @private */
    private welcomed;
    /** @private */
    private storageKey;
    /** The session's id (null before the first welcome, or without a session). */
    sessionId: string | null;
    /** @private */
    private wake;
    /** @private @param {Event} ev */
    private onVisibility;
    /** @private @param {PageTransitionEvent} ev */
    private onPageShow;
    /** Messages and calls dropped from the full queue while disconnected. */
    get dropped(): number;
    /**
     * @overload
     * @param {"open"} event the connection opened (again); queued frames were just sent
     * @param {() => void} fn
     * @returns {() => void}
     */
    on(event: "open", fn: () => void): () => void;
    /**
     * @overload
     * @param {"close"} event the WebSocket closed
     * @param {(ev: CloseEvent) => void} fn
     * @returns {() => void}
     */
    on(event: "close", fn: (ev: CloseEvent) => void): () => void;
    /**
     * @overload
     * @param {"status"} event the status changed
     * @param {(status: Status) => void} fn
     * @returns {() => void}
     */
    on(event: "status", fn: (status: Status) => void): () => void;
    /**
     * @overload
     * @param {"error"} event a WebSocket error (a close follows)
     * @param {(err: Error) => void} fn
     * @returns {() => void}
     */
    on(event: "error", fn: (err: Error) => void): () => void;
    /**
     * @overload
     * @param {"message"} event a text frame that is not an envelope
     * @param {(text: string) => void} fn
     * @returns {() => void}
     */
    on(event: "message", fn: (text: string) => void): () => void;
    /**
     * @overload
     * @param {"binary"} event a binary frame
     * @param {(buf: ArrayBuffer) => void} fn
     * @returns {() => void}
     */
    on(event: "binary", fn: (buf: ArrayBuffer) => void): () => void;
    /**
     * @overload
     * @param {"resync"} event the session lost messages (or the server lost the session): reload the page's state
     * @param {(info: Resync) => void} fn
     * @returns {() => void}
     */
    on(event: "resync", fn: (info: Resync) => void): () => void;
    /**
     * @overload
     * @param {string} event a topic name
     * @param {(data: any) => void} fn
     * @returns {() => void}
     * @deprecated for topics use `conn.topic(name, fn)`; `on` with a name that is not a lifecycle event subscribes to that topic
     */
    on(event: string, fn: (data: any) => void): () => void;
    /**
     * Remove a listener added with `on` (lifecycle events; other names remove
     * a topic subscriber, as the deprecated `on` added it).
     * @param {string} event @param {(arg: any) => void} fn
     */
    off(event: string, fn: (arg: any) => void): void;
    /**
     * Subscribe to a user topic: `fn(data)` runs for every `{"topic": name,
     * "data": data}` message (Python: `ws.emit(name, data)`,
     * `server.emit(name, data)`). Any name works, lifecycle names included.
     * @param {string} name
     * @param {(data: any) => void} fn
     * @returns {() => void} a function that unsubscribes
     */
    topic(name: string, fn: (data: any) => void): () => void;
    /** @private @param {LifecycleEvent} event @param {unknown} arg */
    private emit;
    /** @private @param {Status} status */
    private setStatus;
    /** Whether the connection is closed for good (no reconnect will come). @private */
    private finished;
    /** @private */
    private open;
    /**
     * The socket may carry messages now: send what waited, then say "open".
     * @private @param {Numbered[]} [replay] a session's unacknowledged messages, sent first
     */
    private opened;
    /**
     * The session's welcome: report a resync, settle the calls whose replies
     * are lost, replay, open.
     * @private @param {Welcome} welcome
     */
    private welcome;
    /**
     * Give up on a socket that does not open, or no longer answers heartbeats:
     * forget it at once (its close may take minutes on a dead network) and
     * reconnect.
     * @private @param {WebSocket} ws @param {string} reason
     */
    private abandon;
    /**
     * The current socket is gone: settle what must be, then reconnect (or finish).
     * @private @param {CloseEvent} ev
     */
    private dropped_;
    /**
     * The page came back (visible, restored from the back/forward cache, online
     * again): reconnect now with the backoff reset, or check an open socket.
     * @private
     */
    private comeBack;
    /** @private */
    private scheduleHeartbeat;
    /** Send a heartbeat (with an acknowledgement) and expect its answer. @private */
    private heartbeat;
    /** Tell the server what arrived. @private */
    private sendAck;
    /**
     * A session's own message (or a numbered one): true when it was handled here.
     * @private @param {string} text
     */
    private control;
    /** Closed for good: reject every queued call, forget queued frames. @private */
    private finish;
    /** Forget every queued frame; each queued call rejects with {@link NbwsClosed}. @private */
    private dropQueue;
    /**
     * Reject the pending call `id` with `error(name)` (if it is still pending).
     * @private @param {number} id @param {(name: string) => Error} error
     */
    private settle;
    /**
     * A frame arrived: the socket is alive, so the heartbeat in flight needs no
     * answer (on a slow link the answer may wait behind a large backlog).
     * @private
     */
    private alive;
    /** @private @param {unknown} data */
    private receive;
    /** @private @param {Outgoing} item */
    private write;
    /**
     * Send a JSON message on a topic (queued while disconnected; dropped after
     * `close()`).
     * @param {string} topic
     * @param {unknown} [data]
     */
    send(topic: string, data?: unknown): void;
    /**
     * Send raw text (no envelope).
     * @param {string} text
     */
    sendText(text: string): void;
    /**
     * Send a binary frame.
     * @param {ArrayBuffer | ArrayBufferView | Blob} data
     */
    sendBinary(data: ArrayBuffer | ArrayBufferView | Blob): void;
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
    call(name: string, data?: unknown, options?: {
        timeout?: number;
    }): Promise<any>;
    /**
     * Close for good: no more reconnects. Queued calls reject with
     * {@link NbwsClosed} now, calls in flight when the socket has closed;
     * later `send()`s are dropped and later `call()`s reject.
     */
    close(code?: number, reason?: string): void;
}
export type Status = "connecting" | "open" | "reconnecting" | "closed";
export type ConnectOptions = {
    /**
     * full ws:// or wss:// URL (default: derived)
     */
    url?: string | undefined;
    /**
     * endpoint path relative to the server root (default "_nbws/ws")
     */
    path?: string | undefined;
    /**
     * reconnect after drops (default true)
     */
    reconnect?: boolean | undefined;
    /**
     * most messages kept while disconnected (default 1000)
     */
    queueLimit?: number | undefined;
    /**
     * milliseconds before a call() is rejected (default 30000)
     */
    callTimeout?: number | undefined;
    /**
     * first retry delay in ms (default 250)
     */
    backoffBase?: number | undefined;
    /**
     * longest retry delay in ms (default 10000)
     */
    backoffMax?: number | undefined;
    /**
     * resumable session (default: true on the envelope endpoint `_nbws/ws`)
     */
    session?: boolean | undefined;
    /**
     * send heartbeats without a session, to an endpoint that answers `{"hb": k}`
     * with `{"hb": k}` (nbws's classroom socket does); on by default on a session
     */
    heartbeat?: boolean | undefined;
    /**
     * ms between heartbeats (default 15000; 0: none)
     */
    heartbeatInterval?: number | undefined;
    /**
     * ms to wait for a heartbeat's answer (or any other frame) before reconnecting (default 10000)
     */
    heartbeatTimeout?: number | undefined;
    /**
     * ms a socket may take to open (and, on a session, be welcomed) (default 10000)
     */
    connectTimeout?: number | undefined;
    /**
     * WebSocket subprotocols
     */
    protocols?: string[] | undefined;
    /**
     * a WebSocket class (tests)
     */
    WebSocketImpl?: {
        new (url: string | URL, protocols?: string | string[]): WebSocket;
        prototype: WebSocket;
        readonly CONNECTING: 0;
        readonly OPEN: 1;
        readonly CLOSING: 2;
        readonly CLOSED: 3;
    } | undefined;
};
/**
 * a frame waiting to be sent; `call` is the id of the call it carries; an
 * `envelope` gets a sequence number on a session
 */
export type Outgoing = {
    kind: "text";
    data: string;
    call?: number;
    envelope?: boolean;
} | {
    kind: "binary";
    data: ArrayBuffer | ArrayBufferView | Blob;
};
/**
 * what the `"resync"` event says: `"gap"`, `missed` messages were lost (more
 * than the server kept); `"unknown"`, the server no longer knows the session
 * (restarted, or the page was away past its `session_timeout`), `missed` null
 */
export type Resync = {
    reason: "gap" | "unknown";
    missed: number | null;
};
export type Decoded = {
    type: "topic";
    topic: string;
    data: unknown;
} | {
    type: "reply";
    id: number;
    data: unknown;
    error: string | null;
} | {
    type: "call";
    name: string;
    id: number;
    data: unknown;
} | {
    type: "text";
    text: string;
};
/**
 * a sent envelope kept until the server acknowledges it
 */
export type Numbered = {
    seq: number;
    text: string;
    call?: number;
};
/**
 * the server's answer to the hello
 */
export type Welcome = {
    nbws: "welcome";
    session: string;
    resumed: boolean;
    ack: number;
    from: number;
};
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];
