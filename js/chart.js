// @ts-check
/**
 * chart.js — the live-plot chart of nbws, served by every nbws server at
 * `/_nbws/chart.js` (an ES module that imports the connection module,
 * `./nbws.js`, and its own parts, `./chart-*.js`, from beside it). The
 * classic script `/_nbws/nbws.global.js` carries it too (`nbws.liveplot`,
 * `nbws.LiveChart`).
 *
 *     import { liveplot } from "./_nbws/chart.js";
 *     const chart = liveplot(document.getElementById("plot"), { path: "live/<name>/ws" });
 *
 * A dependency-free canvas chart fed by the binary frames of `nbws.LivePlot`
 * (see nbws/live/frames.py): several series, M4 decimation, zoom and pan
 * (mouse and touch), crosshair, legend toggles, log axes, smoothing, themes, PNG / CSV export
 * (see {@link LiveChart}); its settings come on the topic `meta`. This module
 * holds the chart and re-exports every public name of its parts:
 * chart-math.js (columns, M4, ticks, smoothing), chart-view.js (frames and
 * view queries), chart-draw.js (drawing, themes), chart-controls.js (toolbar,
 * mouse, downloads) and chart-touch.js (touch gestures).
 */

import { connect } from "./nbws.js";
import { LiveChart } from "./chart-live.js";

export {
  Column, compaction, ticks, windowStart, firstAtOrAfter, m4, axisTicks, formatNumber, zoomAround, DENSE_POINTS,
  lineWidth, ema, pointsCSV,
} from "./chart-math.js";
export { decodeFrame, decodePoints, viewQuery, ViewQueries, dataUrl, ratioLabel } from "./chart-view.js";
export { THEMES, resolveTheme } from "./chart-draw.js";
export {
  gestureRange, PINCH_MIN_PX, pinchScale, pinchAxes, LONG_PRESS_MS, DOUBLE_TAP_MS, DOUBLE_TAP_PX, TAP_SLOP_PX,
  TouchGestures,
} from "./chart-touch.js";
export { LiveChart } from "./chart-live.js";

/** @typedef {import("./nbws.js").Connection} Connection */
/** @typedef {import("./nbws.js").ConnectOptions} ConnectOptions */
/** @typedef {import("./chart-view.js").PointsChunk} PointsChunk */
/** @typedef {import("./chart-view.js").ViewSeries} ViewSeries */
/** @typedef {import("./chart-view.js").ViewHeader} ViewHeader */
/** @typedef {import("./chart-view.js").Frame} Frame */
/** @typedef {import("./chart-view.js").ViewQuery} ViewQuery */
/** @typedef {import("./chart-view.js").AnswerSeries} AnswerSeries */
/** @typedef {import("./chart-view.js").Answer} Answer */
/** @typedef {import("./chart-draw.js").Part} Part */
/** @typedef {import("./chart-draw.js").SeriesPlan} SeriesPlan */
/** @typedef {import("./chart-touch.js").Spot} Spot */
/** @typedef {import("./chart-touch.js").Gesture} Gesture */
/** @typedef {import("./chart-live.js").Zoom} Zoom */
/** @typedef {import("./chart-live.js").ChartOptions} ChartOptions */
/** @typedef {import("./chart-live.js").ChartMeta} ChartMeta */

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
