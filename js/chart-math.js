// @ts-check
/**
 * chart-math.js — the chart's numbers, without a canvas or a server: the
 * growable columns it holds points in and their compaction, M4 decimation,
 * axis ticks and labels, zooming, line widths, smoothing (the debiased EMA)
 * and the CSV of the points. Served beside chart.js, which re-exports every
 * name (import them from `/_nbws/chart.js`).
 */

/** A growable column of float64 values. */
export class Column {
  constructor() {
    this.data = new Float64Array(1024);
    this.length = 0;
  }

  /** @param {Float64Array} values */
  append(values) {
    if (this.length + values.length > this.data.length) {
      let size = this.data.length;
      while (size < this.length + values.length) size *= 2;
      const grown = new Float64Array(size);
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(values, this.length);
    this.length += values.length;
  }

  /** @returns {Float64Array} */
  values() {
    return this.data.subarray(0, this.length);
  }

  /**
   * Replace the values before index `upTo` with the values at `keep`
   * (increasing indexes below `upTo`), in place; the values from `upTo` on
   * follow them.
   * @param {number} upTo @param {ArrayLike<number>} keep
   */
  replaceHead(upTo, keep) {
    const d = this.data;
    let n = 0;
    for (let k = 0; k < keep.length; k++) d[n++] = d[keep[k]];
    d.copyWithin(n, upTo, this.length);
    this.length = n + this.length - upTo;
  }
}

/**
 * How the page compacts its own copy of a series past `cap` points: the
 * newest `cap / 2` points stay as they are, the older ones are replaced by
 * their M4 (see {@link m4}) on `cap / 16` columns of their x range (at most
 * `cap / 4` points), so a series holds at most 3/4 of `cap` after it. No
 * spike or dip of the older part is lost; the server still answers zooms at
 * full resolution. Null when the series holds at most `cap` points.
 * @param {Float64Array} xs @param {Float64Array} ys @param {number} cap
 * @returns {{upTo: number, keep: Uint32Array} | null} replace xs[0..upTo) by xs[keep] (see {@link Column.replaceHead})
 */
export function compaction(xs, ys, cap) {
  const budget = Math.max(16, Math.floor(cap));
  if (xs.length <= budget) return null;
  const upTo = xs.length - Math.floor(budget / 2);
  const lo = xs[0], hi = xs[upTo - 1];
  let keep = hi > lo ? m4(xs, ys, 0, upTo, lo, hi, Math.max(1, Math.floor(budget / 16))) : new Uint32Array(0);
  const most = Math.floor(budget / 4);
  if (keep.length > most) { // x not increasing: keep the newest of the older points instead
    keep = new Uint32Array(most);
    for (let i = 0; i < most; i++) keep[i] = upTo - most + i;
  }
  return { upTo, keep };
}

/**
 * Nice axis ticks between lo and hi.
 * @param {number} lo @param {number} hi @param {number} [count]
 * @returns {number[]}
 */
export function ticks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/**
 * Where a window of the last `n` points starts on the x axis, for all series
 * together: the x of the n-th newest point of the series pushed most often
 * (the latest such start among series holding at least `n` points), so a
 * series pushed rarely is cut to the same x range instead of stretching the
 * axis. `-Infinity` (show everything) when no series has `n` points yet.
 * Points are taken to arrive in increasing x, as `plot.push(step, ...)` does.
 * @param {{x: Column}[]} columns
 * @param {number | null} n
 * @returns {number}
 */
export function windowStart(columns, n) {
  let start = -Infinity;
  if (!n || n < 1) return start;
  for (const c of columns) {
    if (c.x.length >= n) start = Math.max(start, c.x.data[c.x.length - n]);
  }
  return start;
}

/**
 * Index of the first value `>= x` in increasing `xs` (`xs.length` if none).
 * @param {Float64Array} xs @param {number} x
 * @returns {number}
 */
export function firstAtOrAfter(xs, x) {
  let lo = 0, hi = xs.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
}

/**
 * M4 decimation (first, last, min and max per pixel column): the indexes of
 * the points of `xs[i0..i1)` / `ys[i0..i1)` to draw on `width` pixel columns
 * spanning `x0..x1` on the x axis, in index order. A line through them covers
 * exactly the pixels a line through every point would, so no spike or dip is
 * lost. Points whose y is not finite (or not positive, with `logy`) are
 * skipped, as the chart does not draw them; with `logx`, `x0`/`x1` are log10
 * units and points at x <= 0 are skipped. `xs` must be increasing.
 * @param {Float64Array} xs @param {Float64Array} ys
 * @param {number} i0 @param {number} i1 @param {number} x0 @param {number} x1 @param {number} width
 * @param {boolean} [logx] @param {boolean} [logy]
 * @returns {Uint32Array}
 */
export function m4(xs, ys, i0, i1, x0, x1, width, logx = false, logy = false) {
  const columns = Math.max(1, Math.floor(width));
  const scale = columns / (x1 - x0 || 1);
  let n = 0;
  let col = NaN, first = -1, last = -1, lo = -1, hi = -1, ymin = Infinity, ymax = -Infinity;
  let out = new Uint32Array(4 * (columns + 2));
  const flush = () => {
    if (n + 4 > out.length) { const grown = new Uint32Array(2 * out.length); grown.set(out); out = grown; } // x went back
    // first, then min and max in index order, then last (each once)
    out[n++] = first;
    const a = lo < hi ? lo : hi, b = lo < hi ? hi : lo;
    if (a !== first) out[n++] = a;
    if (b !== a && b !== first) out[n++] = b;
    if (last !== b && last !== first) out[n++] = last;
  };
  for (let i = i0; i < i1; i++) {
    const y = ys[i];
    if (!(y === y) || y === Infinity || y === -Infinity || (logy && !(y > 0))) continue;
    const x = logx ? Math.log10(xs[i]) : xs[i];
    if (!(x === x)) continue;
    let c = Math.floor((x - x0) * scale);
    if (c < -1) c = -1; else if (c > columns) c = columns; // everything beyond an edge shares one column
    if (c !== col) {
      if (first >= 0) flush();
      col = c; first = i; lo = i; hi = i; ymin = y; ymax = y;
    } else if (y < ymin) { ymin = y; lo = i; } else if (y > ymax) { ymax = y; hi = i; }
    last = i;
  }
  if (first >= 0) flush();
  return out.subarray(0, n);
}

/**
 * The ticks of an axis between `lo` and `hi` in axis units (log10 units when
 * `log`), each with its label: round numbers on a linear axis; on a log axis
 * whole decades (`0.01` … `1000`, `1e8`) when the range spans at least one,
 * else round values (`0.04`, `0.06` …) placed at their log10.
 * @param {number} lo @param {number} hi @param {boolean} [log] @param {number} [count]
 * @returns {{at: number, label: string}[]}
 */
export function axisTicks(lo, hi, log = false, count = 5) {
  if (!log) {
    const at = ticks(lo, hi, count);
    // enough significant digits to tell neighbours apart (zoomed deep into 4e6: 3.9996e6, 3.9998e6)
    const step = at.length > 1 ? at[1] - at[0] : 0;
    const digits = step > 0 ? Math.min(15, Math.max(4, Math.ceil(Math.log10(Math.max(Math.abs(lo), Math.abs(hi)) / step)) + 1)) : 4;
    return at.map((t) => ({ at: t, label: formatNumber(t, digits) }));
  }
  if (hi - lo >= 1) {
    const every = Math.max(1, Math.ceil((hi - lo) / count));
    const out = [];
    for (let d = Math.ceil(lo / every) * every; d <= hi + 1e-9; d += every) out.push({ at: d, label: formatNumber(10 ** d) });
    return out;
  }
  return ticks(10 ** lo, 10 ** hi, count).filter((v) => v > 0).map((v) => ({ at: Math.log10(v), label: formatNumber(v) }));
}

/**
 * A short label for a number: plain up to 6 significant digits, exponent
 * notation for very small or large magnitudes (`digits` significant digits, 4 by default).
 * @param {number} v @param {number} [digits]
 * @returns {string}
 */
export function formatNumber(v, digits = 4) {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return Number(v.toPrecision(digits)).toExponential().replace("e+", "e");
  return String(Number(v.toPrecision(Math.max(6, digits))));
}

/**
 * A range zoomed by `factor` around `at` (all in axis units): `factor` < 1
 * zooms in, > 1 out; `at` stays where it is on the screen.
 * @param {number} lo @param {number} hi @param {number} at @param {number} factor
 * @returns {[number, number]}
 */
export function zoomAround(lo, hi, at, factor) {
  return [at - (at - lo) * factor, at + (hi - at) * factor];
}

/** Points drawn in one frame (all series) past which lines are 1 px wide instead of 1.5. */
export const DENSE_POINTS = 20000;

/**
 * The width of the series' lines (CSS px) in a frame that draws `points`
 * points in all: 1.5, or 1 past {@link DENSE_POINTS}. Dense lines look the
 * same either way, and a software rasteriser (no GPU: headless browsers,
 * VMs, remote desktops) strokes 1 px lines several times faster: 50 series
 * of 1,700 points took 30 ms a frame at 1.5 px, blocking the page.
 * @param {number} points
 * @returns {number}
 */
export function lineWidth(points) {
  return points > DENSE_POINTS ? 1 : 1.5;
}

/**
 * TensorBoard's smoothing: a debiased exponential moving average with weight
 * `weight` (0: none; 0.99: heavy). Values that are not finite pass through
 * and do not move the average. Incremental: pass the `state` of the previous
 * call to go on from where it stopped.
 * @param {ArrayLike<number>} ys @param {number} weight
 * @param {{last: number, count: number}} [state]
 * @returns {Float64Array}
 */
export function ema(ys, weight, state = { last: 0, count: 0 }) {
  const out = new Float64Array(ys.length);
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (!Number.isFinite(y)) { out[i] = y; continue; }
    state.last = state.last * weight + (1 - weight) * y;
    state.count += 1;
    const debias = weight === 0 ? 1 : 1 - weight ** state.count;
    out[i] = state.last / debias;
  }
  return out;
}

