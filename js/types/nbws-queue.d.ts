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
