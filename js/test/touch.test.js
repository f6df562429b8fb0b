// Unit tests of the chart's touch-gesture maths (chart.js):
// node --test. The gestures themselves are tested with real touch input in
// headless Chromium (tests/test_chart_touch.py).
import test from "node:test";
import assert from "node:assert/strict";
import { gestureRange, pinchScale, pinchAxes, PINCH_MIN_PX } from "../chart.js";

const close = (/** @type {number[]} */ got, /** @type {number[]} */ want) =>
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-9, `${got} != ${want}`));

test("a one-finger pan moves the range with the finger: the value under it stays under it", () => {
  // 0..100 over 500 px: a finger from px 100 to px 200 drags the value 20 to px 200
  close(gestureRange(0, 100, 100, 200, 500), [-20, 80]);
  close(gestureRange(0, 100, 300, 50, 500), [50, 150]);
  const [lo, hi] = gestureRange(10, 30, 123, 321, 400);
  assert.ok(Math.abs(lo + (321 / 400) * (hi - lo) - (10 + (123 / 400) * 20)) < 1e-9);
});

test("a pinch narrows the range around the pinch centre, and widens it when the fingers close", () => {
  // fingers 100 px apart -> 200 px apart, centre still at px 250 of 500: half the range, 50 stays at the centre
  const scale = pinchScale(100, 200);
  assert.equal(scale, 0.5);
  close(gestureRange(0, 100, 250, 250, 500, scale), [25, 75]);
  // centred at px 100 (the value 20): 20 stays at px 100
  close(gestureRange(0, 100, 100, 100, 500, 0.5), [10, 60]);
  // closing the fingers zooms out
  assert.equal(pinchScale(200, 100), 2);
  close(gestureRange(0, 100, 250, 250, 500, 2), [-50, 150]);
  // the centre moving pans too: the value under the old centre is under the new one
  const [lo, hi] = gestureRange(0, 100, 250, 300, 500, 0.5);
  assert.ok(Math.abs(lo + (300 / 500) * (hi - lo) - 50) < 1e-9 && Math.abs(hi - lo - 50) < 1e-9);
});

test("a pinch whose fingers started too close along an axis does not zoom it; one gesture zooms at most 20x", () => {
  assert.equal(pinchScale(PINCH_MIN_PX - 1, 300), 1);
  assert.equal(pinchScale(-100, -200), 0.5); // the fingers' order does not matter
  assert.equal(pinchScale(100, 0), 20);
  assert.equal(pinchScale(1000, 1), 20);
  assert.equal(pinchScale(30, 3000), 1 / 20);
});

test("a horizontal pinch zooms x, a vertical one y, a diagonal one both", () => {
  assert.deepEqual(pinchAxes(200, 10), { x: true, y: false });
  assert.deepEqual(pinchAxes(-200, 40), { x: true, y: false });
  assert.deepEqual(pinchAxes(10, 200), { x: false, y: true });
  assert.deepEqual(pinchAxes(5, -200), { x: false, y: true });
  assert.deepEqual(pinchAxes(150, 150), { x: true, y: true });
  assert.deepEqual(pinchAxes(0, 0), { x: false, y: false });
});
