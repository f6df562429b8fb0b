// @ts-check
/**
 * chart-view.js — the view protocol between the chart and its server
 * (nbws/live): the binary frames (live points, and the answers to view
 * queries), the view queries and their debouncing, and the address of a
 * plot's full-resolution CSV. Served beside chart.js, which re-exports every
 * name (import them from `/_nbws/chart.js`).
 */

import { Column, firstAtOrAfter } from "./chart-math.js";

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

/** The time now (ms, `performance.now()` where there is one). @returns {number} */
export function now() {
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

/**
 * The server's answer to the view query sent last, per series: its points
 * in the range (every one, or their M4), the smoothed line computed on full
 * resolution (kind 3) and its continuation over the live points since.
 * @typedef {{xs: Float64Array, ys: Float64Array, sx: Float64Array | null, sy: Float64Array | null, points: number,
 *   live: number, tail: {x: Column, y: Column, state: {last: number, count: number}} | null}} AnswerSeries
 * @typedef {{id: number, zoomed: boolean, x0: number, x1: number, width: number, weight: number,
 *   series: Map<number, AnswerSeries>}} Answer
 */

/**
 * The answer a frame with a view header brings to the query `sent` (tag:
 * asked while zoomed): per series, its points in range, its smoothed line
 * and that line's continuation, which starts at the newest point of the
 * page's copy (`columns`) as the server's EMA state is at the end of the
 * series. For an overview (not zoomed), `decimated` lists the series whose
 * page copy holds fewer points in the range than the server does.
 * @param {Frame} frame @param {{query: ViewQuery, tag: boolean}} sent @param {{x: Column}[]} columns
 * @returns {{answer: Answer, decimated: number[]}}
 */
export function readAnswer(frame, sent, columns) {
  const header = /** @type {ViewHeader} */ (frame.header);
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
    const own = columns[c.series];
    const newest = own && own.x.length ? own.x.data[own.x.length - 1] : NaN;
    if (state.count > 0 && (!c.xs.length || newest > c.xs[c.xs.length - 1])) {
      tail.x.append(new Float64Array([newest]));
      tail.y.append(new Float64Array([state.last / (1 - weight ** state.count)]));
    }
    a.tail = tail;
  }
  /** @type {number[]} */
  const decimated = [];
  if (!sent.tag) { // following: the header says whether the page's copy holds every point
    const lo = sent.query.x0, hi = sent.query.x1;
    for (const [s, a] of series) {
      const c = columns[s];
      if (!c) continue;
      const xs = c.x.values();
      if (firstAtOrAfter(xs, hi + Math.abs(hi) * 1e-12 + Number.MIN_VALUE) - firstAtOrAfter(xs, lo) < a.points) decimated.push(s);
    }
  }
  const answer = { id: header.id, zoomed: sent.tag, x0: header.x0, x1: header.x1, width: header.width, weight, series };
  return { answer, decimated };
}

/**
 * The badge's text for an answer (see `LiveChart.ratio` in chart.js): how many
 * points one of its pixel columns stands for, over the series shown.
 * @param {Answer} answer @param {boolean[]} hidden @param {number | null} window
 * @returns {string | null}
 */
export function answerRatio(answer, hidden, window) {
  let most = 0;
  for (const [s, info] of answer.series) {
    if (hidden[s]) continue;
    if (answer.zoomed) most = Math.max(most, info.points);
    else if (window === null) most = Math.max(most, info.points + info.live);
    else most = Math.max(most, Math.min(window, info.points + info.live));
  }
  return ratioLabel(most, answer.width); // the pixel columns the server reduced to (device pixels)
}
