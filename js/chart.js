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
 * The ticks of an axis between `lo` and `hi` in axis units (log10 units when
 * `log`), each with its label: round numbers on a linear axis; on a log axis
 * whole decades (`0.01` … `1000`, `1e8`) when the range spans at least one,
 * else round values (`0.04`, `0.06` …) placed at their log10.
 * @param {number} lo @param {number} hi @param {boolean} [log] @param {number} [count]
 * @returns {{at: number, label: string}[]}
 */
export function axisTicks(lo, hi, log = false, count = 5) {
  if (!log) return ticks(lo, hi, count).map((t) => ({ at: t, label: formatNumber(t) }));
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
 * notation for very small or large magnitudes.
 * @param {number} v
 * @returns {string}
 */
export function formatNumber(v) {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return Number(v.toPrecision(4)).toExponential().replace("e+", "e");
  return String(Number(v.toPrecision(6)));
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
      c.schedule();
    }
  }
}

/** @typedef {{x0: number, x1: number, y0: number | null, y1: number | null}} Zoom */
/** @typedef {{series?: string[], window?: number | null, log?: boolean, logx?: boolean, title?: string,
 *   xlabel?: string, ylabel?: string, theme?: string | null, smoothing?: number, link?: LinkGroup}} ChartOptions */
/** @typedef {{series: string[], title?: string, window?: number | null, xlabel?: string, ylabel?: string,
 *   theme?: string, overlay?: Record<string, number>, logx?: boolean, logy?: boolean}} ChartMeta */

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
    const doc = element.ownerDocument;
    this.bar = doc.createElement("div");
    this.bar.style.cssText = "display:flex;flex-wrap:wrap;gap:4px 10px;align-items:center;padding:4px 8px;font:12px system-ui,sans-serif";
    this.bar.innerHTML = '<span class="legend" style="flex:1;display:flex;flex-wrap:wrap;gap:2px 10px"></span>' +
      '<label title="exponential moving average (TensorBoard\'s)">smooth <input type="range" class="smooth" min="0" max="0.99" step="0.01" style="width:70px;vertical-align:middle"> <span class="smooth-value"></span></label>' +
      '<label><input type="checkbox" class="logx"> log x</label><label><input type="checkbox" class="log"> log y</label>' +
      '<select class="win" title="show the last N points"><option value="">all</option><option>100</option><option>1000</option><option>10000</option></select>' +
      '<button class="pause">pause</button><button class="png" title="the current view as PNG">PNG</button><button class="csv" title="the data as CSV">CSV</button>';
    this.canvas = doc.createElement("canvas");
    this.canvas.style.cssText = "width:100%;flex:1;min-height:0;display:block;touch-action:none;cursor:crosshair";
    element.style.display = "flex";
    element.style.flexDirection = "column";
    element.append(this.bar, this.canvas);
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
    q(".csv").onclick = () => { void this.download("csv"); };
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
    this.schedule();
  }

  /** Follow the data again (the live edge, or the window): what a double-click does. */
  follow() {
    if (this.link) this.link.setX(null);
    this.zoom = null;
    this.schedule();
  }

  /** True while the view follows the data (not zoomed or panned). */
  get following() {
    return this.zoom === null;
  }

  /** @param {number} series @param {boolean} hidden */
  setHidden(series, hidden) {
    this.hidden[series] = hidden;
    this.updateLegend();
    this.schedule();
  }

  /** @param {number} weight 0 (off) to 0.99: TensorBoard's smoothing */
  setSmoothing(weight) {
    this.smoothing = Math.min(0.999, Math.max(0, weight));
    const label = this.bar.querySelector(".smooth-value");
    if (label) label.textContent = this.smoothing ? this.smoothing.toFixed(2) : "";
    const input = /** @type {HTMLInputElement | null} */ (this.bar.querySelector(".smooth"));
    if (input && Number(input.value) !== this.smoothing) input.value = String(this.smoothing);
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
  }

  /** @param {ChartMeta} meta */
  setMeta(meta) {
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
    this.columns[series].x.append(xs);
    this.columns[series].y.append(ys);
    this.frames += 1;
    if (this.link) for (const c of this.link.charts) c.schedule();
    else this.schedule();
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
   * Save the current view as PNG, or the data as CSV, through the browser's download.
   * @param {"png" | "csv"} kind
   */
  async download(kind) {
    const blob = kind === "png" ? await this.toPNG() : new Blob([this.toCSV()], { type: "text/csv" });
    const a = this.element.ownerDocument.createElement("a");
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
    const raw = (/** @type {number} */ v) => (logx ? 10 ** v : v);
    const smooth = this.smoothing > 0;
    // per series: the indexes to draw (M4 when there are more points than pixel columns)
    const plan = this.columns.map((c, s) => {
      if (this.hidden[s] || !c.x.length) return null;
      const xs = c.x.values(), ys = c.y.values();
      // one point beyond each edge too, so a line enters and leaves the plot
      const i0 = Math.max(0, firstAtOrAfter(xs, raw(x0)) - 1);
      const i1 = Math.min(xs.length, firstAtOrAfter(xs, raw(x1)) + 1);
      const sy = smooth ? this.smoothedValues(s) : null;
      const many = i1 - i0 > 2 * columns;
      return {
        s, xs, ys, i0, i1, sy,
        keep: many ? m4(xs, ys, i0, i1, x0, x1, columns, logx, logy) : null,
        skeep: many && sy ? m4(xs, sy, i0, i1, x0, x1, columns, logx, logy) : null,
      };
    });
    const fx = (/** @type {number} */ v) => (logx ? (v > 0 ? Math.log10(v) : NaN) : v);
    const fy = (/** @type {number} */ v) => (logy ? (v > 0 ? Math.log10(v) : NaN) : v);
    let y0 = Infinity, y1 = -Infinity;
    if (this.zoom && this.zoom.y0 !== null && this.zoom.y1 !== null) { y0 = this.zoom.y0; y1 = this.zoom.y1; } else {
      for (const p of plan) { // the y range of what is inside the x range (M4 keeps every column's extremes)
        if (!p) continue;
        const scan = (/** @type {number} */ i) => {
          const x = fx(p.xs[i]), y = fy(p.ys[i]);
          if (x >= x0 && x <= x1 && Number.isFinite(y)) { if (y < y0) y0 = y; if (y > y1) y1 = y; }
        };
        if (p.keep) for (const i of p.keep) scan(i);
        else for (let i = p.i0; i < p.i1; i++) scan(i);
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
    const line = (/** @type {Float64Array} */ xs, /** @type {Float64Array} */ ys,
      /** @type {Uint32Array | null} */ keep, /** @type {number} */ i0, /** @type {number} */ i1) => {
      ctx.beginPath();
      let started = false;
      const point = (/** @type {number} */ i) => {
        const x = fx(xs[i]), y = fy(ys[i]);
        if (!Number.isFinite(y) || !Number.isFinite(x)) return;
        if (started) ctx.lineTo(px(x), py(y));
        else { ctx.moveTo(px(x), py(y)); started = true; }
      };
      if (keep) for (const i of keep) point(i);
      else for (let i = i0; i < i1; i++) point(i);
      ctx.stroke();
    };
    const width = lineWidth(plan.reduce((n, p) => n + (p ? (p.keep ? p.keep.length : p.i1 - p.i0) : 0), 0));
    for (const p of plan) {
      if (!p) continue;
      ctx.strokeStyle = this.color(p.s);
      ctx.lineWidth = width;
      ctx.setLineDash(this.overlay[String(p.s)] !== undefined ? [6, 4] : []);
      ctx.globalAlpha = p.sy ? 0.25 : 1;
      line(p.xs, p.ys, p.keep, p.i0, p.i1);
      if (p.sy) { ctx.globalAlpha = 1; line(p.xs, p.sy, p.skeep, p.i0, p.i1); }
    }
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
  }

  /**
   * @private
   * @param {CanvasRenderingContext2D} ctx
   * @param {({s: number, xs: Float64Array, ys: Float64Array, sy: Float64Array | null} | null)[]} plan
   * @param {(v: number) => number} fx
   */
  drawCrosshair(ctx, plan, fx) {
    const theme = THEMES[this.theme], b = this.box, hv = /** @type {{x: number, y: number}} */ (this.hover);
    if (hv.x < b.l || hv.x > b.w - b.r || hv.y < b.t || hv.y > b.h - b.b) return;
    const at = this.toData(hv.x, hv.y);
    const rawX = this.logx ? 10 ** at.x : at.x;
    const lines = [`x = ${formatNumber(Number(rawX.toPrecision(6)))}`];
    for (const p of plan) {
      if (!p || !p.xs.length) continue;
      let i = Math.min(p.xs.length - 1, firstAtOrAfter(p.xs, rawX));
      if (i > 0 && Math.abs(fx(p.xs[i - 1]) - at.x) <= Math.abs(fx(p.xs[i]) - at.x)) i -= 1;
      const value = formatNumber(Number(p.ys[i].toPrecision(6)));
      lines.push(`${this.names[p.s] ?? p.s}: ${value}` + (p.sy ? ` (smoothed ${formatNumber(Number(p.sy[i].toPrecision(6)))})` : ""));
    }
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
      const s = plan.filter((p) => p && p.xs.length)[i - 1];
      ctx.fillStyle = i && s ? this.color(s.s) : theme.text;
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
  conn.topic("meta", (meta) => chart.setMeta(meta));
  conn.on("binary", (/** @type {ArrayBuffer} */ buf) => {
    for (const chunk of decodePoints(buf)) chart.addPoints(chunk.series, chunk.xs, chunk.ys);
  });
  chart.conn = conn;
  return chart;
}
