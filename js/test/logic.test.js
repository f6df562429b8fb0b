// Unit tests of the pure logic: node --test. The Connection itself is tested
// in real headless Chromium against a real nbws server (tests/test_browser.py).
import test from "node:test";
import assert from "node:assert/strict";
import {
  wsUrl, backoff, encodeTopic, encodeCall, decode, OutQueue, LIFECYCLE_EVENTS,
  NbwsError, NbwsQueueFull, NbwsClosed, NbwsDisconnected, NbwsTimeout, NbwsCallError,
} from "../nbws.js";

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


test("a full queue hands each dropped item, oldest first, to its onDrop", () => {
  /** @type {number[]} */
  const dropped = [];
  const q = new OutQueue(2, (x) => dropped.push(x));
  for (const x of [1, 2, 3, 4]) q.push(x);
  assert.deepEqual(dropped, [1, 2]);
  assert.equal(q.dropped, 2);
  assert.equal(q.remove(3), true);                    // a timed-out call leaves the queue
  assert.equal(q.remove(3), false);
  assert.deepEqual(q.drain(), [4]);
  assert.equal(q.dropped, 2);                         // removing is not dropping
  const none = new OutQueue(0, (x) => dropped.push(x));
  assert.equal(none.push(5), false);                  // queueLimit 0 keeps nothing
  assert.deepEqual(dropped, [1, 2, 5]);
});

test("every rejected call gets a named NbwsError that says what happened", () => {
  const full = new NbwsQueueFull("fit", 2);
  assert.ok(full instanceof NbwsError && full instanceof Error);
  assert.equal(full.name, "NbwsQueueFull");
  assert.equal(full.call, "fit");
  assert.equal(full.limit, 2);
  assert.match(full.message, /call fit was dropped: the offline queue is full \(queueLimit 2\)/);
  assert.equal(new NbwsClosed("fit").name, "NbwsClosed");
  assert.match(new NbwsClosed("fit").message, /closed for good/);
  assert.equal(new NbwsDisconnected("fit").message, "the connection closed before the reply came");
  assert.equal(new NbwsTimeout("fit", 5).message, "call fit timed out after 5 ms");
  const remote = new NbwsCallError("fit", "ValueError: no");
  assert.equal(remote.message, "ValueError: no");
  assert.equal(remote.name, "NbwsCallError");
});

test("lifecycle events are a fixed list, apart from topics", () => {
  assert.deepEqual([...LIFECYCLE_EVENTS], ["open", "close", "status", "error", "message", "binary"]);
  assert.ok(Object.isFrozen(LIFECYCLE_EVENTS));
});
