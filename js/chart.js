// @ts-check
/**
 * chart.js — the live-plot chart of nbws, served by every nbws server at
 * `/_nbws/chart.js` (an ES module that imports the connection module,
 * `./nbws.js`, from beside it). The classic script `/_nbws/nbws.global.js`
 * carries it too (`nbws.liveplot`, `nbws.LiveChart`).
 *
 *     import { liveplot } from "./_nbws/chart.js";
 *     const chart = liveplot(document.getElementById("plot"), { path: "live/<name>/ws" });
 *
 * A dependency-free canvas chart fed by the binary frames of `nbws.LivePlot`
 * (see nbws/live/frames.py): several series, M4 decimation, zoom and pan
 * (mouse and touch), crosshair, legend toggles, log axes, smoothing, themes, PNG / CSV export
 * (see {@link LiveChart}); its settings come on the topic `meta`.
 */

import { connect } from "./nbws.js";

/** @typedef {import("./nbws.js").Connection} Connection */
/** @typedef {import("./nbws.js").ConnectOptions} ConnectOptions */

/** @typedef {{series: number, xs: Float64Array, ys: Float64Array}} PointsChunk */
/**
 * One series of a view answer's header: the points of that series in the
 * asked range at full resolution, and the state of its smoothing (the
 * debiased EMA) at the end of the whole series, for the asked weight.
 * @typedef {{series: number, points: number, emaLast: number, emaCount: number}} ViewSeries
 */
/** @typedef {{id: number, x0: number, x1: number, width: number, series: ViewSeries[]}} ViewHeader */
/**
 * A decoded live-plot frame: live points (kind 0), or the server's answer to
 * a view query (a kind-2 header, kind-1 points, kind-3 smoothed points).
 * @typedef {{points: PointsChunk[], header: ViewHeader | null, view: PointsChunk[], smoothed: PointsChunk[]}} Frame
 */

/**
 * Decode a live-plot frame (see nbws/live/frames.py): chunks of
 * "NBLP" | u8 version (1) | u8 kind | u16 series | u32 count, then for kind 0
 * (live points), 1 (view points) and 3 (view smoothed) count float64 x and
 * count float64 y; for kind 2 (view header; series = the number of answered
 * series S) count float64 values: id, x0, x1, width, then per series its
 * index, points in range, ema_last, ema_count.
 * @param {ArrayBuffer} buffer
 * @returns {Frame}
 */
export function decodeFrame(buffer) {
  const view = new DataView(buffer);
  /** @type {Frame} */
  const out = { points: [], header: null, view: [], smoothed: [] };
  let pos = 0;
  while (pos + 12 <= buffer.byteLength) {
    const magic = String.fromCharCode(view.getUint8(pos), view.getUint8(pos + 1), view.getUint8(pos + 2), view.getUint8(pos + 3));
    const kind = view.getUint8(pos + 5);
    if (magic !== "NBLP" || view.getUint8(pos + 4) !== 1 || kind > 3) throw new Error("not a live-plot frame");
    const series = view.getUint16(pos + 6, true);
    const count = view.getUint32(pos + 8, true);
    pos += 12;
    const size = (kind === 2 ? 8 : 16) * count;
    if (pos + size > buffer.byteLength) throw new Error("truncated live-plot frame");
    if (kind === 2) {
      const v = float64s(buffer, view, pos, count);
      if (count < 4 + 4 * series) throw new Error("truncated view header");
      /** @type {ViewSeries[]} */
      const list = [];
      for (let i = 0; i < series; i++) {
        const at = 4 + 4 * i;
        list.push({ series: v[at], points: v[at + 1], emaLast: v[at + 2], emaCount: v[at + 3] });
      }
      out.header = { id: v[0], x0: v[1], x1: v[2], width: v[3], series: list };
    } else {
      const xs = float64s(buffer, view, pos, count);
      const ys = float64s(buffer, view, pos + 8 * count, count);
      (kind === 0 ? out.points : kind === 1 ? out.view : out.smoothed).push({ series, xs, ys });
    }
    pos += size;
  }
  return out;
}

/**
 * The live points (kind 0) of a live-plot frame; the chunks of a view answer
 * (kinds 1 to 3, see {@link decodeFrame}) are left out.
 * @param {ArrayBuffer} buffer
 * @returns {PointsChunk[]}
 */
export function decodePoints(buffer) {
  return decodeFrame(buffer).points;
}

const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/**
 * `count` little-endian float64 values at byte `pos` (not 8-aligned: after a
 * 12-byte header): one copy of the bytes on little-endian machines (nearly all),
 * DataView reads elsewhere.
 * @param {ArrayBuffer} buffer @param {DataView} view @param {number} pos @param {number} count
 * @returns {Float64Array}
 */
function float64s(buffer, view, pos, count) {
  if (LITTLE_ENDIAN) return new Float64Array(buffer.slice(pos, pos + 8 * count));
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat64(pos + 8 * i, true);
  return out;
}

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
 * A view query as sent to the server (see nbws/live, issue 18): the x range
 * in data units, the pixel columns, the series shown, the smoothing weight,
 * and `logx` on a log x axis (the server's columns are then equal in log10 units).
 * @typedef {{x0: number, x1: number, width: number, series?: number[], smooth?: number, logx?: boolean}} ViewQuery
 */

/**
 * The view query for an x range in axis units (log10 with `logx`), or null
 * when the range cannot be asked (not finite, empty, or nothing shown).
 * @param {number} x0 @param {number} x1 @param {boolean} logx
 * @param {number} width the plot's pixel columns (device pixels; at most 8192 are asked)
 * @param {number[] | null} series the series shown (null: every series) @param {number} smooth
 * @returns {ViewQuery | null}
 */
export function viewQuery(x0, x1, logx, width, series, smooth) {
  const a = logx ? 10 ** x0 : x0, b = logx ? 10 ** x1 : x1;
  if (!Number.isFinite(a) || !Number.isFinite(b) || !(b > a) || (logx && !(a > 0))) return null;
  if (series && !series.length) return null;
  /** @type {ViewQuery} */
  const q = { x0: a, x1: b, width: Math.min(8192, Math.max(1, Math.round(width))) };
  if (series && series.length <= 100) q.series = series;
  if (smooth > 0 && smooth < 1) q.smooth = smooth;
  if (logx) q.logx = true;
  return q;
}

/**
 * View queries to the server, debounced: {@link ViewQueries#ask} (again and
 * again while a gesture goes on) sends one query `delay` ms after the last
 * ask, numbered 1, 2, … (wrapping at 2**31); only the answer to the query
 * sent last is accepted, so answers to older queries are ignored.
 * @template T a tag kept with each query (what it was asked for)
 */
export class ViewQueries {
  /**
   * @param {(text: string) => void} send
   * @param {number} [delay] ms after the last ask
   * @param {{set: (f: () => void, ms: number) => unknown, clear: (timer: any) => void}} [timers]
   */
  constructor(send, delay = 100, timers = { set: (f, ms) => setTimeout(f, ms), clear: (t) => clearTimeout(t) }) {
    this.send = send;
    this.delay = delay;
    this.timers = timers;
    this.id = 0;
    /** @type {unknown} */
    this.timer = null;
    /** @type {(() => {query: ViewQuery, tag: T} | null) | null} */
    this.build = null;
    /** @type {{id: number, query: ViewQuery, tag: T, at: number} | null} the query sent last, until answered or cancelled */
    this.sent = null;
  }

  /**
   * Send the query `build()` returns (null: none) `delay` ms from now,
   * unless another ask comes first; the query is built when it is sent.
   * @param {() => {query: ViewQuery, tag: T} | null} build
   */
  ask(build) {
    this.build = build;
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = this.timers.set(() => this.flush(), this.delay);
  }

  /** Send the query asked for now (what the timer does). */
  flush() {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    const build = this.build;
    this.build = null;
    const made = build ? build() : null;
    if (!made) return;
    this.id = this.id >= 2 ** 31 ? 1 : this.id + 1;
    this.sent = { id: this.id, query: made.query, tag: made.tag, at: now() };
    this.send(JSON.stringify({ view: { id: this.id, ...made.query } }));
  }

  /** Forget the query waiting and the one sent: no answer is accepted until the next is sent. */
  cancel() {
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
    this.build = null;
    this.sent = null;
  }

  /**
   * The query an answer numbered `id` answers, when it is the one sent last
   * (and not answered yet); null for an older or unknown one.
   * @param {number} id
   * @returns {{id: number, query: ViewQuery, tag: T, at: number} | null}
   */
  take(id) {
    const sent = this.sent;
    if (!sent || sent.id !== id) return null;
    this.sent = null;
    return sent;
  }

  /** True while a query waits to be sent or for its answer. */
  get busy() {
    return this.timer !== null || this.sent !== null;
  }
}

/** @returns {number} ms */
function now() {
  return globalThis.performance ? performance.now() : Date.now();
}

/**
 * The address of a plot's full-resolution CSV (`/live/<name>/data.csv`)
 * beside its WebSocket address (`ws[s]://…/live/<name>/ws?token=…`), so it
 * goes through the same proxy prefix and carries the same token; `params`
 * are added to its query (a list: one parameter per item, as `series=`
 * takes one name each, commas and all).
 * @param {string} wsAddress @param {Record<string, string | number | string[]>} [params]
 * @returns {string}
 */
export function dataUrl(wsAddress, params = {}) {
  const url = new URL(wsAddress);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  url.pathname = url.pathname.replace(/\/ws$/, "") + "/data.csv";
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) {
      url.searchParams.delete(k);
      for (const item of v) url.searchParams.append(k, item);
    } else url.searchParams.set(k, String(v));
  }
  url.hash = "";
  return url.toString();
}

