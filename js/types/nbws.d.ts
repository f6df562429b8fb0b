/**
 * Connect to the nbws server that served this module.
 * @param {ConnectOptions} [options]
 * @returns {Connection}
 */
export function connect(options?: ConnectOptions): Connection;
export { LIFECYCLE_EVENTS } from "./nbws-listeners.js";
export { OutQueue } from "./nbws-queue.js";
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
    private closedByUser;
    /** @private the socket under the connection */
    private link;
    /** Whether this connection resumes a session across reconnects (`session` option). */
    resumable: boolean;
    /** Whether this connection sends heartbeats (on a session, or with the `heartbeat` option). */
    heartbeating: boolean;
    /** @type {import("./nbws-session.js").Sequencer} the session's numbering and replay buffer (bounded by `queueLimit`) */
    sequencer: import("./nbws-session.js").Sequencer;
    /** Messages and calls dropped from the full queue while disconnected. */
    get dropped(): number;
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
    get ws(): WebSocket | null;
    /** The session's id (null before the first welcome, or without a session). @returns {string | null} */
    get sessionId(): string | null;
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
    on(event: string, fn: (arg: any) => void): () => void;
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
    /**
     * The socket may carry messages now: send what waited, then say "open".
     * @private @param {Numbered[]} replay a session's unacknowledged messages, sent first
     */
    private opened;
    /**
     * Messages were lost: on a welcome, settle the calls in flight whose
     * replies are lost (those not in the `replay`); then say "resync".
     * @private @param {Resync} resync @param {Numbered[] | null} replay
     */
    private resync;
    /**
     * The socket is gone: settle what must be, say "close", and finish or
     * let the link reconnect (true).
     * @private @param {CloseEvent} ev @returns {boolean}
     */
    private closed;
    /** Closed for good: reject every queued call, forget queued frames. @private */
    private finish;
    /** Forget every queued frame; each queued call rejects with {@link NbwsClosed}. @private */
    private dropQueue;
    /**
     * Reject the pending call `id` with `error(name)` (if it is still pending).
     * @private @param {number} id @param {(name: string) => Error} error
     */
    private settle;
    /** A frame that is not the session's own. @private @param {unknown} data */
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
export type Decoded = import("./nbws-envelope.js").Decoded;
export type Resync = import("./nbws-session.js").Resync;
export type Numbered = import("./nbws-session.js").Numbered;
export type Welcome = import("./nbws-session.js").Welcome;
export type LifecycleEvent = import("./nbws-listeners.js").LifecycleEvent;
export type Outgoing = import("./nbws-queue.js").Outgoing;
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
import { OutQueue } from "./nbws-queue.js";
export { encodeTopic, encodeCall, decode } from "./nbws-envelope.js";
export { NbwsError, NbwsQueueFull, NbwsClosed, NbwsDisconnected, NbwsTimeout, NbwsCallError } from "./nbws-errors.js";
export { PROTOCOL, CONTROL, sequenced, readSeq, Sequencer } from "./nbws-session.js";
export { wsUrl, backoff } from "./nbws-link.js";
