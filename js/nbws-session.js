// @ts-check
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
 * The `sessionStorage` key of this page's next connection to `url`: the
 * n-th connection of a page to a URL keeps the n-th session across reloads.
 * @param {string} url
 * @returns {string}
 */
export function nextStorageKey(url) {
  const index = OPENED.get(url) ?? 0;
  OPENED.set(url, index + 1);
  return `nbws.session ${url} ${index}`;
}

/** @param {string} key @returns {string | null} */
export function loadId(key) {
  try {
    return globalThis.sessionStorage?.getItem(key) ?? null;
  } catch {
    return null; // storage blocked (sandboxed iframe, privacy settings): the session lasts as long as the page
  }
}

/** @param {string} key @param {string} id */
export function saveId(key, id) {
  try {
    globalThis.sessionStorage?.setItem(key, id);
  } catch {
    // as in loadId
  }
}
