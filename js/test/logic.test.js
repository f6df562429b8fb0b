// Unit tests of the pure logic: node --test. The Connection itself is tested
// in real headless Chromium against a real nbws server (tests/test_browser.py).
import test from "node:test";
import assert from "node:assert/strict";
import { wsUrl, backoff, encodeTopic, encodeCall, decode, OutQueue } from "../nbws.js";

test("wsUrl derives the endpoint from where nbws.js was served", () => {
  assert.equal(wsUrl("http://127.0.0.1:8000/page.html", "http://127.0.0.1:8000/_nbws/nbws.js"),
    "ws://127.0.0.1:8000/_nbws/ws");
});

test("wsUrl keeps a jupyter-server-proxy prefix and the page's token", () => {
  assert.equal(
    wsUrl("https://hub.example/user/ada/proxy/8000/app/index.html?token=abc",
      "https://hub.example/user/ada/proxy/8000/_nbws/nbws.js"),
    "wss://hub.example/user/ada/proxy/8000/_nbws/ws?token=abc");
});

test("wsUrl takes a custom path", () => {
  assert.equal(wsUrl("http://h:1/", "http://h:1/_nbws/nbws.js", "/chat"), "ws://h:1/chat");
});

test("backoff grows exponentially, is capped and jittered", () => {
  const low = () => 0;
  const high = () => 0.999999;
  assert.equal(backoff(0, 250, 10000, low), 125);
  assert.equal(backoff(3, 250, 10000, low), 1000);
  assert.ok(Math.abs(backoff(3, 250, 10000, high) - 2000) < 0.01);
  assert.equal(backoff(20, 250, 10000, low), 5000);
  for (let i = 0; i < 50; i++) {
    const d = backoff(i, 250, 10000);
    assert.ok(d > 0 && d <= 10000);
  }
});

test("envelopes encode and decode", () => {
  assert.deepEqual(decode(encodeTopic("price", { v: 1 })), { type: "topic", topic: "price", data: { v: 1 } });
  assert.deepEqual(decode(encodeCall("fit", 7, [1, 2])), { type: "call", name: "fit", id: 7, data: [1, 2] });
  assert.deepEqual(decode('{"reply": 7, "data": 42}'), { type: "reply", id: 7, data: 42, error: null });
  assert.deepEqual(decode('{"reply": 8, "error": "ValueError: no"}'),
    { type: "reply", id: 8, data: null, error: "ValueError: no" });
  assert.deepEqual(decode("plain text"), { type: "text", text: "plain text" });
  assert.deepEqual(decode("[1, 2]"), { type: "text", text: "[1, 2]" });
  assert.equal(JSON.parse(encodeTopic("t", undefined)).data, null);
});

test("the queue is bounded and keeps order", () => {
  const q = new OutQueue(3);
  for (const x of [1, 2, 3]) assert.equal(q.push(x), true);
  assert.equal(q.push(4), false);
  assert.equal(q.dropped, 1);
  assert.deepEqual(q.drain(), [2, 3, 4]);
  assert.equal(q.length, 0);
});


import { decodePoints, ticks, Column } from "../nbws.js";

test("live-plot frames decode", () => {
  const count = 3;
  const buf = new ArrayBuffer(12 + 16 * count);
  const v = new DataView(buf);
  [78, 66, 76, 80].forEach((c, i) => v.setUint8(i, c));
  v.setUint8(4, 1); v.setUint8(5, 0); v.setUint16(6, 2, true); v.setUint32(8, count, true);
  for (let i = 0; i < count; i++) { v.setFloat64(12 + 8 * i, i, true); v.setFloat64(12 + 8 * count + 8 * i, i * i, true); }
  const [chunk] = decodePoints(buf);
  assert.equal(chunk.series, 2);
  assert.deepEqual(Array.from(chunk.xs), [0, 1, 2]);
  assert.deepEqual(Array.from(chunk.ys), [0, 1, 4]);
  assert.throws(() => decodePoints(new ArrayBuffer(12)), /not a live-plot frame/);
});

test("columns grow and keep order", () => {
  const c = new Column();
  for (let i = 0; i < 5; i++) c.append(new Float64Array(500).fill(i));
  assert.equal(c.length, 2500);
  assert.equal(c.values()[0], 0);
  assert.equal(c.values()[2499], 4);
});

test("ticks are round numbers inside the range", () => {
  assert.deepEqual(ticks(0, 10), [0, 2, 4, 6, 8, 10]);
  for (const t of ticks(0.013, 0.97)) assert.ok(t >= 0.013 && t <= 0.97);
  assert.deepEqual(ticks(5, 5), [5]);
});

import { windowStart, firstAtOrAfter } from "../nbws.js";

test("the window is the x range of the last N points of the most frequent series, for all series", () => {
  const col = (/** @type {number[]} */ xs) => { const c = new Column(); c.append(new Float64Array(xs)); return { x: c }; };
  const fast = col(Array.from({ length: 1000 }, (_, i) => i));          // every step
  const slow = col(Array.from({ length: 100 }, (_, i) => 10 * i));      // every 10th step
  assert.equal(windowStart([fast, slow], 100), 900);                    // not 0: slow's last 100 points
  assert.equal(windowStart([slow, fast], 100), 900);                    // order does not matter
  assert.equal(windowStart([fast, slow], null), -Infinity);
  assert.equal(windowStart([col([1, 2])], 100), -Infinity);             // fewer than N points: all
  assert.equal(firstAtOrAfter(slow.x.values(), 900), 90);
  assert.equal(firstAtOrAfter(slow.x.values(), 905), 91);
  assert.equal(firstAtOrAfter(slow.x.values(), 1e9), 100);
  assert.equal(firstAtOrAfter(slow.x.values(), -Infinity), 0);
});
