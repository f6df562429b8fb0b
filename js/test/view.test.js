// Unit tests of the page side of view queries (issue 18): decoding the
// server's answers, the debounced and numbered queries, the compaction of the
// page's copy, the CSV address and the badge. node --test. The chart itself is
// tested in real Chromium (tests/test_zoom_browser.py).
import test from "node:test";
import assert from "node:assert/strict";
import { decodeFrame, decodePoints, ViewQueries, viewQuery, compaction, Column, m4, dataUrl, ratioLabel, ema, axisTicks } from "../chart.js";

/** One chunk: the 12-byte header, then the float64 values. */
function chunk(/** @type {number} */ kind, /** @type {number} */ series, /** @type {number} */ count, /** @type {number[]} */ values) {
  const buf = new ArrayBuffer(12 + 8 * values.length);
  const v = new DataView(buf);
  [78, 66, 76, 80].forEach((c, i) => v.setUint8(i, c));
  v.setUint8(4, 1); v.setUint8(5, kind); v.setUint16(6, series, true); v.setUint32(8, count, true);
  values.forEach((x, i) => v.setFloat64(12 + 8 * i, x, true));
  return new Uint8Array(buf);
}

function frame(/** @type {Uint8Array[]} */ ...chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out.buffer;
}

test("a view answer decodes: header, points and smoothed points", () => {
  const buf = frame(
    chunk(2, 2, 12, [7, 10, 20, 800, 0, 5000, 0.5, 9000, 1, 3, 0, 0]),
    chunk(1, 0, 2, [9, 21, 1, 2]),
    chunk(1, 1, 1, [15, 4]),
    chunk(3, 0, 2, [9, 21, 0.7, 0.8]),
  );
  const f = decodeFrame(buf);
  assert.deepEqual(f.header, {
    id: 7, x0: 10, x1: 20, width: 800,
    series: [{ series: 0, points: 5000, emaLast: 0.5, emaCount: 9000 }, { series: 1, points: 3, emaLast: 0, emaCount: 0 }],
  });
  assert.deepEqual(f.view.map((c) => [c.series, Array.from(c.xs), Array.from(c.ys)]), [[0, [9, 21], [1, 2]], [1, [15], [4]]]);
  assert.deepEqual(f.smoothed.map((c) => [c.series, Array.from(c.xs), Array.from(c.ys)]), [[0, [9, 21], [0.7, 0.8]]]);
  assert.deepEqual(f.points, []);
  assert.deepEqual(decodePoints(buf), []); // decoders of live points skip a view answer instead of failing
});

test("live points decode as before, alone or with other kinds", () => {
  const buf = frame(chunk(0, 3, 2, [1, 2, 10, 20]), chunk(0, 0, 1, [5, 6]));
  const f = decodeFrame(buf);
  assert.equal(f.header, null);
  assert.deepEqual(f.points.map((c) => [c.series, Array.from(c.xs), Array.from(c.ys)]), [[3, [1, 2], [10, 20]], [0, [5], [6]]]);
  assert.deepEqual(decodePoints(buf).map((c) => c.series), [3, 0]);
});

test("unknown kinds, versions and truncated frames are refused", () => {
  assert.throws(() => decodeFrame(frame(chunk(4, 0, 1, [1, 2]))), /not a live-plot frame/);
  const bad = chunk(0, 0, 1, [1, 2]);
  bad[4] = 2;
  assert.throws(() => decodeFrame(frame(bad)), /not a live-plot frame/);
  assert.throws(() => decodeFrame(frame(chunk(0, 0, 3, [1, 2]))), /truncated/);
  assert.throws(() => decodeFrame(frame(chunk(2, 2, 8, [1, 2, 3, 4, 0, 1, 2, 3]))), /truncated view header/);
});