/**
 * The CSV of a chart's data: `series,x,y`, one row per point, every series in
 * order (the format `nbws.LivePlot.load` reads).
 * @param {string[]} names @param {{x: Column, y: Column}[]} columns
 * @returns {string}
 */
export function pointsCSV(names, columns) {
  const parts = ["series,x,y\n"];
  columns.forEach((c, s) => {
    const raw = names[s] ?? String(s);
    const name = /[",\n\r]/.test(raw) ? `"${raw.replace(/"/g, '""')}"` : raw;
    const xs = c.x.values(), ys = c.y.values();
    const rows = [];
    for (let i = 0; i < xs.length; i++) {
      rows.push(`${name},${xs[i]},${ys[i]}`);
      if (rows.length === 65536) { parts.push(rows.join("\n") + "\n"); rows.length = 0; }
    }
    if (rows.length) parts.push(rows.join("\n") + "\n");
  });
  return parts.join("");
}

/**
 * The x range (axis units: log10 with `logx`) the data asks for: the window
 * of the last `window` points (see {@link windowStart}) or all points, of the
 * series not `hidden`; null without points.
 * @param {{x: Column}[]} columns @param {boolean[]} hidden @param {number | null} window @param {boolean} logx
 * @returns {[number, number] | null}
 */
export function dataRange(columns, hidden, window, logx) {
  const from = Math.max(windowStart(columns, window), logx ? Number.MIN_VALUE : -Infinity);
  let x0 = Infinity, x1 = -Infinity;
  columns.forEach((c, s) => {
    if (hidden[s] || !c.x.length) return;
    const xs = c.x.values();
    const first = firstAtOrAfter(xs, from);
    if (first >= xs.length) return;
    x0 = Math.min(x0, xs[first]);
    x1 = Math.max(x1, xs[xs.length - 1]);
  });
  if (!(x1 >= x0)) return null;
  if (Number.isFinite(from)) x0 = Math.min(x0, from);
  return logx ? [Math.log10(x0), Math.log10(x1)] : [x0, x1];
}
