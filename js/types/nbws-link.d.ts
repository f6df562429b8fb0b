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
    constructor(url: string, options: ConnectOptions, events: LinkEvents);
    url: string;
    options: import("./nbws.js").ConnectOptions;
    /** @private */
    private events;
    /** @type {WebSocket | null} */
    ws: WebSocket | null;
    /** Whether the current socket may carry messages (open; on a session, welcomed). */
    ready: boolean;
    /** Stopped for good: no more sockets. */
    stopped: boolean;
    /** @private */
    private attempt;
    /** @private @type {any} */
    private retryTimer;
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
    /** Whether this link resumes a session across reconnects (`session` option). */
    resumable: boolean;
    /** Whether this link sends heartbeats (on a session, or with the `heartbeat` option). */
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
    /** Whether a frame sent now goes out on a socket. */
    get writable(): boolean;
    /**
     * Send text on the socket (see {@link Link#writable}); an `envelope` is
     * numbered on a session and kept until acknowledged.
     * @param {string} text @param {boolean} envelope @param {number} [call] the id of the call it carries
     */
    sendText(text: string, envelope: boolean, call?: number): void;
    /** @param {ArrayBuffer | ArrayBufferView | Blob} data sent as it is */
    sendData(data: ArrayBuffer | ArrayBufferView | Blob): void;
    /** @private */
    private open;
    /**
     * The socket may carry messages now: the connection sends what waited.
     * @private @param {Numbered[]} [replay] a session's unacknowledged messages, to send first
     */
    private opened;
    /**
     * The session's welcome: report a resync, replay, open.
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
     * The current socket is gone: tell the connection, then open another after
     * the backoff (unless it says not to).
     * @private @param {CloseEvent} ev
     */
    private dropped;
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
    /**
     * A frame arrived: the socket is alive, so the heartbeat in flight needs no
     * answer (on a slow link the answer may wait behind a large backlog).
     * @private
     */
    private alive;
    /** @private @param {unknown} data */
    private receive;
    /** No more sockets: no reconnect is waiting, the page's coming back is not watched. */
    stop(): void;
}
export type ConnectOptions = import("./nbws.js").ConnectOptions;
export type Numbered = import("./nbws-session.js").Numbered;
export type Welcome = import("./nbws-session.js").Welcome;
export type Resync = import("./nbws-session.js").Resync;
/**
 * What a {@link Link} tells its connection (each runs in the page).
 */
export type LinkEvents = {
    /**
     * the socket may carry messages now: send `replay` (a
     * session's unacknowledged messages, numbered already) first, then what waited
     */
    opened: (replay: Numbered[]) => void;
    /**
     * messages were lost; on a welcome,
     * `replay` is what is sent again (calls in flight outside it lost their replies)
     */
    resync: (resync: Resync, replay: Numbered[] | null) => void;
    /**
     * the socket is gone: true to open another
     */
    closed: (ev: CloseEvent) => boolean;
    /**
     * a frame that is not the session's own
     */
    frame: (data: unknown) => void;
    /**
     * a WebSocket error (a close follows)
     */
    error: (err: Error) => void;
};
import { Sequencer } from "./nbws-session.js";