/**
 * The badge of a decimated view: "1 px ≈ 5,000 points" when more than 4
 * points per pixel column are in range (the server sends every point up to
 * that), else null.
 * @param {number} points @param {number} width pixel columns
 * @returns {string | null}
 */
export function ratioLabel(points, width) {
  if (!(width >= 1) || !(points > 4 * width)) return null;
  const ratio = Number((points / width).toPrecision(2));
  return `1 px ≈ ${ratio.toLocaleString("en-US")} points`;
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

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
 * The range, along one axis, that a touch gesture makes of `lo..hi` (axis
 * units): the value that was at pixel `from` when the gesture began is at
 * pixel `to` now, and the range is `scale` times as wide (pixels count from
 * the axis' low end over `size` pixels). Panning is `scale` 1; pinching is
 * {@link pinchScale} of the fingers' distances, `from` and `to` their centres.
 * @param {number} lo @param {number} hi @param {number} from @param {number} to
 * @param {number} size @param {number} [scale]
 * @returns {[number, number]}
 */
export function gestureRange(lo, hi, from, to, size, scale = 1) {
  const span = hi - lo, at = lo + (from / size) * span, wide = span * scale;
  const start = at - (to / size) * wide;
  return [start, start + wide];
}

/** Fingers closer than this (px) along an axis do not zoom it (their distance is noise). */
export const PINCH_MIN_PX = 24;

/**
 * How much wider the range gets when two fingers `before` px apart (along an
 * axis) are `now` px apart: `before / now` (fingers spreading zoom in),
 * kept within 1/20..20 per gesture; 1 when they started closer than
 * {@link PINCH_MIN_PX}.
 * @param {number} before @param {number} now
 * @returns {number}
 */
export function pinchScale(before, now) {
  before = Math.abs(before); now = Math.abs(now);
  if (before < PINCH_MIN_PX) return 1;
  return Math.min(20, Math.max(1 / 20, before / Math.max(now, 1)));
}

/**
 * Which axes a two-finger pinch zooms, from where the fingers were when it
 * began (`dx`, `dy`: their distance apart in px): x when the line through them
 * is less than 60° from horizontal, y when more than 30°; so a horizontal
 * pinch zooms x, a vertical one y, a diagonal one both.
 * @param {number} dx @param {number} dy
 * @returns {{x: boolean, y: boolean}}
 */
export function pinchAxes(dx, dy) {
  const ax = Math.abs(dx), ay = Math.abs(dy);
  return { x: ay < ax * Math.tan(Math.PI / 3), y: ay > ax * Math.tan(Math.PI / 6) };
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

/** The colours of the two themes. */
export const THEMES = {
  light: { bg: "#ffffff", text: "#333333", grid: "#e4e4e4", axis: "#999999", tip: "rgba(255,255,255,.92)", select: "rgba(31,119,180,.15)" },
  dark: { bg: "#1e1e1e", text: "#d4d4d4", grid: "#333333", axis: "#777777", tip: "rgba(30,30,30,.92)", select: "rgba(120,170,255,.2)" },
};

/**
 * The theme to use: an explicit `"light"` or `"dark"`, else the browser's
 * `prefers-color-scheme`.
 * @param {string | null | undefined} asked
 * @returns {"light" | "dark"}
 */
export function resolveTheme(asked) {
  if (asked === "light" || asked === "dark") return asked;
  const dark = globalThis.matchMedia && globalThis.matchMedia("(prefers-color-scheme: dark)").matches;
  return dark ? "dark" : "light";
}

/**
 * Charts that share their x axis (a dashboard's `shared_x`): zooming or
 * panning one moves all, a double-click makes all follow again, and while they
 * follow each shows the union of their x ranges.
 */
export class LinkGroup {
  constructor() {
    /** @type {Set<LiveChart>} */
    this.charts = new Set();
  }

  /** @param {{x0: number, x1: number} | null} zoom x in axis units, or null: follow */
  setX(zoom) {
    for (const c of this.charts) {
      c.zoom = zoom ? { x0: zoom.x0, x1: zoom.x1, y0: null, y1: null } : null;
      c.viewChanged();
      c.schedule();
    }
  }
}

/** @typedef {{x0: number, x1: number, y0: number | null, y1: number | null}} Zoom */
/** @typedef {{series?: string[], window?: number | null, log?: boolean, logx?: boolean, title?: string,
 *   xlabel?: string, ylabel?: string, theme?: string | null, smoothing?: number, link?: LinkGroup,
 *   maxPoints?: number, viewDelay?: number}} ChartOptions */
/**
 * The server's answer to the view query sent last, per series: its points
 * in the range (every one, or their M4), the smoothed line computed on full
 * resolution (kind 3) and its continuation over the live points since.
 * @typedef {{xs: Float64Array, ys: Float64Array, sx: Float64Array | null, sy: Float64Array | null, points: number,
 *   live: number, tail: {x: Column, y: Column, state: {last: number, count: number}} | null}} AnswerSeries
 * @typedef {{id: number, zoomed: boolean, x0: number, x1: number, width: number, weight: number,
 *   series: Map<number, AnswerSeries>}} Answer
 * @typedef {{xs: Float64Array, ys: Float64Array, i0: number, i1: number, keep: Uint32Array | null}} Part
 */
/** @typedef {{series: string[], title?: string, window?: number | null, xlabel?: string, ylabel?: string,
 *   theme?: string, overlay?: Record<string, number>, logx?: boolean, logy?: boolean, start?: boolean}} ChartMeta
 *   `start`: a connection's stream starts here (the history follows): the page drops what it held */

/**
 * A dependency-free streaming chart on a canvas: several series, M4
 * decimation per pixel column, auto-scaled axes, a window of the last N points
 * (see {@link windowStart}) or all points, and interaction: drag to zoom on x
 * (Shift: a box, x and y), the wheel zooms x (Shift: y), Alt-drag or the
 * middle button pans, a double-click follows the live edge again (on touch
 * screens: pan, pinch, tap, long press and double tap, see
 * {@link TouchGestures}); a crosshair with every series' value; the legend hides and shows series; log x and y; an
 * EMA smoothing slider (the raw line stays faint behind); light and dark
 * themes; PNG and CSV export.
 *
 * Fed by a server ({@link liveplot}), a zoom or pan asks the server for the
 * view at full resolution ({@link ViewQueries}, debounced) and draws what the
 * page holds until the answer comes; a badge shows how many points a pixel
 * column stands for. The page's own copy of a series is bounded by
 * `maxPoints` (default 400,000): past it the older part is compacted by M4
 * ({@link compaction}).
 */
export class LiveChart {
  /**
   * @param {HTMLElement} element where to draw (filled with a canvas and controls)
   * @param {ChartOptions} [options]
   */
  constructor(element, options = {}) {
    this.element = element;
    /** @type {string[]} */
    this.names = options.series ?? [];
    /** @type {{x: Column, y: Column}[]} */
    this.columns = this.names.map(() => ({ x: new Column(), y: new Column() }));
    /** @type {boolean[]} series hidden from the legend */
    this.hidden = [];
    /** @type {Record<string, number>} overlaid series -> the series whose colour they take (drawn dashed) */
    this.overlay = {};
    this.window = options.window ?? null;
    this.log = options.log ?? false;
    this.logx = options.logx ?? false;
    this.paused = false;
    this.title = options.title ?? "";
    this.xlabel = options.xlabel ?? "";
    this.ylabel = options.ylabel ?? "";
    this.smoothing = options.smoothing ?? 0;
    /** @type {{weight: number, state: {last: number, count: number}, values: Column}[]} */
    this.smoothed = [];
    /** @type {Zoom | null} the fixed view (axis units), or null: follow the data */
    this.zoom = null;
    /** @type {LinkGroup | null} */
    this.link = options.link ?? null;
    if (this.link) this.link.charts.add(this);
    /** @type {{x: number, y: number} | null} */
    this.hover = null;
    /** @type {{x: number, y: number, mode: "zoom" | "box" | "pan", view: {x0: number, x1: number, y0: number, y1: number}, at: {x: number, y: number}} | null} */
    this.drag = null;
    this.frames = 0;
    /** The ranges drawn last (axis units: log10 with log x / log y), or null before any point.
     * @type {{x0: number, x1: number, y0: number, y1: number} | null} */
    this.view = null;
    /** @type {{l: number, r: number, t: number, b: number, w: number, h: number}} */
    this.box = { l: 56, r: 12, t: 10, b: 24, w: 600, h: 300 };
    this.themeAsked = options.theme ?? null;
    /** @type {"light" | "dark"} */
    this.theme = resolveTheme(this.themeAsked);
    /** Most points the page keeps per series (older ones compacted past it, see {@link compaction}). */
    this.maxPoints = Math.max(1000, options.maxPoints ?? 400_000);
    /** @type {((text: string) => void) | null} sends a view query to the server ({@link liveplot} sets it) */
    this.sender = null;
    /** @type {string | null} the plot's WebSocket address, for its full-resolution CSV ({@link liveplot} sets it) */
    this.address = null;
    /** @type {ViewQueries<boolean>} the tag: asked while zoomed */
    this.queries = new ViewQueries((text) => this.sender?.(text), options.viewDelay ?? 100);
    /** @type {Answer | null} the server's answer in use */
    this.answer = null;
    /** @type {boolean[]} series whose page copy is known to be decimated (history or compaction) */
    this.decimated = [];
    /** @type {number} ms from sending the last answered query to the end of the draw that showed its answer */
    this.answerLatency = NaN;
    /** @private @type {number | null} */
    this.answerSentAt = null;
    this.answered = 0;
    const doc = element.ownerDocument;
    this.bar = doc.createElement("div");
    this.bar.style.cssText = "display:flex;flex-wrap:wrap;gap:4px 10px;align-items:center;padding:4px 8px;font:12px system-ui,sans-serif";
    this.bar.innerHTML = '<span class="legend" style="flex:1;display:flex;flex-wrap:wrap;gap:2px 10px"></span>' +
      '<label title="exponential moving average (TensorBoard\'s)">smooth <input type="range" class="smooth" min="0" max="0.99" step="0.01" style="width:70px;vertical-align:middle"> <span class="smooth-value"></span></label>' +
      '<label><input type="checkbox" class="logx"> log x</label><label><input type="checkbox" class="log"> log y</label>' +
      '<select class="win" title="show the last N points"><option value="">all</option><option>100</option><option>1000</option><option>10000</option></select>' +
      '<button class="pause">pause</button><button class="png" title="the current view as PNG">PNG</button><button class="csv" title="the data as CSV">CSV</button>';
    this.menu = doc.createElement("div");
    this.menu.className = "csv-menu";
    this.menu.style.cssText = "position:absolute;right:8px;z-index:2;display:none;gap:4px;padding:4px;border-radius:4px;font:12px system-ui,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)";
    this.menu.innerHTML = '<button class="csv-view" title="every point in the current view, at full resolution">view</button>' +
      '<button class="csv-all" title="every point of every series, at full resolution">all</button>';
    this.badge = doc.createElement("div");
    this.badge.className = "ratio";
    this.badge.hidden = true;
    this.badge.style.cssText = "position:absolute;z-index:1;pointer-events:none;padding:1px 5px;border-radius:3px;font:11px system-ui,sans-serif;opacity:.85";
    this.canvas = doc.createElement("canvas");
    this.canvas.style.cssText = "width:100%;flex:1;min-height:0;display:block;touch-action:none;cursor:crosshair";
    element.style.display = "flex";
    element.style.flexDirection = "column";
    if (!element.style.position) element.style.position = "relative";
    element.append(this.bar, this.canvas, this.badge, this.menu);
    this.wire();
    this.pending = false;
    this.applyTheme();
    if (globalThis.matchMedia) {
      globalThis.matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", () => {
        if (this.themeAsked !== "light" && this.themeAsked !== "dark") this.setTheme(this.themeAsked);
      });
    }
    this.updateLegend();
  }

  /** @private */
  wire() {
    const q = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (this.bar.querySelector(sel));
    const pause = /** @type {HTMLButtonElement} */ (q(".pause"));
    pause.onclick = () => {
      this.paused = !this.paused;
      pause.textContent = this.paused ? "resume" : "pause";
      this.schedule();
    };
    const log = /** @type {HTMLInputElement} */ (q(".log"));
    log.checked = this.log;
    log.onchange = () => { this.log = log.checked; this.follow(); };
    const logx = /** @type {HTMLInputElement} */ (q(".logx"));
    logx.checked = this.logx;
    logx.onchange = () => { this.logx = logx.checked; this.follow(); };
    const win = /** @type {HTMLSelectElement} */ (q(".win"));
    win.onchange = () => { this.window = win.value ? Number(win.value) : null; this.schedule(); };
    const smooth = /** @type {HTMLInputElement} */ (q(".smooth"));
    smooth.value = String(this.smoothing);
    smooth.oninput = () => this.setSmoothing(Number(smooth.value));
    q(".png").onclick = () => { void this.download("png"); };
    q(".csv").onclick = () => {
      if (!this.address) { void this.download("csv"); return; } // the page's copy: no server to ask
      this.menu.style.top = `${this.bar.offsetHeight}px`;
      this.menu.style.display = this.menu.style.display === "none" ? "flex" : "none";
    };
    for (const scope of /** @type {const} */ (["view", "all"])) {
      /** @type {HTMLElement} */ (this.menu.querySelector(`.csv-${scope}`)).onclick = () => {
        this.menu.style.display = "none";
        void this.download("csv", scope);
      };
    }
    const legend = q(".legend");
    legend.onclick = (ev) => {
      const entry = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (ev.target).closest("[data-series]"));
      if (entry) this.setHidden(Number(entry.dataset.series), !this.hidden[Number(entry.dataset.series)]);
    };
    const c = this.canvas;
    c.onmousemove = (ev) => this.pointerMove(ev.offsetX, ev.offsetY);
    c.onmouseleave = () => { this.hover = null; this.schedule(); };
    c.onmousedown = (ev) => {
      if (!this.view || (ev.button !== 0 && ev.button !== 1)) return;
      ev.preventDefault();
      const mode = ev.altKey || ev.button === 1 ? "pan" : ev.shiftKey ? "box" : "zoom";
      this.drag = { x: ev.offsetX, y: ev.offsetY, mode, view: { ...this.view }, at: { x: ev.offsetX, y: ev.offsetY } };
    };
    c.ownerDocument.addEventListener("mouseup", (ev) => {
      if (!this.drag) return;
      const rect = c.getBoundingClientRect();
      this.dragEnd(ev.clientX - rect.left, ev.clientY - rect.top);
    });
    c.ondblclick = (ev) => {
      ev.preventDefault();
      if (!this.touch?.touchedWithin(1000)) this.follow(); // a double tap is the touch gestures' (not every browser makes a dblclick of it)
    };
    this.touch = new TouchGestures(this);
    c.onwheel = (ev) => {
      if (!this.view) return;
      ev.preventDefault();
      const v = this.view;
      if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) { // sideways: pan
        const dx = (ev.deltaX / (this.box.w - this.box.l - this.box.r)) * (v.x1 - v.x0);
        this.setZoom({ x0: v.x0 + dx, x1: v.x1 + dx, y0: this.zoom?.y0 ?? null, y1: this.zoom?.y1 ?? null });
        return;
      }
      const factor = Math.exp(ev.deltaY * 0.002);
      const at = this.toData(ev.offsetX, ev.offsetY);
      if (ev.shiftKey) {
        const [y0, y1] = zoomAround(v.y0, v.y1, at.y, factor);
        this.setZoom({ x0: v.x0, x1: v.x1, y0, y1 });
      } else {
        const [x0, x1] = zoomAround(v.x0, v.x1, at.x, factor);
        this.setZoom({ x0, x1, y0: this.zoom?.y0 ?? null, y1: this.zoom?.y1 ?? null });
      }
    };
  }

  /** @private @param {number} x @param {number} y */
  pointerMove(x, y) {
    this.hover = { x, y };
    const d = this.drag;
    if (d) {
      d.at = { x, y };
      if (d.mode === "pan") {
        const b = this.box, v = d.view;
        const dx = ((x - d.x) / (b.w - b.l - b.r)) * (v.x1 - v.x0);
        const dy = ((y - d.y) / (b.h - b.t - b.b)) * (v.y1 - v.y0);
        this.setZoom({ x0: v.x0 - dx, x1: v.x1 - dx, y0: v.y0 + dy, y1: v.y1 + dy });
      }
    }
    this.schedule();
  }

  /** @private @param {number} x @param {number} y */
  dragEnd(x, y) {
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    if (d.mode !== "pan" && Math.abs(x - d.x) >= 5) {
      const a = this.toData(Math.min(d.x, x), Math.max(d.y, y)), b = this.toData(Math.max(d.x, x), Math.min(d.y, y));
      const box = d.mode === "box" && Math.abs(y - d.y) >= 5;
      this.setZoom({ x0: a.x, x1: b.x, y0: box ? a.y : null, y1: box ? b.y : null });
    }
    this.schedule();
  }

  /**
   * Canvas position (CSS px) -> axis units, in the view drawn last.
   * @param {number} px @param {number} py
   * @returns {{x: number, y: number}}
   */
  toData(px, py) {
    const v = this.view ?? { x0: 0, x1: 1, y0: 0, y1: 1 }, b = this.box;
    return {
      x: v.x0 + ((px - b.l) / (b.w - b.l - b.r)) * (v.x1 - v.x0),
      y: v.y0 + ((b.h - b.b - py) / (b.h - b.t - b.b)) * (v.y1 - v.y0),
    };
  }

  /**
   * Fix the view (axis units: log10 with log axes); y null: auto-scale y to
   * what is in the x range. Linked charts take the same x.
   * @param {Zoom} zoom
   */
  setZoom(zoom) {
    if (!(zoom.x1 > zoom.x0)) return;
    if (zoom.y0 !== null && zoom.y1 !== null && !(zoom.y1 > zoom.y0)) return;
    if (this.link) this.link.setX(zoom);
    this.zoom = zoom;
    this.viewChanged();
    this.schedule();
  }

  /** Follow the data again (the live edge, or the window): what a double-click does. */
  follow() {
    if (this.link) this.link.setX(null);
    this.zoom = null;
    this.viewChanged();
    this.schedule();
  }

  /**
   * The view changed (zoom, pan, follow, series shown, smoothing): ask the
   * server for it, {@link ViewQueries debounced}. Zoomed, the query is the x
   * range shown; following, it is the overview, whose header says how many
   * points the page's copy stands for and whose smoothed line (computed on
   * full resolution) replaces the page's own EMA. Following again drops a
   * zoomed answer at once: the chart draws its own data again.
   */
  viewChanged() {
    if (!this.sender) return;
    if (!this.zoom && this.answer && this.answer.zoomed) {
      this.answer = null;
      this.queries.cancel();
    }
    this.queries.ask(() => this.buildQuery());
  }

  /** @private @returns {{query: ViewQuery, tag: boolean} | null} the query for the view now */
  buildQuery() {
    const zoomed = this.zoom !== null;
    const range = zoomed ? [/** @type {Zoom} */ (this.zoom).x0, /** @type {Zoom} */ (this.zoom).x1] : this.dataRange();
    if (!range) return null;
    const shown = this.names.map((_, s) => s).filter((s) => !this.hidden[s]);
    const all = shown.length === this.names.length;
    // the canvas's device pixels (a HiDPI screen has 2 or 3 a CSS px), so the answer fills every one
    const dpr = globalThis.devicePixelRatio || 1;
    const query = viewQuery(range[0], range[1], this.logx, (this.box.w - this.box.l - this.box.r) * dpr,
      zoomed && !all ? shown : null, this.smoothing);
    return query ? { query, tag: zoomed } : null;
  }

  /**
   * A binary frame from the server: live points, or the answer to a view query.
   * @param {ArrayBuffer} buffer
   */
  receive(buffer) {
    const frame = decodeFrame(buffer);
    for (const chunk of frame.points) this.addPoints(chunk.series, chunk.xs, chunk.ys);
    if (frame.header) this.applyAnswer(frame);
  }

  /** @private @param {Frame} frame */
  applyAnswer(frame) {
    const header = /** @type {ViewHeader} */ (frame.header);
    const sent = this.queries.take(header.id);
    if (!sent || sent.tag !== (this.zoom !== null)) return; // an older query's, or asked for another mode
    const weight = sent.query.smooth ?? 0;
    /** @type {Map<number, AnswerSeries>} */
    const series = new Map();
    const none = new Float64Array(0);
    for (const info of header.series) {
      series.set(info.series, { xs: none, ys: none, sx: null, sy: null, points: info.points, live: 0, tail: null });
    }
    for (const c of frame.view) {
      const a = series.get(c.series);
      if (a) { a.xs = c.xs; a.ys = c.ys; }
    }
    for (const c of frame.smoothed) {
      const a = series.get(c.series), info = header.series.find((i) => i.series === c.series);
      if (!a || !info || !(weight > 0)) continue;
      a.sx = c.xs; a.sy = c.ys;
      const state = { last: info.emaLast, count: info.emaCount };
      const tail = { x: new Column(), y: new Column(), state };
      // the server's EMA state is at the end of the series: the newest point this page got
      const own = this.columns[c.series];
      const newest = own && own.x.length ? own.x.data[own.x.length - 1] : NaN;
      if (state.count > 0 && (!c.xs.length || newest > c.xs[c.xs.length - 1])) {
        tail.x.append(new Float64Array([newest]));
        tail.y.append(new Float64Array([state.last / (1 - weight ** state.count)]));
      }
      a.tail = tail;
    }
    // following: the header says whether the page's copy holds every point
    if (!sent.tag) {
      const lo = sent.query.x0, hi = sent.query.x1;
      for (const [s, a] of series) {
        const c = this.columns[s];
        if (!c) continue;
        const xs = c.x.values();
        if (firstAtOrAfter(xs, hi + Math.abs(hi) * 1e-12 + Number.MIN_VALUE) - firstAtOrAfter(xs, lo) < a.points) this.decimated[s] = true;
      }
    }
    this.answer = { id: header.id, zoomed: sent.tag, x0: header.x0, x1: header.x1, width: header.width, weight, series };
    this.answered += 1;
    this.answerSentAt = sent.at;
    this.schedule();
  }

  /**
   * What the badge says: how many points one pixel column stands for, when
   * the view holds more than 4 per column (from the server's answer; when
   * following, its overview and the live points since; following a window of
   * N points, the N points it stands for: at most N of a series, as the
   * window is the last N points of the series pushed most), else null.
   * @returns {string | null}
   */
  ratio() {
    const a = this.answer;
    if (!a) return null;
    const width = a.width; // the pixel columns the server reduced to (device pixels)
    let most = 0;
    for (const [s, info] of a.series) {
      if (this.hidden[s]) continue;
      if (a.zoomed) most = Math.max(most, info.points);
      else if (this.window === null) most = Math.max(most, info.points + info.live);
      else most = Math.max(most, Math.min(this.window, info.points + info.live));
    }
    return ratioLabel(most, width);
  }

  /** True while the view follows the data (not zoomed or panned). */
  get following() {
    return this.zoom === null;
  }

  /** @param {number} series @param {boolean} hidden */
  setHidden(series, hidden) {
    this.hidden[series] = hidden;
    this.updateLegend();
    if (!hidden && this.zoom && this.answer && !this.answer.series.has(series)) this.viewChanged();
    this.schedule();
  }

  /** @param {number} weight 0 (off) to 0.99: TensorBoard's smoothing */
  setSmoothing(weight) {
    this.smoothing = Math.min(0.999, Math.max(0, weight));
    const label = this.bar.querySelector(".smooth-value");
    if (label) label.textContent = this.smoothing ? this.smoothing.toFixed(2) : "";
    const input = /** @type {HTMLInputElement | null} */ (this.bar.querySelector(".smooth"));
    if (input && Number(input.value) !== this.smoothing) input.value = String(this.smoothing);
    if (this.smoothing > 0 && (this.zoom || this.decimated.some(Boolean)) && this.answer?.weight !== this.smoothing) this.viewChanged();
    this.schedule();
  }

  /** @param {string | null | undefined} theme "light", "dark", or "auto"/null: the browser's preference */
  setTheme(theme) {
    this.themeAsked = theme ?? null;
    this.theme = resolveTheme(theme);
    this.applyTheme();
    this.schedule();
  }

  /** @private */
  applyTheme() {
    const c = THEMES[this.theme];
    this.element.style.background = c.bg;
    this.element.style.color = c.text;
    this.element.style.colorScheme = this.theme;
    this.element.dataset.theme = this.theme;
    this.badge.style.background = c.tip;
    this.badge.style.color = c.text;
    this.menu.style.background = c.bg;
  }

  /** @param {ChartMeta} meta */
  setMeta(meta) {
    // a new connection's stream starts over: drop our copy (its history follows and asks for the view)
    if (meta.start) this.restart();
    // an overlay's meta on the same stream: a zoomed view asks again below, for it at full resolution
    const grew = !meta.start && meta.series.length > this.names.length && this.names.length > 0;
    this.names = meta.series;
    while (this.columns.length < this.names.length) this.columns.push({ x: new Column(), y: new Column() });
    if (meta.title) this.title = meta.title;
    if (meta.xlabel) this.xlabel = meta.xlabel;
    if (meta.ylabel) this.ylabel = meta.ylabel;
    if (meta.overlay) this.overlay = meta.overlay;
    for (const [key, box] of /** @type {const} */ ([["logx", "logx"], ["logy", "log"]])) {
      if (typeof meta[key] !== "boolean") continue;
      if (key === "logx") this.logx = meta[key]; else this.log = meta[key];
      const input = /** @type {HTMLInputElement | null} */ (this.bar.querySelector("." + box));
      if (input) input.checked = meta[key];
    }
    if ((meta.theme === "light" || meta.theme === "dark") && this.themeAsked !== "light" && this.themeAsked !== "dark") {
      this.setTheme(meta.theme);
    }
    if (meta.window !== undefined && meta.window !== null) {
      this.window = meta.window;
      const win = /** @type {HTMLSelectElement | null} */ (this.bar.querySelector(".win"));
      if (win) { // show the plot's own window in the menu
        const value = String(meta.window);
        if (!Array.from(win.options).some((o) => o.value === value)) win.add(new Option(value, value), 1);
        win.value = value;
      }
    }
    this.updateLegend();
    if (grew && this.zoom) this.viewChanged(); // an overlay came while zoomed: ask for it at full resolution
    this.schedule();
  }

  /**
   * A new stream begins (the page reconnected: the server sends its history
   * again): forget the points held, their smoothing and any answer or query
   * of the old connection, so no point is held twice. The zoom, hidden
   * series, smoothing weight and window stay; the history that follows asks
   * for the view again.
   */
  restart() {
    this.columns = this.columns.map(() => ({ x: new Column(), y: new Column() }));
    this.smoothed = [];
    this.decimated = [];
    this.answer = null;
    this.answerSentAt = null;
    this.queries.cancel();
    this.schedule();
  }

  /** @private @param {number} s @returns {string} */
  color(s) {
    const base = this.overlay[String(s)];
    return PALETTE[(base ?? s) % PALETTE.length];
  }

  /** @private */
  updateLegend() {
    const legend = this.bar.querySelector(".legend");
    if (!legend) return;
    legend.innerHTML = this.names.map((n, i) =>
      `<span data-series="${i}" title="click to hide or show" style="cursor:pointer;user-select:none;` +
      `${this.hidden[i] ? "opacity:.35;text-decoration:line-through" : ""}"><span style="color:${this.color(i)}">` +
      `${this.overlay[String(i)] !== undefined ? "┅" : "━"}</span> ${n.replace(/[<&]/g, "")}</span>`).join("");
  }

  /** @param {number} series @param {Float64Array} xs @param {Float64Array} ys */
  addPoints(series, xs, ys) {
    while (this.columns.length <= series) this.columns.push({ x: new Column(), y: new Column() });
    const c = this.columns[series];
    c.x.append(xs);
    c.y.append(ys);
    if (c.x.length > this.maxPoints) this.compact(series);
    const a = this.answer?.series.get(series);
    if (a) {
      a.live += xs.length;
      const tail = a.tail;
      if (tail) {
        tail.x.append(xs);
        tail.y.append(ema(ys, /** @type {Answer} */ (this.answer).weight, tail.state));
        if (tail.x.length > this.maxPoints / 2 && !this.queries.busy) this.viewChanged(); // a fresh answer, a fresh tail
        if (tail.x.length > this.maxPoints) this.answer = null;
      }
    }
    this.frames += 1;
    if (this.link) for (const c of this.link.charts) c.schedule();
    else this.schedule();
  }

  /**
   * Compact the page's copy of a series past {@link LiveChart#maxPoints}
   * (see {@link compaction}); its smoothed values keep the same points.
   * @private @param {number} s
   */
  compact(s) {
    const c = this.columns[s];
    const plan = compaction(c.x.values(), c.y.values(), this.maxPoints);
    if (!plan) return;
    const cache = this.smoothed[s];
    if (cache && cache.weight === this.smoothing) { // up to date, then compacted alike: the line stays as drawn
      this.smoothedValues(s);
      cache.values.replaceHead(plan.upTo, plan.keep);
    } else delete this.smoothed[s];
    c.x.replaceHead(plan.upTo, plan.keep);
    c.y.replaceHead(plan.upTo, plan.keep);
    if (!this.decimated[s]) {
      this.decimated[s] = true;
      if (this.smoothing > 0 && !this.zoom && !this.answer?.series.get(s)?.sx) this.viewChanged();
    }
  }

  /** Points held, all series. */
  count() {
    return this.columns.reduce((n, c) => n + c.x.length, 0);
  }

  /** @param {number} series @returns {{x: number[], y: number[]}} the data of one series */
  data(series) {
    const c = this.columns[series];
    return c ? { x: Array.from(c.x.values()), y: Array.from(c.y.values()) } : { x: [], y: [] };
  }

  /** The data as CSV (`series,x,y`; see {@link pointsCSV}). */
  toCSV() {
    return pointsCSV(this.names, this.columns);
  }

  /**
   * The current view as a PNG, with the legend of the series shown.
   * @returns {Promise<Blob>}
   */
  toPNG() {
    this.draw();
    const doc = this.element.ownerDocument;
    const out = doc.createElement("canvas");
    out.width = this.canvas.width;
    out.height = this.canvas.height;
    const ctx = /** @type {CanvasRenderingContext2D} */ (out.getContext("2d"));
    ctx.drawImage(this.canvas, 0, 0);
    const dpr = this.canvas.width / (this.canvas.clientWidth || this.canvas.width);
    ctx.scale(dpr, dpr);
    ctx.font = "11px system-ui, sans-serif";
    let y = this.box.t + 14;
    this.names.forEach((n, s) => {
      if (this.hidden[s]) return;
      const right = this.box.w - this.box.r - 8;
      ctx.fillStyle = this.color(s);
      ctx.textAlign = "right";
      ctx.fillText(`━ ${n}`, right, y);
      y += 14;
    });
    return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error("no PNG"))), "image/png"));
  }

  /**
   * The address of the plot's CSV at full resolution, streamed by the
   * server (`/live/<name>/data.csv`, beside the plot's WebSocket): `"all"`
   * its points, or the `"view"`: every point in the x range shown, of the
   * series shown. Null for a chart not fed by a server.
   * @param {"view" | "all"} [scope]
   * @returns {string | null}
   */
  csvUrl(scope = "all") {
    if (!this.address) return null;
    /** @type {Record<string, string | number | string[]>} */
    const params = {};
    if (scope === "view" && this.view) {
      const raw = (/** @type {number} */ v) => (this.logx ? 10 ** v : v);
      params.x0 = raw(this.view.x0);
      params.x1 = raw(this.view.x1);
      const shown = this.names.filter((n, s) => !this.hidden[s]);
      if (shown.length < this.names.length) params.series = shown;  // series=a&series=b: one name each
    }
    return dataUrl(this.address, params);
  }

  /**
   * Save the current view as PNG, or the data as CSV, through the browser's
   * download: from the server at full resolution ({@link LiveChart#csvUrl}:
   * the `scope` "view" or "all"), or the points the page holds when no
   * server feeds the chart.
   * @param {"png" | "csv"} kind @param {"view" | "all"} [scope]
   */
  async download(kind, scope = "all") {
    const a = this.element.ownerDocument.createElement("a");
    const url = kind === "csv" ? this.csvUrl(scope) : null;
    if (url) { // streamed by the server to the browser's download, not through this page's memory
      a.href = url;
      a.download = "";
      a.click();
      return;
    }
    const blob = kind === "png" ? await this.toPNG() : new Blob([this.toCSV()], { type: "text/csv" });
    a.href = URL.createObjectURL(blob);
    a.download = `${(this.title || "plot").replace(/[^\w.-]+/g, "_")}.${kind}`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  /** @private @param {number} s @returns {Float64Array} the smoothed y of series s */
  smoothedValues(s) {
    let cache = this.smoothed[s];
    if (!cache || cache.weight !== this.smoothing) {
      cache = { weight: this.smoothing, state: { last: 0, count: 0 }, values: new Column() };
      this.smoothed[s] = cache;
    }
    const ys = this.columns[s].y.values();
    if (cache.values.length < ys.length) cache.values.append(ema(ys.subarray(cache.values.length), cache.weight, cache.state));
    return cache.values.values();
  }

  /**
   * The x range the data asks for (axis units), for this chart alone: the
   * window or all points of the series shown; null without points.
   * @returns {[number, number] | null}
   */
  dataRange() {
    const from = Math.max(windowStart(this.columns, this.window), this.logx ? Number.MIN_VALUE : -Infinity);
    let x0 = Infinity, x1 = -Infinity;
    this.columns.forEach((c, s) => {
      if (this.hidden[s] || !c.x.length) return;
      const xs = c.x.values();
      const first = firstAtOrAfter(xs, from);
      if (first >= xs.length) return;
      x0 = Math.min(x0, xs[first]);
      x1 = Math.max(x1, xs[xs.length - 1]);
    });
    if (!(x1 >= x0)) return null;
    if (Number.isFinite(from)) x0 = Math.min(x0, from);
    return this.logx ? [Math.log10(x0), Math.log10(x1)] : [x0, x1];
  }

  /** Draw at the next animation frame (once, however often it is asked). */
  schedule() {
    if (this.pending || this.paused) return;
    this.pending = true;
    const raf = globalThis.requestAnimationFrame ?? ((/** @type {() => void} */ f) => setTimeout(f, 16));
    raf(() => { this.pending = false; this.draw(); });
  }

  /** Draw now. */
  draw() {
    const canvas = this.canvas;
    const dpr = globalThis.devicePixelRatio || 1;
    const w = canvas.clientWidth || 600;
    const h = canvas.clientHeight || 300;
    if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
    if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    const theme = THEMES[this.theme];
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, w, h);
    const box = { l: this.ylabel ? 70 : 56, r: 12, t: this.title ? 26 : 10, b: this.xlabel ? 38 : 24, w, h };
    this.box = box;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = theme.text;
    if (this.title) {
      ctx.font = "bold 13px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText(this.title, (box.l + w - box.r) / 2, 17);
      ctx.font = "11px system-ui, sans-serif";
    }
    const logx = this.logx, logy = this.log;
    let range = null;
    if (this.zoom) range = [this.zoom.x0, this.zoom.x1];
    else if (this.link) {
      for (const c of this.link.charts) {
        const r = c.logx === logx ? c.dataRange() : null;
        if (r) range = range ? [Math.min(range[0], r[0]), Math.max(range[1], r[1])] : r;
      }
    } else range = this.dataRange();
    if (!range) { ctx.textAlign = "left"; return; }
    let [x0, x1] = range;
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    const columns = Math.max(1, (w - box.l - box.r) * dpr);
    const plan = this.columns.map((c, s) => (this.hidden[s] || !c.x.length ? null : this.parts(s, x0, x1, columns)));
    const fx = (/** @type {number} */ v) => (logx ? (v > 0 ? Math.log10(v) : NaN) : v);
    const fy = (/** @type {number} */ v) => (logy ? (v > 0 ? Math.log10(v) : NaN) : v);
    let y0 = Infinity, y1 = -Infinity;
    if (this.zoom && this.zoom.y0 !== null && this.zoom.y1 !== null) { y0 = this.zoom.y0; y1 = this.zoom.y1; } else {
      for (const p of plan) { // the y range of what is inside the x range (M4 keeps every column's extremes)
        if (!p) continue;
        for (const q of p.parts) {
          const scan = (/** @type {number} */ i) => {
            const x = fx(q.xs[i]), y = fy(q.ys[i]);
            if (x >= x0 && x <= x1 && Number.isFinite(y)) { if (y < y0) y0 = y; if (y > y1) y1 = y; }
          };
          if (q.keep) for (const i of q.keep) scan(i);
          else for (let i = q.i0; i < q.i1; i++) scan(i);
        }
      }
      if (!(y1 >= y0)) { y0 = 0; y1 = 1; }
      if (y1 === y0) { y0 -= 1; y1 += 1; }
      const margin = 0.03 * (y1 - y0); // the extremes stay off the frame
      y0 -= margin; y1 += margin;
    }
    this.view = { x0, x1, y0, y1 };
    const px = (/** @type {number} */ x) => box.l + ((x - x0) / (x1 - x0)) * (w - box.l - box.r);
    const py = (/** @type {number} */ y) => h - box.b - ((y - y0) / (y1 - y0)) * (h - box.t - box.b);
    ctx.strokeStyle = theme.grid;
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    for (const t of axisTicks(y0, y1, logy)) {
      ctx.beginPath(); ctx.moveTo(box.l, py(t.at)); ctx.lineTo(w - box.r, py(t.at)); ctx.stroke();
      ctx.fillText(t.label, box.l - 4, py(t.at) + 4);
    }
    ctx.textAlign = "center";
    for (const t of axisTicks(x0, x1, logx)) {
      ctx.beginPath(); ctx.moveTo(px(t.at), box.t); ctx.lineTo(px(t.at), h - box.b); ctx.stroke();
      ctx.fillText(t.label, px(t.at), h - box.b + 14);
    }
    ctx.strokeStyle = theme.axis;
    ctx.strokeRect(box.l, box.t, w - box.l - box.r, h - box.t - box.b);
    if (this.xlabel) ctx.fillText(this.xlabel, (box.l + w - box.r) / 2, h - 6);
    if (this.ylabel) {
      ctx.save(); ctx.translate(12, (box.t + h - box.b) / 2); ctx.rotate(-Math.PI / 2);
      ctx.fillText(this.ylabel, 0, 0); ctx.restore();
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.l, box.t, w - box.l - box.r, h - box.t - box.b);
    ctx.clip(); // the points beyond the edges are drawn outside, clipped
    const line = (/** @type {Part[]} */ parts) => { // one line through the parts, in order
      ctx.beginPath();
      let started = false;
      for (const { xs, ys, keep, i0, i1 } of parts) {
        const point = (/** @type {number} */ i) => {
          const x = fx(xs[i]), y = fy(ys[i]);
          if (!Number.isFinite(y) || !Number.isFinite(x)) return;
          if (started) ctx.lineTo(px(x), py(y));
          else { ctx.moveTo(px(x), py(y)); started = true; }
        };
        if (keep) for (const i of keep) point(i);
        else for (let i = i0; i < i1; i++) point(i);
      }
      ctx.stroke();
    };
    const counted = (/** @type {Part[]} */ parts) => parts.reduce((n, q) => n + (q.keep ? q.keep.length : q.i1 - q.i0), 0);
    const width = lineWidth(plan.reduce((n, p) => n + (p ? counted(p.parts) : 0), 0));
    plan.forEach((p, s) => {
      if (!p) return;
      ctx.strokeStyle = this.color(s);
      ctx.lineWidth = width;
      ctx.setLineDash(this.overlay[String(s)] !== undefined ? [6, 4] : []);
      ctx.globalAlpha = p.smooth ? 0.25 : 1;
      line(p.parts);
      if (p.smooth) { ctx.globalAlpha = 1; line(p.smooth); }
    });
    ctx.globalAlpha = 1;
    ctx.setLineDash([]);
    ctx.restore();
    const d = this.drag;
    if (d && d.mode !== "pan") { // the range being selected
      ctx.fillStyle = theme.select;
      const box2 = d.mode === "box";
      const top = box2 ? Math.min(d.y, d.at.y) : box.t, bottom = box2 ? Math.max(d.y, d.at.y) : h - box.b;
      ctx.fillRect(Math.min(d.x, d.at.x), top, Math.abs(d.at.x - d.x), bottom - top);
    }
    if (this.hover && !d) this.drawCrosshair(ctx, plan, fx);
    ctx.textAlign = "left";
    this.drawBadge();
    if (this.answerSentAt !== null) {
      this.answerLatency = now() - this.answerSentAt;
      this.answerSentAt = null;
    }
  }

  /** @private */
  drawBadge() {
    const text = this.ratio();
    this.badge.hidden = text === null;
    if (text === null) return;
    if (this.badge.textContent !== text) this.badge.textContent = text;
    this.badge.style.right = `${this.box.r + 4}px`;
    this.badge.style.bottom = `${this.box.b + 4}px`;
  }

  /**
   * What to draw of series `s` in the x range `x0..x1` (axis units) on
   * `columns` pixel columns: the raw line and the smoothed one, each as parts
   * drawn as one line — the page's own points, with the server's answer
   * swapped in for its range (zoomed), and the smoothed line the server
   * computed on full resolution with its live continuation (when it sent
   * one for this weight). Each part keeps one point beyond each edge, so
   * lines enter and leave the plot, and is M4-decimated when the series has
   * more points in range than twice the pixel columns.
   * @private
   * @param {number} s @param {number} x0 @param {number} x1 @param {number} columns
   * @returns {{parts: Part[], smooth: Part[] | null}}
   */
  parts(s, x0, x1, columns) {
    const logx = this.logx, logy = this.log;
    const lo = logx ? 10 ** x0 : x0, hi = logx ? 10 ** x1 : x1;
    const c = this.columns[s], own = c.x.values(), oy = c.y.values();
    const a = this.answer, got = a ? a.series.get(s) : undefined;
    const cut = (/** @type {Part[]} */ out, /** @type {Float64Array} */ xs, /** @type {Float64Array} */ ys,
      /** @type {number} */ from, /** @type {number} */ to) => {
      const i0 = Math.max(from, firstAtOrAfter(xs, lo) - 1), i1 = Math.min(to, firstAtOrAfter(xs, hi) + 1);
      if (i1 > i0) out.push({ xs, ys, i0, i1, keep: null });
    };
    const after = (/** @type {Float64Array} */ xs, /** @type {number} */ x) => { // first index with xs[i] > x
      let i = firstAtOrAfter(xs, x);
      while (i < xs.length && xs[i] === x) i++;
      return i;
    };
    /** The page's own points around `xs` (before its first x and after its last), and xs itself. */
    const around = (/** @type {Part[]} */ out, /** @type {Float64Array} */ ys0, /** @type {Float64Array} */ xs,
      /** @type {Float64Array} */ ys, /** @type {{x: Column, y: Column} | null} */ tail) => {
      cut(out, own, ys0, 0, firstAtOrAfter(own, xs[0]));
      cut(out, xs, ys, 0, xs.length);
      if (tail) cut(out, tail.x.values(), tail.y.values(), 0, tail.x.length);
      else cut(out, own, ys0, after(own, xs[xs.length - 1]), own.length);
    };
    /** @type {Part[]} */
    const parts = [];
    if (got && a && a.zoomed && got.xs.length) around(parts, oy, got.xs, got.ys, null);
    else cut(parts, own, oy, 0, own.length);
    /** @type {Part[] | null} */
    let smooth = null;
    if (this.smoothing > 0) {
      smooth = [];
      const sy = this.smoothedValues(s);
      if (got && got.sx && got.sy && got.sx.length && a && a.weight === this.smoothing) around(smooth, sy, got.sx, got.sy, got.tail);
      else cut(smooth, own, sy, 0, own.length);
    }
    const decimate = (/** @type {Part[]} */ list) => {
      if (list.reduce((n, q) => n + q.i1 - q.i0, 0) <= 2 * columns) return;
      for (const q of list) q.keep = m4(q.xs, q.ys, q.i0, q.i1, x0, x1, columns, logx, logy);
    };
    decimate(parts);
    if (smooth) decimate(smooth);
    return { parts, smooth };
  }

  /**
   * @private
   * @param {CanvasRenderingContext2D} ctx
   * @param {({parts: Part[], smooth: Part[] | null} | null)[]} plan
   * @param {(v: number) => number} fx
   */
  drawCrosshair(ctx, plan, fx) {
    const theme = THEMES[this.theme], b = this.box, hv = /** @type {{x: number, y: number}} */ (this.hover);
    if (hv.x < b.l || hv.x > b.w - b.r || hv.y < b.t || hv.y > b.h - b.b) return;
    const at = this.toData(hv.x, hv.y);
    const rawX = this.logx ? 10 ** at.x : at.x;
    const lines = [`x = ${formatNumber(Number(rawX.toPrecision(6)))}`];
    /** @type {number[]} */
    const shown = [];
    const nearest = (/** @type {Part[]} */ parts) => { // the y of the point nearest to the cursor's x
      let best = NaN, distance = Infinity;
      for (const q of parts) {
        const i = q.i0 + firstAtOrAfter(q.xs.subarray(q.i0, q.i1), rawX);
        for (const j of [i - 1, i]) {
          const d = j >= q.i0 && j < q.i1 ? Math.abs(fx(q.xs[j]) - at.x) : Infinity;
          if (d < distance) { distance = d; best = q.ys[j]; }
        }
      }
      return best;
    };
    plan.forEach((p, s) => {
      if (!p || !p.parts.length) return;
      const value = formatNumber(Number(nearest(p.parts).toPrecision(6)));
      const smooth = p.smooth ? ` (smoothed ${formatNumber(Number(nearest(p.smooth).toPrecision(6)))})` : "";
      lines.push(`${this.names[s] ?? s}: ${value}${smooth}`);
      shown.push(s);
    });
    ctx.strokeStyle = theme.axis;
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(hv.x, b.t); ctx.lineTo(hv.x, b.h - b.b);
    ctx.moveTo(b.l, hv.y); ctx.lineTo(b.w - b.r, hv.y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "left";
    const width = Math.max(...lines.map((l) => ctx.measureText(l).width)) + 10;
    const left = hv.x + 8 + width > b.w - b.r ? hv.x - 8 - width : hv.x + 8;
    ctx.fillStyle = theme.tip;
    ctx.fillRect(left, b.t + 2, width, 14 * lines.length + 6);
    lines.forEach((text, i) => {
      ctx.fillStyle = i ? this.color(shown[i - 1]) : theme.text;
      ctx.fillText(text, left + 5, b.t + 2 + 14 * (i + 1));
    });
  }
}

