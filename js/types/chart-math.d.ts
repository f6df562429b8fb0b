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
export function compaction(xs: Float64Array, ys: Float64Array, cap: number): {
    upTo: number;
    keep: Uint32Array;
} | null;
/**
 * Nice axis ticks between lo and hi.
 * @param {number} lo @param {number} hi @param {number} [count]
 * @returns {number[]}
 */
export function ticks(lo: number, hi: number, count?: number): number[];
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
export function windowStart(columns: {
    x: Column;
}[], n: number | null): number;
/**
 * Index of the first value `>= x` in increasing `xs` (`xs.length` if none).
 * @param {Float64Array} xs @param {number} x
 * @returns {number}
 */
export function firstAtOrAfter(xs: Float64Array, x: number): number;
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
export function m4(xs: Float64Array, ys: Float64Array, i0: number, i1: number, x0: number, x1: number, width: number, logx?: boolean, logy?: boolean): Uint32Array;
/**
 * The ticks of an axis between `lo` and `hi` in axis units (log10 units when
 * `log`), each with its label: round numbers on a linear axis; on a log axis
 * whole decades (`0.01` … `1000`, `1e8`) when the range spans at least one,
 * else round values (`0.04`, `0.06` …) placed at their log10.
 * @param {number} lo @param {number} hi @param {boolean} [log] @param {number} [count]
 * @returns {{at: number, label: string}[]}
 */
export function axisTicks(lo: number, hi: number, log?: boolean, count?: number): {
    at: number;
    label: string;
}[];
/**
 * A short label for a number: plain up to 6 significant digits, exponent
 * notation for very small or large magnitudes (`digits` significant digits, 4 by default).
 * @param {number} v @param {number} [digits]
 * @returns {string}
 */
export function formatNumber(v: number, digits?: number): string;
/**
 * A range zoomed by `factor` around `at` (all in axis units): `factor` < 1
 * zooms in, > 1 out; `at` stays where it is on the screen.
 * @param {number} lo @param {number} hi @param {number} at @param {number} factor
 * @returns {[number, number]}
 */
export function zoomAround(lo: number, hi: number, at: number, factor: number): [number, number];
/**
 * The width of the series' lines (CSS px) in a frame that draws `points`
 * points in all: 1.5, or 1 past {@link DENSE_POINTS}. Dense lines look the
 * same either way, and a software rasteriser (no GPU: headless browsers,
 * VMs, remote desktops) strokes 1 px lines several times faster: 50 series
 * of 1,700 points took 30 ms a frame at 1.5 px, blocking the page.
 * @param {number} points
 * @returns {number}
 */
export function lineWidth(points: number): number;
/**
 * TensorBoard's smoothing: a debiased exponential moving average with weight
 * `weight` (0: none; 0.99: heavy). Values that are not finite pass through
 * and do not move the average. Incremental: pass the `state` of the previous
 * call to go on from where it stopped.
 * @param {ArrayLike<number>} ys @param {number} weight
 * @param {{last: number, count: number}} [state]
 * @returns {Float64Array}
 */
export function ema(ys: ArrayLike<number>, weight: number, state?: {
    last: number;
    count: number;
}): Float64Array;
/**
 * The CSV of a chart's data: `series,x,y`, one row per point, every series in
 * order (the format `nbws.LivePlot.load` reads).
 * @param {string[]} names @param {{x: Column, y: Column}[]} columns
 * @returns {string}
 */
export function pointsCSV(names: string[], columns: {
    x: Column;
    y: Column;
}[]): string;
/**
 * The x range (axis units: log10 with `logx`) the data asks for: the window
 * of the last `window` points (see {@link windowStart}) or all points, of the
 * series not `hidden`; null without points.
 * @param {{x: Column}[]} columns @param {boolean[]} hidden @param {number | null} window @param {boolean} logx
 * @returns {[number, number] | null}
 */
export function dataRange(columns: {
    x: Column;
}[], hidden: boolean[], window: number | null, logx: boolean): [number, number] | null;
/**
 * chart-math.js — the chart's numbers, without a canvas or a server: the
 * growable columns it holds points in and their compaction, M4 decimation,
 * axis ticks and labels, zooming, line widths, smoothing (the debiased EMA)
 * and the CSV of the points. Served beside chart.js, which re-exports every
 * name (import them from `/_nbws/chart.js`).
 */
/** A growable column of float64 values. */
export class Column {
    data: Float64Array<ArrayBuffer>;
    length: number;
    /** @param {Float64Array} values */
    append(values: Float64Array): void;
    /** @returns {Float64Array} */
    values(): Float64Array;
    /**
     * Replace the values before index `upTo` with the values at `keep`
     * (increasing indexes below `upTo`), in place; the values from `upTo` on
     * follow them.
     * @param {number} upTo @param {ArrayLike<number>} keep
     */
    replaceHead(upTo: number, keep: ArrayLike<number>): void;
}
/** Points drawn in one frame (all series) past which lines are 1 px wide instead of 1.5. */
export const DENSE_POINTS: 20000;
