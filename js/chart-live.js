// @ts-check
/**
 * chart-live.js — {@link LiveChart}, the chart itself: the points it holds
 * per series, their smoothing and compaction, its view (zoom, pan, follow)
 * and what it asks the server and takes from its answers. How it looks is
 * chart-draw.js, its controls chart-controls.js and chart-touch.js. Served
 * beside chart.js, which exports it (import it from `/_nbws/chart.js`).
 */

import { Column, compaction, dataRange, ema, pointsCSV } from "./chart-math.js";
import { ViewQueries, answerRatio, decodeFrame, readAnswer, viewQuery } from "./chart-view.js";
import { PALETTE, applyTheme, chartPNG, drawChart, resolveTheme, seriesParts } from "./chart-draw.js";
import { buildControls, chartCsvUrl, downloadChart, showLegend, wireControls } from "./chart-controls.js";
import { TouchGestures } from "./chart-touch.js";

/** @typedef {import("./chart.js").LinkGroup} LinkGroup */
/** @typedef {import("./chart-view.js").Frame} Frame */
/** @typedef {import("./chart-view.js").ViewHeader} ViewHeader */
/** @typedef {import("./chart-view.js").ViewQuery} ViewQuery */
/** @typedef {import("./chart-view.js").Answer} Answer */
/** @typedef {import("./chart-draw.js").SeriesPlan} SeriesPlan */
/** @typedef {{x0: number, x1: number, y0: number | null, y1: number | null}} Zoom */
/** @typedef {{series?: string[], window?: number | null, log?: boolean, logx?: boolean, title?: string,
 *   xlabel?: string, ylabel?: string, theme?: string | null, smoothing?: number, link?: LinkGroup,
 *   maxPoints?: number, viewDelay?: number}} ChartOptions */
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
    /** @type {number | null} when the query of the answer not drawn yet was sent ({@link now}) */
    this.answerSentAt = null;
    this.answered = 0;
    const { bar, menu, badge, canvas } = buildControls(element);
    this.bar = bar;
    this.menu = menu;
    this.badge = badge;
    this.canvas = canvas;
    wireControls(this);
    this.touch = new TouchGestures(this);
    this.pending = false;
    applyTheme(this);
    showLegend(this);
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
    const sent = this.queries.take(/** @type {ViewHeader} */ (frame.header).id);
    if (!sent || sent.tag !== (this.zoom !== null)) return; // an older query's, or asked for another mode
    const { answer, decimated } = readAnswer(frame, sent, this.columns);
    for (const s of decimated) this.decimated[s] = true;
    this.answer = answer;
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
    return this.answer ? answerRatio(this.answer, this.hidden, this.window) : null;
  }

  /** True while the view follows the data (not zoomed or panned). */
  get following() {
    return this.zoom === null;
  }

  /** @param {number} series @param {boolean} hidden */
  setHidden(series, hidden) {
    this.hidden[series] = hidden;
    showLegend(this);
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
    applyTheme(this);
    this.schedule();
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
    showLegend(this);
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

  /** The colour of series `s` (an overlay takes its base series' colour). @param {number} s @returns {string} */
  color(s) {
    const base = this.overlay[String(s)];
    return PALETTE[(base ?? s) % PALETTE.length];
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
    return chartPNG(this);
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
    return chartCsvUrl(this, scope);
  }

  /**
   * Save the current view as PNG, or the data as CSV, through the browser's
   * download: from the server at full resolution ({@link LiveChart#csvUrl}:
   * the `scope` "view" or "all"), or the points the page holds when no
   * server feeds the chart.
   * @param {"png" | "csv"} kind @param {"view" | "all"} [scope]
   */
  download(kind, scope = "all") {
    return downloadChart(this, kind, scope);
  }

  /** @param {number} s @returns {Float64Array} the smoothed y of series s (cached, extended as points come) */
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
    return dataRange(this.columns, this.hidden, this.window, this.logx);
  }

  /** Draw at the next animation frame (once, however often it is asked). */
  schedule() {
    if (this.pending || this.paused) return;
    this.pending = true;
    const raf = globalThis.requestAnimationFrame ?? ((/** @type {() => void} */ f) => setTimeout(f, 16));
    raf(() => { this.pending = false; this.draw(); });
  }

  /** Draw now (see {@link drawChart}). */
  draw() {
    drawChart(this);
  }

  /**
   * What to draw of series `s` in the x range `x0..x1` (axis units) on
   * `columns` pixel columns (see {@link seriesParts}).
   * @param {number} s @param {number} x0 @param {number} x1 @param {number} columns
   * @returns {SeriesPlan}
   */
  parts(s, x0, x1, columns) {
    return seriesParts(this, s, x0, x1, columns);
  }
}