/** Timers a test moves by hand. */
function fakeTimers() {
  /** @type {Map<number, () => void>} */
  const due = new Map();
  let next = 1;
  return {
    set: (/** @type {() => void} */ f) => { due.set(next, f); return next++; },
    clear: (/** @type {number} */ t) => { due.delete(t); },
    fire() { const fs = [...due.values()]; due.clear(); fs.forEach((f) => f()); },
    get waiting() { return due.size; },
  };
}

test("queries are debounced: many asks send one query, built when it is sent", () => {
  /** @type {string[]} */
  const sent = [];
  const timers = fakeTimers();
  const q = new ViewQueries((t) => sent.push(t), 100, timers);
  let x1 = 10;
  for (let i = 0; i < 20; i++) { x1 += 1; q.ask(() => ({ query: { x0: 0, x1, width: 500 }, tag: true })); }
  assert.equal(sent.length, 0);
  assert.equal(timers.waiting, 1);
  assert.ok(q.busy);
  x1 = 99;
  timers.fire();
  assert.deepEqual(sent.map((t) => JSON.parse(t)), [{ view: { id: 1, x0: 0, x1: 99, width: 500 } }]);
  q.ask(() => null); // nothing to ask (no data yet): nothing sent
  timers.fire();
  assert.equal(sent.length, 1);
});

test("only the answer to the query sent last is taken, once", () => {
  const timers = fakeTimers();
  const q = new ViewQueries(() => undefined, 100, timers);
  const ask = (/** @type {number} */ x1) => { q.ask(() => ({ query: { x0: 0, x1, width: 10 }, tag: x1 > 5 })); timers.fire(); };
  ask(1); ask(2); ask(9);
  assert.equal(q.take(1), null);
  assert.equal(q.take(2), null);
  const got = q.take(3);
  assert.ok(got && got.query.x1 === 9 && got.tag === true);
  assert.equal(q.take(3), null); // answered already
  assert.ok(!q.busy);
  ask(4);
  q.cancel(); // following again: its answer is ignored
  assert.equal(q.take(4), null);
});

test("query ids stay within 1 .. 2**31", () => {
  /** @type {number[]} */
  const ids = [];
  const timers = fakeTimers();
  const q = new ViewQueries((t) => ids.push(JSON.parse(t).view.id), 0, timers);
  q.id = 2 ** 31 - 1;
  for (let i = 0; i < 3; i++) { q.ask(() => ({ query: { x0: 0, x1: 1, width: 1 }, tag: false })); timers.fire(); }
  assert.deepEqual(ids, [2 ** 31, 1, 2]);
});

test("a view query is in data units, bounded, and says what is shown", () => {
  assert.deepEqual(viewQuery(2, 4, false, 812.4, [0, 2], 0.6), { x0: 2, x1: 4, width: 812, series: [0, 2], smooth: 0.6 });
  assert.deepEqual(viewQuery(1, 3, true, 20000, null, 0), { x0: 10, x1: 1000, width: 8192, logx: true }); // log10 -> data
  assert.equal(viewQuery(-400, 1, true, 100, null, 0), null); // 10**-400 is 0: no log range starts there
  assert.equal(viewQuery(3, 3, false, 100, null, 0), null);
  assert.equal(viewQuery(0, 400, true, 100, null, 0), null); // 10**400 is not finite
  assert.equal(viewQuery(0, 1, false, 100, [], 0), null);
  assert.ok(JSON.stringify({ view: { id: 2 ** 31, ...viewQuery(-1e300, 1e300, false, 8192, Array.from({ length: 100 }, (_, i) => i), 0.999) } }).length <= 1024);
  assert.equal(viewQuery(0, 1, false, 100, Array.from({ length: 300 }, (_, i) => i), 0)?.series, undefined); // too long: all
});