/** A press held this long (ms) without moving turns into a crosshair drag. */
export const LONG_PRESS_MS = 500;
/** Two taps this close in time (ms) and place ({@link DOUBLE_TAP_PX}) are a double tap. */
export const DOUBLE_TAP_MS = 350;
/** How far (px) apart the two taps of a double tap may be. */
export const DOUBLE_TAP_PX = 30;
/** A finger that moves less than this (px) is still tapping or pressing. */
export const TAP_SLOP_PX = 8;

/**
 * @typedef {{x: number, y: number}} Spot
 * @typedef {{kind: "press" | "pan" | "scrub" | "pinch", start: Map<number, Spot>,
 *   view: {x0: number, x1: number, y0: number, y1: number} | null, y: [number | null, number | null]}} Gesture
 */

/**
 * Touch gestures on a chart's canvas, with Pointer Events (touch only: the
 * mouse keeps the chart's own handlers). One finger drags to pan x; two
 * fingers pinch to zoom around their centre (x for a horizontal pinch, y for
 * a vertical one, both for a diagonal one; see {@link pinchAxes}) and pan as
 * their centre moves; a tap shows the crosshair with every series' value
 * there; a long press ({@link LONG_PRESS_MS}) then drag moves the crosshair
 * with the finger, as finance charts do; a double tap follows the live edge
 * again. The canvas has `touch-action: none`, so the page neither scrolls
 * nor zooms under the chart. Runs in the page.
 */
