/**
 * nbws-envelope.js — the envelope: how topics, calls and replies travel as
 * JSON text frames, usable by any client:
 *
 *     {"topic": "price", "data": ...}              a topic message, either direction
 *     {"call": "fit", "id": 7, "data": ...}        a request to the Python handler "fit"
 *     {"reply": 7, "data": ...}                    its result
 *     {"reply": 7, "error": "ValueError: ..."}     or its error
 *
 * Served beside nbws.js, which re-exports every name (import them from
 * `/_nbws/nbws.js`).
 */
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
