// Unit tests of the pure logic: node --test. The Connection itself is tested
// in real headless Chromium against a real nbws server (tests/test_browser.py).
import test from "node:test";
import assert from "node:assert/strict";
import {
  wsUrl, backoff, encodeTopic, encodeCall, decode, OutQueue, LIFECYCLE_EVENTS,
  NbwsError, NbwsQueueFull, NbwsClosed, NbwsDisconnected, NbwsTimeout, NbwsCallError,
  Sequencer, sequenced, readSeq, PROTOCOL, CONTROL,
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
  assert.deepEqual([...LIFECYCLE_EVENTS], ["open", "close", "status", "error", "message", "binary", "resync"]);
  assert.ok(Object.isFrozen(LIFECYCLE_EVENTS));
});

// ------------------------------------------------------------ sessions

test("a sequence number goes first in the envelope, where the server reads it without parsing", () => {
  assert.equal(sequenced(7, '{"topic":"t","data":1}'), '{"seq":7,"topic":"t","data":1}');
  assert.equal(sequenced(1, "{}"), '{"seq":1}');
  assert.deepEqual(JSON.parse(sequenced(3, encodeCall("fit", 2, [1]))), { seq: 3, call: "fit", id: 2, data: [1] });
  assert.equal(readSeq('{"seq":12,"topic":"t"}'), 12);
  assert.equal(readSeq('{"seq":12}'), 12);
  assert.equal(readSeq('{"topic":"t","seq":12}'), null);  // only first: what a user's data says is not read
  assert.equal(readSeq("plain"), null);
  assert.deepEqual(decode(sequenced(4, encodeTopic("p", 5))), { type: "topic", topic: "p", data: 5 });
  assert.equal(PROTOCOL, "nbws/1");
  assert.equal(CONTROL, '{"nbws":');  // the session's own messages; an app's {"ack": 5} is not one
});

test("the sequencer numbers, keeps until acknowledged, and bounds what it keeps", () => {
  const s = new Sequencer(3);
  assert.equal(s.number('{"topic":"a"}'), '{"seq":1,"topic":"a"}');
  s.number('{"topic":"b"}', 9);
  s.number('{"topic":"c"}');
  assert.deepEqual(s.unacked.map((m) => m.seq), [1, 2, 3]);
  assert.equal(s.unacked[1].call, 9);
  s.acknowledge(2);
  assert.deepEqual(s.unacked.map((m) => m.seq), [3]);
  s.acknowledge(1);                                   // an old ack changes nothing
  assert.deepEqual(s.unacked.map((m) => m.seq), [3]);
  for (const t of ["d", "e", "f"]) s.number(`{"topic":"${t}"}`);
  assert.deepEqual(s.unacked.map((m) => m.seq), [4, 5, 6]);
  assert.equal(s.dropped, 1);
});

test("received numbers: new, duplicate, or how many were missed", () => {
  const s = new Sequencer(10);
  assert.equal(s.receive(1), "new");
  assert.equal(s.receive(2), "new");
  assert.equal(s.receive(2), "duplicate");
  assert.equal(s.receive(1), "duplicate");
  assert.equal(s.receive(5), 2);
  assert.equal(s.rx, 5);
  assert.equal(s.receive(6), "new");
});

test("a welcome replays what the server did not acknowledge and says when the page must resync", () => {
  const s = new Sequencer(10);
  for (const t of ["a", "b", "c"]) s.number(`{"topic":"${t}"}`);
  s.receive(1); s.receive(2);
  // resumed, the server has the page's 1 and kept everything after the page's 2: nothing lost
  let out = s.welcome({ nbws: "welcome", session: "id", resumed: true, ack: 1, from: 3 }, true);
  assert.deepEqual(out.replay.map((m) => m.seq), [2, 3]);
  assert.equal(out.resync, null);
  // resumed, but the server had dropped 3..6 (its buffer): a gap of 4
  out = s.welcome({ nbws: "welcome", session: "id", resumed: true, ack: 3, from: 7 }, true);
  assert.deepEqual(out.replay, []);
  assert.deepEqual(out.resync, { reason: "gap", missed: 4 });
  assert.equal(s.rx, 6);
  assert.equal(s.receive(7), "new");
  // the server no longer knows the session (restarted): resync, numbering from the new server's 1
  s.number('{"topic":"d"}');
  out = s.welcome({ nbws: "welcome", session: "id2", resumed: false, ack: 0, from: 1 }, true);
  assert.deepEqual(out.resync, { reason: "unknown", missed: null });
  assert.deepEqual(out.replay.map((m) => m.seq), [4]);
  assert.equal(s.receive(1), "new");
  // a brand-new page's first welcome is not a resync
  assert.equal(new Sequencer(5).welcome({ nbws: "welcome", session: "x", resumed: false, ack: 0, from: 1 }, false).resync, null);
});

test("a new session on a relay numbers from where the app's log is (the welcome's from)", () => {
  const s = new Sequencer(5);
  const out = s.welcome({ nbws: "welcome", session: "x", resumed: false, ack: 0, from: 1235 }, false);
  assert.equal(out.resync, null);
  assert.equal(s.rx, 1234);
  assert.equal(s.receive(1235), "new"); // not a gap of 1234
  assert.equal(s.receive(1235), "duplicate");
});

test("over a lossy link with reconnects, every message arrives once and in order, both ways", () => {
  // Two sequencers (the page's, and one standing in for the server's log)
  // exchange 500 messages each over a link that drops whatever is in flight
  // at random reconnects; each welcome replays the unacknowledged ones.
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const page = new Sequencer(1000);
  const server = new Sequencer(1000);
  /** @type {number[]} */ const atServer = [];
  /** @type {number[]} */ const atPage = [];
  /** @type {{to: "page" | "server", text: string}[]} */ let wire = [];
  const deliver = (/** @type {"page" | "server"} */ to, /** @type {string} */ text) => {
    const side = to === "page" ? page : server;
    const seq = readSeq(text);
    assert.notEqual(seq, null);
    if (side.receive(/** @type {number} */ (seq)) === "duplicate") return;
    (to === "page" ? atPage : atServer).push(JSON.parse(text).data);
  };
  let sentByPage = 0;
  let sentByServer = 0;
  for (let step = 0; step < 4000 && (sentByPage < 500 || sentByServer < 500 || wire.length); step++) {
    const r = random();
    if (r < 0.3 && sentByPage < 500) wire.push({ to: "server", text: page.number(encodeTopic("n", sentByPage++)) });
    else if (r < 0.6 && sentByServer < 500) wire.push({ to: "page", text: server.number(encodeTopic("n", sentByServer++)) });
    else if (r < 0.9 && wire.length) {
      const m = /** @type {{to: "page" | "server", text: string}} */ (wire.shift());
      deliver(m.to, m.text);
    } else if (r < 0.95) {               // acknowledgements cross
      page.acknowledge(server.rx);
      server.acknowledge(page.rx);
    } else {                             // the link drops: in-flight frames are lost; reconnect and replay
      wire = [];
      const fromServer = server.unacked.filter((m) => m.seq > page.rx);
      const welcome = { nbws: "welcome", session: "s", resumed: true, ack: server.rx, from: fromServer.length ? fromServer[0].seq : server.tx + 1 };
      const { replay, resync } = page.welcome(welcome, true);
      assert.equal(resync, null);
      for (const m of fromServer) wire.push({ to: "page", text: m.text });
      for (const m of replay) wire.push({ to: "server", text: m.text });
    }
  }
  const all = Array.from({ length: 500 }, (_, i) => i);
  assert.deepEqual(atServer, all);
  assert.deepEqual(atPage, all);
});
