/**
 * Show a live plot served by nbws (`nbws.LivePlot`) in `element`.
 * @param {HTMLElement} element
 * @param {ConnectOptions & ChartOptions} [options]
 * @returns {LiveChart & {conn: Connection}}
 */
export function liveplot(element: HTMLElement, options?: ConnectOptions & ChartOptions): LiveChart & {
    conn: Connection;
};
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
    /** @type {Set<LiveChart>} */
    charts: Set<LiveChart>;
    /** @param {{x0: number, x1: number} | null} zoom x in axis units, or null: follow */
    setX(zoom: {
        x0: number;
        x1: number;
    } | null): void;
}
export type Connection = import("./nbws.js").Connection;
export type ConnectOptions = import("./nbws.js").ConnectOptions;
export type PointsChunk = import("./chart-view.js").PointsChunk;
export type ViewSeries = import("./chart-view.js").ViewSeries;
export type ViewHeader = import("./chart-view.js").ViewHeader;
export type Frame = import("./chart-view.js").Frame;
export type ViewQuery = import("./chart-view.js").ViewQuery;
export type AnswerSeries = import("./chart-view.js").AnswerSeries;
export type Answer = import("./chart-view.js").Answer;
export type Part = import("./chart-draw.js").Part;
export type SeriesPlan = import("./chart-draw.js").SeriesPlan;
export type Spot = import("./chart-touch.js").Spot;
export type Gesture = import("./chart-touch.js").Gesture;
export type Zoom = import("./chart-live.js").Zoom;
export type ChartOptions = import("./chart-live.js").ChartOptions;
export type ChartMeta = import("./chart-live.js").ChartMeta;
import { LiveChart } from "./chart-live.js";
export { Column, compaction, ticks, windowStart, firstAtOrAfter, m4, axisTicks, formatNumber, zoomAround, DENSE_POINTS, lineWidth, ema, pointsCSV } from "./chart-math.js";
export { decodeFrame, decodePoints, viewQuery, ViewQueries, dataUrl, ratioLabel } from "./chart-view.js";
export { THEMES, resolveTheme } from "./chart-draw.js";
export { gestureRange, PINCH_MIN_PX, pinchScale, pinchAxes, LONG_PRESS_MS, DOUBLE_TAP_MS, DOUBLE_TAP_PX, TAP_SLOP_PX, TouchGestures } from "./chart-touch.js";