export class TouchGestures {
  /** @param {LiveChart} chart */
  constructor(chart) {
    this.chart = chart;
    /** @type {Map<number, Spot>} the fingers down: pointer id -> canvas position (CSS px) */
    this.fingers = new Map();
    /** @type {Gesture | null} */
    this.gesture = null;
    /** @type {(Spot & {t: number}) | null} the last tap, for a double tap */
    this.lastTap = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pressTimer = undefined;
    /** when a finger last went down or up (`performance.now()`) */
    this.lastTouch = -Infinity;
    const c = chart.canvas;
    c.addEventListener("pointerdown", (ev) => this.down(ev));
    c.addEventListener("pointermove", (ev) => this.move(ev));
    c.addEventListener("pointerup", (ev) => this.up(ev, false));
    c.addEventListener("pointercancel", (ev) => this.up(ev, true));
  }

  /** True when a finger went down or up in the last `ms` milliseconds. @param {number} ms */
  touchedWithin(ms) {
    return performance.now() - this.lastTouch <= ms;
  }

  /** @private @param {PointerEvent} ev @returns {Spot} */
  spot(ev) {
    const rect = this.chart.canvas.getBoundingClientRect();
    return { x: ev.clientX - rect.left, y: ev.clientY - rect.top };
  }

  /** @private @param {"press" | "pan" | "scrub" | "pinch"} kind @returns {Gesture} */
  begin(kind) {
    const z = this.chart.zoom, v = this.chart.view; // the zoom asked for last may not be drawn yet
    const view = v && (z ? { x0: z.x0, x1: z.x1, y0: z.y0 ?? v.y0, y1: z.y1 ?? v.y1 } : { ...v });
    return { kind, start: new Map(this.fingers), view, y: [z ? z.y0 : null, z ? z.y1 : null] };
  }

