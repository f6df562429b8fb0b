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
 * The `sessionStorage` key of this page's next connection to `url`: the
 * n-th connection of a page to a URL keeps the n-th session across reloads.
 * @param {string} url
 * @returns {string}
 */
export function nextStorageKey(url: string): string;
/** @param {string} key @returns {string | null} */
export function loadId(key: string): string | null;
/** @param {string} key @param {string} id */
export function saveId(key: string, id: string): void;
/**
 * nbws-session.js — the page's half of a resumable session, without sockets.
 * On a session, each envelope carries `"seq": n` as its first member, and
 * the session's own messages, which begin with `{"nbws":` (a member name
 * reserved for them: other text frames on a session must not begin so), are:
 *
 *     {"nbws": "hello", "protocol": "nbws/1", "session": id | null, "epoch": e, "ack": n}   page → server, first
 *     {"nbws": "welcome", "session": id, "resumed": bool, "ack": n, "from": n}           server → page, answer
 *     {"nbws": "ack", "ack": n}          either direction: every message up to n arrived
 *     {"nbws": "hb", "hb": k, "ack": n}  heartbeat (page → server) and its answer
 *
 * The session's id is kept in `sessionStorage`, so a reload keeps it and a
 * new tab starts its own. Served beside nbws.js, which re-exports the
 * public names (import them from `/_nbws/nbws.js`).
 */
/**
 * @typedef {{reason: "gap" | "unknown", missed: number | null}} Resync
 *   what the `"resync"` event says: `"gap"`, `missed` messages were lost (more
 *   than the server kept); `"unknown"`, the server no longer knows the session
 *   (restarted, or the page was away past its `session_timeout`), `missed` null
 */
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
/**
 * what the `"resync"` event says: `"gap"`, `missed` messages were lost (more
 * than the server kept); `"unknown"`, the server no longer knows the session
 * (restarted, or the page was away past its `session_timeout`), `missed` null
 */
export type Resync = {
    reason: "gap" | "unknown";
    missed: number | null;
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
