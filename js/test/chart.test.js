// Unit tests of the chart's pure logic (chart.js): node --test. The chart
// itself is tested in real headless Chromium (tests/test_live_browser.py).
import test from "node:test";
import assert from "node:assert/strict";
import { decodePoints, ticks, Column, windowStart, firstAtOrAfter, m4, axisTicks, zoomAround, ema, formatNumber, pointsCSV } from "../chart.js";

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

/** M4 by its definition: per column run, first, last, first min and first max (finite points only). */
function m4Reference(/** @type {Float64Array} */ xs, /** @type {Float64Array} */ ys, x0 = 0, x1 = 1, width = 1) {
  /** @type {number[][]} */
  const runs = [];
  let col = NaN;
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(ys[i]) || Number.isNaN(xs[i])) continue;
    const c = Math.min(width, Math.max(-1, Math.floor((xs[i] - x0) * width / (x1 - x0))));
    if (c !== col) { runs.push([]); col = c; }
    runs[runs.length - 1].push(i);
  }
  const out = [];
  for (const run of runs) {
    const vals = run.map((i) => ys[i]);
    const keep = new Set([run[0], run[run.length - 1], run[vals.indexOf(Math.min(...vals))], run[vals.indexOf(Math.max(...vals))]]);
    out.push(...[...keep].sort((a, b) => a - b));
  }
  return out;
}

test("m4 keeps each column's first, last, min and max, as the brute-force reference does", () => {
  let seed = 14;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rand() * 300);
    const xs = new Float64Array(n), ys = new Float64Array(n);
    let x = -10;
    for (let i = 0; i < n; i++) { x += rand() * 1.2; xs[i] = x; ys[i] = rand() < 0.05 ? NaN : Math.floor(rand() * 8); }
    const width = 1 + Math.floor(rand() * 40);
    assert.deepEqual(Array.from(m4(xs, ys, 0, n, 0, 100, width)), m4Reference(xs, ys, 0, 100, width), `trial ${trial}`);
  }
});

test("m4 keeps a one-point spike among a million points, within 4 points per column", () => {
  const n = 1_000_000;
  const xs = new Float64Array(n), ys = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = i;
  ys[777_777] = 1;
  ys[777_778] = -1; // a dip right after it, in the same column
  const keep = m4(xs, ys, 0, n, 0, n - 1, 800);
  assert.ok(keep.length <= 4 * 802);
  assert.ok(keep.includes(777_777) && keep.includes(777_778));
  assert.deepEqual(Array.from(keep), [...keep].sort((a, b) => a - b));
});

test("m4 skips what is not drawn: NaN, and y <= 0 on a log axis; log x works in log10 units", () => {
  const xs = new Float64Array([1, 10, 100, 1000]), ys = new Float64Array([NaN, -1, 5, 0]);
  assert.deepEqual(Array.from(m4(xs, ys, 0, 4, 0, 1000, 1)), [1, 2, 3]);
  assert.deepEqual(Array.from(m4(xs, ys, 0, 4, 0, 1000, 1, false, true)), [2]);
  assert.deepEqual(Array.from(m4(xs, new Float64Array([1, 2, 3, 4]), 0, 4, 0, 3, 3, true)), [0, 1, 2, 3]);
});

test("log axes tick whole decades, labelled with the values they stand for", () => {
  assert.deepEqual(axisTicks(-2, 3, true).map((t) => t.label), ["0.01", "0.1", "1", "10", "100", "1000"]);
  assert.deepEqual(axisTicks(-2, 3, true).map((t) => t.at), [-2, -1, 0, 1, 2, 3]);
  assert.deepEqual(axisTicks(0, 20, true).map((t) => t.at), [0, 4, 8, 12, 16, 20]); // every 4th decade
  assert.deepEqual(axisTicks(0, 20, true).slice(1, 3).map((t) => t.label), ["10000", "1e8"]);
  const narrow = axisTicks(Math.log10(0.037), Math.log10(0.1), true); // less than a decade: round values
  assert.deepEqual(narrow.map((t) => t.label), ["0.04", "0.06", "0.08", "0.1"]);
  assert.ok(Math.abs(narrow[0].at - Math.log10(0.04)) < 1e-12);
  assert.deepEqual(axisTicks(0, 10).map((t) => t.label), ["0", "2", "4", "6", "8", "10"]);
});

test("numbers are labelled short", () => {
  assert.equal(formatNumber(0.30000000000000004), "0.3");
  assert.equal(formatNumber(1234567), "1.235e6");
  assert.equal(formatNumber(0.00012), "1.2e-4");
  assert.equal(formatNumber(-42), "-42");
});

test("zooming around a point keeps it in place", () => {
  assert.deepEqual(zoomAround(0, 100, 50, 0.5), [25, 75]);
  assert.deepEqual(zoomAround(0, 100, 0, 2), [0, 200]);
  const [lo, hi] = zoomAround(10, 20, 12, 0.1);
  assert.ok(Math.abs((12 - lo) / (hi - lo) - 0.2) < 1e-12); // 12 stays at 20 % of the width
});

test("smoothing is TensorBoard's debiased EMA, incremental, and skips NaN", () => {
  assert.deepEqual(Array.from(ema([1, 2, 3], 0)), [1, 2, 3]);
  const once = ema([4, 4, 4], 0.9);
  for (const v of once) assert.ok(Math.abs(v - 4) < 1e-12); // debiased: no ramp from 0
  const all = ema([1, 5, NaN, 2, 8], 0.6);
  const state = { last: 0, count: 0 };
  const parts = [...ema([1, 5], 0.6, state), ...ema([NaN, 2, 8], 0.6, state)];
  assert.deepEqual(parts, Array.from(all));
  assert.ok(Number.isNaN(all[2]));
  assert.ok(Math.abs(all[1] - (0.6 * 0.4 * 1 + 0.4 * 5) / (1 - 0.6 ** 2)) < 1e-12);
});

test("the CSV has every point of every series, names quoted when needed", () => {
  const col = (/** @type {number[]} */ v) => { const c = new Column(); c.append(new Float64Array(v)); return c; };
  const csv = pointsCSV(["loss", 'a,"b"'], [{ x: col([0, 1]), y: col([0.5, 0.25]) }, { x: col([2]), y: col([NaN]) }]);
  assert.equal(csv, 'series,x,y\nloss,0,0.5\nloss,1,0.25\n"a,""b""",2,NaN\n');
});