test("compaction keeps the newest half as is and the M4 of the older part, so every spike stays", () => {
  const n = 1_000_000, cap = 400_000;
  const xs = new Column(), ys = new Column();
  const x = new Float64Array(n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) { x[i] = i; y[i] = Math.sin(i / 1000); }
  const spikes = [17, 123_457, 500_001];
  for (const i of spikes) y[i] = 5;
  y[300_000] = -5;
  xs.append(x); ys.append(y);
  const plan = compaction(xs.values(), ys.values(), cap);
  assert.ok(plan);
  assert.equal(plan.upTo, n - cap / 2);
  assert.deepEqual(Array.from(plan.keep), Array.from(m4(x, y, 0, plan.upTo, 0, plan.upTo - 1, cap / 16)));
  xs.replaceHead(plan.upTo, plan.keep); ys.replaceHead(plan.upTo, plan.keep);
  assert.ok(xs.length <= (3 * cap) / 4 && xs.length === ys.length, String(xs.length));
  const kx = xs.values(), ky = ys.values();
  for (const i of spikes) assert.equal(ky[kx.indexOf(i)], 5, `spike at ${i}`);
  assert.equal(ky[kx.indexOf(300_000)], -5);
  assert.deepEqual(Array.from(kx.subarray(kx.length - cap / 2)), Array.from(x.subarray(n - cap / 2))); // the newest half whole
  for (let i = 1; i < kx.length; i++) assert.ok(kx[i] > kx[i - 1]);
  assert.equal(compaction(kx, ky, cap), null); // under the cap: nothing to do
});

test("compaction stays bounded when x does not increase", () => {
  const n = 5000, cap = 2000;
  const x = new Float64Array(n).fill(1), y = new Float64Array(n).map((_, i) => i);
  const plan = compaction(x, y, cap);
  assert.ok(plan && plan.keep.length <= cap / 4);
  const xs = new Column(), ys = new Column();
  xs.append(x); ys.append(y);
  ys.replaceHead(plan.upTo, plan.keep);
  assert.ok(ys.length <= (3 * cap) / 4);
  assert.equal(ys.values()[ys.length - 1], n - 1);
});

test("the CSV address sits beside the plot's socket, with its token and prefix", () => {
  assert.equal(dataUrl("ws://127.0.0.1:8000/live/run/ws"), "http://127.0.0.1:8000/live/run/data.csv");
  assert.equal(dataUrl("wss://hub.example/user/a/nbws/k/s/live/run/ws?token=abc", { x0: 1.5, x1: 2, series: "loss,acc" }),
    "https://hub.example/user/a/nbws/k/s/live/run/data.csv?token=abc&x0=1.5&x1=2&series=loss%2Cacc");
});

test("the badge shows points per pixel column only when the view is decimated", () => {
  assert.equal(ratioLabel(5_000_000, 1000), "1 px ≈ 5,000 points");
  assert.equal(ratioLabel(12_345_678, 1000), "1 px ≈ 12,000 points");
  assert.equal(ratioLabel(4500, 1000), "1 px ≈ 4.5 points");
  assert.equal(ratioLabel(4000, 1000), null); // every point is shown
  assert.equal(ratioLabel(10, 0), null);
});

test("smoothing goes on from a state exactly as over the whole series", () => {
  const ys = Array.from({ length: 1000 }, (_, i) => Math.sin(i) + (i % 97 === 0 ? NaN : 0));
  const whole = ema(ys, 0.9);
  const state = { last: 0, count: 0 };
  ema(ys.slice(0, 600), 0.9, state);
  const rest = ema(ys.slice(600), 0.9, { ...state }); // the header's ema_last / ema_count
  assert.deepEqual(Array.from(rest), Array.from(whole.subarray(600)));
});

test("axis labels deep in a zoom tell neighbouring ticks apart", () => {
  const labels = axisTicks(3_999_500, 4_000_499).map((t) => t.label);
  assert.equal(new Set(labels).size, labels.length, labels.join(" "));
  assert.ok(labels.includes("3.9998e6") && labels.includes("4e6"), labels.join(" "));
  assert.deepEqual(axisTicks(0, 10).map((t) => t.label), ["0", "2", "4", "6", "8", "10"]); // as before
  assert.deepEqual(axisTicks(0, 1e7).map((t) => t.label), ["0", "2e6", "4e6", "6e6", "8e6", "1e7"]);
});
