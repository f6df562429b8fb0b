// @ts-check
/**
 * nbws-queue.js — {@link OutQueue}, the bounded queue of what a `Connection`
 * sends while it is disconnected. Served beside nbws.js, which re-exports it.
 */

/**
 * @typedef {{kind: "text", data: string, call?: number, envelope?: boolean} | {kind: "binary", data: ArrayBuffer | ArrayBufferView | Blob}} Outgoing
 *   a frame waiting to be sent; `call` is the id of the call it carries; an
 *   `envelope` gets a sequence number on a session
 */

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