  /** @private @param {PointerEvent} ev */
  down(ev) {
    if (ev.pointerType !== "touch") return;
    ev.preventDefault(); // no mouse events made up from this touch
    this.lastTouch = performance.now();
    try { this.chart.canvas.setPointerCapture(ev.pointerId); } catch { /* the pointer is gone already */ }
    this.fingers.set(ev.pointerId, this.spot(ev));
    clearTimeout(this.pressTimer);
    if (this.fingers.size === 1) {
      this.gesture = this.begin("press");
      const at = this.spot(ev);
      this.pressTimer = setTimeout(() => {
        if (this.gesture && this.gesture.kind === "press") { this.gesture.kind = "scrub"; this.showAt(at); }
      }, LONG_PRESS_MS);
    } else if (this.fingers.size === 2) {
      this.gesture = this.begin("pinch");
      this.chart.hover = null;
      this.chart.schedule();
    }
  }

  /** @private @param {PointerEvent} ev */
  move(ev) {
    if (!this.fingers.has(ev.pointerId)) return;
    const now = this.spot(ev);
    this.fingers.set(ev.pointerId, now);
    const g = this.gesture;
    if (!g) return;
    if (g.kind === "press") {
      const was = /** @type {Spot} */ (g.start.get(ev.pointerId));
      if (Math.hypot(now.x - was.x, now.y - was.y) < TAP_SLOP_PX) return;
      clearTimeout(this.pressTimer);
      g.kind = "pan";
      this.chart.hover = null;
    }
    if (g.kind === "scrub") this.showAt(now);
    else this.apply(g);
  }

