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
 * A dependency-free canvas chart (several series, auto-scaled axes, legend,
 * hover values, pause/resume, log scale, a window of the last N points) fed by
 * the binary frames of `nbws.LivePlot` (see nbws/live.py); its settings come
 * on the topic `meta`.
 */

import { connect } from "./nbws.js";

/** @typedef {import("./nbws.js").Connection} Connection */
/** @typedef {import("./nbws.js").ConnectOptions} ConnectOptions */

/**
 * Decode a live-plot frame (see nbws/live.py): chunks of
 * "NBLP" | u8 version | u8 kind | u16 series | u32 count | f64 xs | f64 ys.
 * @param {ArrayBuffer} buffer
 * @returns {{series: number, xs: Float64Array, ys: Float64Array}[]}
 */
export function decodePoints(buffer) {
  const view = new DataView(buffer);
  /** @type {{series: number, xs: Float64Array, ys: Float64Array}[]} */
  const out = [];
  let pos = 0;
  while (pos + 12 <= buffer.byteLength) {
    const magic = String.fromCharCode(view.getUint8(pos), view.getUint8(pos + 1), view.getUint8(pos + 2), view.getUint8(pos + 3));
    if (magic !== "NBLP" || view.getUint8(pos + 4) !== 1 || view.getUint8(pos + 5) !== 0) throw new Error("not a live-plot frame");
    const series = view.getUint16(pos + 6, true);
    const count = view.getUint32(pos + 8, true);
    pos += 12;
    const xs = float64s(buffer, view, pos, count);
    pos += 8 * count;
    const ys = float64s(buffer, view, pos, count);
    pos += 8 * count;
    out.push({ series, xs, ys });
  }
  return out;
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
 * A dependency-free streaming chart on a canvas: several series, auto-scaled
 * axes, legend, hover value, pause/resume, log scale, and a window: the x
 * range of the last N points of the series pushed most often, shared by every
 * series (see {@link windowStart}), or all points.
 */
export class LiveChart {
  /**
   * @param {HTMLElement} element where to draw (filled with a canvas and controls)
   * @param {{series?: string[], window?: number | null, log?: boolean, title?: string}} [options]
   */
  constructor(element, options = {}) {
    this.element = element;
    /** @type {string[]} */
    this.names = options.series ?? [];
    /** @type {{x: Column, y: Column}[]} */
    this.columns = this.names.map(() => ({ x: new Column(), y: new Column() }));
    this.window = options.window ?? null;
    this.log = options.log ?? false;
    this.paused = false;
    this.title = options.title ?? "";
    /** @type {{x: number, y: number} | null} */
    this.hover = null;
    this.frames = 0;
    /** The ranges drawn last (data units; y in log10 units with `log`), or null before any point.
     * @type {{x0: number, x1: number, y0: number, y1: number} | null} */
    this.view = null;
    const doc = element.ownerDocument;
    this.bar = doc.createElement("div");
    this.bar.style.cssText = "display:flex;gap:8px;align-items:center;padding:4px 8px;font:12px system-ui";
    this.bar.innerHTML = '<b class="t"></b><span class="legend" style="flex:1"></span>' +
      '<label><input type="checkbox" class="log"> log</label>' +
      '<select class="win"><option value="">all</option><option>100</option><option>1000</option><option>10000</option></select>' +
      '<button class="pause">pause</button>';
    this.canvas = doc.createElement("canvas");
    this.canvas.style.cssText = "width:100%;height:calc(100% - 30px);display:block";
    element.append(this.bar, this.canvas);
    const q = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (this.bar.querySelector(sel));
    const pause = /** @type {HTMLButtonElement} */ (q(".pause"));
    pause.onclick = () => {
      this.paused = !this.paused;
      pause.textContent = this.paused ? "resume" : "pause";
      this.schedule();
    };
    const log = /** @type {HTMLInputElement} */ (q(".log"));
    log.checked = this.log;
    log.onchange = () => { this.log = log.checked; this.schedule(); };
    const win = /** @type {HTMLSelectElement} */ (q(".win"));
    win.onchange = () => { this.window = win.value ? Number(win.value) : null; this.schedule(); };
    this.canvas.onmousemove = (ev) => { this.hover = { x: ev.offsetX, y: ev.offsetY }; this.schedule(); };
    this.canvas.onmouseleave = () => { this.hover = null; this.schedule(); };
    this.pending = false;
    this.updateLegend();
  }

  /** @param {{series: string[], title?: string, window?: number | null}} meta */
  setMeta(meta) {
    this.names = meta.series;
    while (this.columns.length < this.names.length) this.columns.push({ x: new Column(), y: new Column() });
    if (meta.title) this.title = meta.title;
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
    this.schedule();
  }

  /** @private */
  updateLegend() {
    const t = this.bar.querySelector(".t");
    if (t) t.textContent = this.title;
    const legend = this.bar.querySelector(".legend");
    if (legend) {
      legend.innerHTML = this.names.map((n, i) =>
        `<span style="color:${PALETTE[i % PALETTE.length]}">━ ${n.replace(/[<&]/g, "")}</span>`).join(" ");
    }
  }

  /** @param {number} series @param {Float64Array} xs @param {Float64Array} ys */
  addPoints(series, xs, ys) {
    while (this.columns.length <= series) this.columns.push({ x: new Column(), y: new Column() });
    this.columns[series].x.append(xs);
    this.columns[series].y.append(ys);
    this.frames += 1;
    this.schedule();
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

  /** @private */
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
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
    const fy = (/** @type {number} */ v) => (this.log ? (v > 0 ? Math.log10(v) : NaN) : v);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    const from = windowStart(this.columns, this.window);
    const views = this.columns.map((c) => {
      const all = c.x.values();
      const first = firstAtOrAfter(all, from);
      // one point before the window too, so a line enters from the left edge
      const start = Math.max(0, first - 1);
      const xs = all.subarray(start);
      const ys = c.y.values().subarray(start);
      for (let i = first - start; i < xs.length; i++) {
        const y = fy(ys[i]);
        if (!Number.isFinite(y)) continue;
        if (xs[i] < x0) x0 = xs[i];
        if (xs[i] > x1) x1 = xs[i];
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
      return { xs, ys };
    });
    const pad = { l: 56, r: 12, t: 10, b: 24 };
    if (!(x1 >= x0)) return;
    if (Number.isFinite(from)) x0 = Math.min(x0, from);
    if (x1 === x0) { x0 -= 1; x1 += 1; }
    if (y1 === y0) { y0 -= 1; y1 += 1; }
    this.view = { x0, x1, y0, y1 };
    const px = (/** @type {number} */ x) => pad.l + ((x - x0) / (x1 - x0)) * (w - pad.l - pad.r);
    const py = (/** @type {number} */ y) => h - pad.b - ((y - y0) / (y1 - y0)) * (h - pad.t - pad.b);
    ctx.strokeStyle = "#ddd";
    ctx.fillStyle = "#444";
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    for (const t of ticks(y0, y1)) {
      ctx.beginPath(); ctx.moveTo(pad.l, py(t)); ctx.lineTo(w - pad.r, py(t)); ctx.stroke();
      ctx.fillText(this.log ? `1e${t}` : String(t), 4, py(t) + 4);
    }
    for (const t of ticks(x0, x1)) ctx.fillText(String(t), px(t) - 10, h - 6);
    ctx.save();
    ctx.beginPath();
    ctx.rect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
    ctx.clip(); // the point before the window is drawn outside, clipped
    views.forEach(({ xs, ys }, s) => {
      ctx.strokeStyle = PALETTE[s % PALETTE.length];
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      const columns = (w - pad.l - pad.r) * dpr;
      let started = false;
      const point = (/** @type {number} */ i) => {
        const y = fy(ys[i]);
        if (!Number.isFinite(y)) return;
        if (started) ctx.lineTo(px(xs[i]), py(y));
        else { ctx.moveTo(px(xs[i]), py(y)); started = true; }
      };
      if (xs.length > 2 * columns) { // more points than pixels: each column's first, min, max and last
        for (const i of m4(xs, ys, 0, xs.length, x0, x1, columns, false, this.log)) point(i);
      } else {
        for (let i = 0; i < xs.length; i++) point(i);
      }
      ctx.stroke();
    });
    ctx.restore();
    if (this.hover) {
      const hx = x0 + ((this.hover.x - pad.l) / (w - pad.l - pad.r)) * (x1 - x0);
      const lines = [`x = ${hx.toPrecision(6)}`];
      views.forEach(({ xs, ys }, s) => {
        if (!xs.length) return;
        let lo = 0, hi = xs.length - 1;
        while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid] < hx) lo = mid + 1; else hi = mid; }
        lines.push(`${this.names[s] ?? s}: ${ys[lo].toPrecision(6)}`);
      });
      ctx.strokeStyle = "#999";
      ctx.beginPath(); ctx.moveTo(this.hover.x, pad.t); ctx.lineTo(this.hover.x, h - pad.b); ctx.stroke();
      ctx.fillStyle = "rgba(255,255,255,.9)";
      ctx.fillRect(this.hover.x + 6, pad.t, 150, 14 * lines.length + 6);
      ctx.fillStyle = "#222";
      lines.forEach((line, i) => ctx.fillText(line, this.hover ? this.hover.x + 10 : 0, pad.t + 14 * (i + 1)));
    }
  }
}

/**
 * Show a live plot served by nbws (`nbws.LivePlot`) in `element`.
 * @param {HTMLElement} element
 * @param {ConnectOptions & {window?: number | null, log?: boolean}} [options]
 * @returns {LiveChart & {conn: Connection}}
 */
export function liveplot(element, options = {}) {
  const chart = /** @type {LiveChart & {conn: Connection}} */ (new LiveChart(element, options));
  const conn = connect(options);
  conn.topic("meta", (meta) => chart.setMeta(meta));
  conn.on("binary", (/** @type {ArrayBuffer} */ buf) => {
    for (const chunk of decodePoints(buf)) chart.addPoints(chunk.series, chunk.xs, chunk.ys);
  });
  chart.conn = conn;
  return chart;
}
