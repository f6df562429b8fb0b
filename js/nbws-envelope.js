// @ts-check
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
export function encodeTopic(topic, data) {
  return JSON.stringify({ topic, data: data === undefined ? null : data });
}

/**
 * Encode a call.
 * @param {string} name
 * @param {number} id
 * @param {unknown} data
 * @returns {string}
 */
export function encodeCall(name, id, data) {
  return JSON.stringify({ call: name, id, data: data === undefined ? null : data });
}

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
export function decode(text) {
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return { type: "text", text };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return { type: "text", text };
  const obj = /** @type {Record<string, unknown>} */ (value);
  if (typeof obj.topic === "string") return { type: "topic", topic: obj.topic, data: obj.data ?? null };
  if (typeof obj.reply === "number") {
    const error = typeof obj.error === "string" ? obj.error : null;
    return { type: "reply", id: obj.reply, data: obj.data ?? null, error };
  }
  if (typeof obj.call === "string" && typeof obj.id === "number") {
    return { type: "call", name: obj.call, id: obj.id, data: obj.data ?? null };
  }
  return { type: "text", text };
}
