// Unit tests of the chart's line width (chart.js): node --test. The chart
// itself is tested in real headless Chromium (tests/test_chart_browser.py).
import test from "node:test";
import assert from "node:assert/strict";
import { lineWidth, DENSE_POINTS } from "../chart.js";

test("lines are 1.5 px, and 1 px when a frame draws many points", () => {
  assert.equal(lineWidth(0), 1.5);
  assert.equal(lineWidth(DENSE_POINTS), 1.5);
  assert.equal(lineWidth(DENSE_POINTS + 1), 1);
});
