// @ts-check
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
