/**
 * nbws-errors.js — the errors a `call()` rejects with, all {@link NbwsError}s.
 * Served beside nbws.js, which re-exports every name (import them from
 * `/_nbws/nbws.js`).
 */
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