  /** @private @param {PointerEvent} ev @param {boolean} cancelled */
  up(ev, cancelled) {
    if (!this.fingers.has(ev.pointerId)) return;
    const at = this.spot(ev);
    this.lastTouch = performance.now();
    this.fingers.delete(ev.pointerId);
    const g = this.gesture;
    if (this.fingers.size === 0) {
      clearTimeout(this.pressTimer);
      this.gesture = null;
      if (g && g.kind === "press" && !cancelled) this.tap(at, ev.timeStamp);
    } else if (g && g.kind === "pinch" && this.fingers.size === 1) {
      this.gesture = this.begin("pan"); // the finger left pans on from where it is, without a jump
    }
  }

  /** @private @param {Spot} at @param {number} t */
  tap(at, t) {
    const last = this.lastTap;
    if (last && t - last.t <= DOUBLE_TAP_MS && Math.hypot(at.x - last.x, at.y - last.y) <= DOUBLE_TAP_PX) {
      this.lastTap = null;
      this.chart.hover = null;
      this.chart.follow();
      return;
    }
    this.lastTap = { ...at, t };
    this.showAt(at);
  }

  /** @private @param {Spot} at */
  showAt(at) {
    this.chart.hover = at;
    this.chart.schedule();
  }

  /** The view the fingers ask for now, from the view when the gesture began. @private @param {Gesture} g */
  apply(g) {
    const v = g.view, b = this.chart.box;
    if (!v) return;
    const w = b.w - b.l - b.r, h = b.h - b.t - b.b;
    const ids = [...g.start.keys()].filter((id) => this.fingers.has(id)).slice(0, 2);
    if (!ids.length) return;
    const from = ids.map((id) => /** @type {Spot} */ (g.start.get(id)));
    const to = ids.map((id) => /** @type {Spot} */ (this.fingers.get(id)));
    const mid = (/** @type {Spot[]} */ s, /** @type {"x" | "y"} */ k) => s.reduce((n, p) => n + p[k], 0) / s.length;
    const two = g.kind === "pinch" && ids.length === 2;
    const axes = two ? pinchAxes(from[1].x - from[0].x, from[1].y - from[0].y) : { x: false, y: false };
    const sx = axes.x ? pinchScale(from[1].x - from[0].x, to[1].x - to[0].x) : 1;
    const [x0, x1] = gestureRange(v.x0, v.x1, mid(from, "x") - b.l, mid(to, "x") - b.l, w, sx);
    let y0 = g.y[0], y1 = g.y[1];
    if (axes.y) { // from the plot's bottom up
      const up = (/** @type {number} */ py) => b.h - b.b - py;
      [y0, y1] = gestureRange(v.y0, v.y1, up(mid(from, "y")), up(mid(to, "y")), h,
        pinchScale(from[1].y - from[0].y, to[1].y - to[0].y));
    }
    this.chart.setZoom({ x0, x1, y0, y1 });
  }
}

/**
 * Show a live plot served by nbws (`nbws.LivePlot`) in `element`.
 * @param {HTMLElement} element
 * @param {ConnectOptions & ChartOptions} [options]
 * @returns {LiveChart & {conn: Connection}}
 */
export function liveplot(element, options = {}) {
  const chart = /** @type {LiveChart & {conn: Connection}} */ (new LiveChart(element, options));
  const conn = connect(options);
  chart.sender = (text) => conn.sendText(text);
  chart.address = conn.url;
  let joined = false; // after each (re)connection, the first frame (the history) asks for the view
  conn.on("open", () => { joined = false; });
  conn.topic("meta", (meta) => chart.setMeta(meta));
  conn.on("binary", (/** @type {ArrayBuffer} */ buf) => {
    chart.receive(buf);
    if (!joined) { joined = true; chart.viewChanged(); }
  });
  chart.conn = conn;
  return chart;
}
