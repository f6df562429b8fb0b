// Unit tests of the chart's pure logic (chart.js): node --test. The chart
// itself is tested in real headless Chromium (tests/test_live_browser.py).
import test from "node:test";
import assert from "node:assert/strict";
import { decodePoints, ticks, Column, windowStart, firstAtOrAfter } from "../chart.js";

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
