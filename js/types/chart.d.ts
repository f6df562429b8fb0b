/** @typedef {import("./nbws.js").Connection} Connection */
/** @typedef {import("./nbws.js").ConnectOptions} ConnectOptions */
/**
 * Decode a live-plot frame (see nbws/live.py): chunks of
 * "NBLP" | u8 version | u8 kind | u16 series | u32 count | f64 xs | f64 ys.
 * @param {ArrayBuffer} buffer
 * @returns {{series: number, xs: Float64Array, ys: Float64Array}[]}
 */
export function decodePoints(buffer: ArrayBuffer): {
    series: number;
    xs: Float64Array;
    ys: Float64Array;
}[];
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
 * Show a live plot served by nbws (`nbws.LivePlot`) in `element`.
 * @param {HTMLElement} element
 * @param {ConnectOptions & {window?: number | null, log?: boolean}} [options]
 * @returns {LiveChart & {conn: Connection}}
 */
export function liveplot(element: HTMLElement, options?: ConnectOptions & {
    window?: number | null;
    log?: boolean;
}): LiveChart & {
    conn: Connection;
};
/** A growable column of float64 values. */
export class Column {
    data: Float64Array<ArrayBuffer>;
    length: number;
    /** @param {Float64Array} values */
    append(values: Float64Array): void;
    /** @returns {Float64Array} */
    values(): Float64Array;
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
    constructor(element: HTMLElement, options?: {
        series?: string[];
        window?: number | null;
        log?: boolean;
        title?: string;
    });
    element: HTMLElement;
    /** @type {string[]} */
    names: string[];
    /** @type {{x: Column, y: Column}[]} */
    columns: {
        x: Column;
        y: Column;
    }[];
    window: number | null;
    log: boolean;
    paused: boolean;
    title: string;
    /** @type {{x: number, y: number} | null} */
    hover: {
        x: number;
        y: number;
    } | null;
    frames: number;
    /** The ranges drawn last (data units; y in log10 units with `log`), or null before any point.
     * @type {{x0: number, x1: number, y0: number, y1: number} | null} */
    view: {
        x0: number;
        x1: number;
        y0: number;
        y1: number;
    } | null;
    bar: HTMLDivElement;
    canvas: HTMLCanvasElement;
    pending: boolean;
    /** @param {{series: string[], title?: string, window?: number | null}} meta */
    setMeta(meta: {
        series: string[];
        title?: string;
        window?: number | null;
    }): void;
    /** @private */
    private updateLegend;
    /** @param {number} series @param {Float64Array} xs @param {Float64Array} ys */
    addPoints(series: number, xs: Float64Array, ys: Float64Array): void;
    /** Points held, all series. */
    count(): number;
    /** @param {number} series @returns {{x: number[], y: number[]}} the data of one series */
    data(series: number): {
        x: number[];
        y: number[];
    };
    /** @private */
    private schedule;
    /** Draw now. */
    draw(): void;
}
export type Connection = import("./nbws.js").Connection;
export type ConnectOptions = import("./nbws.js").ConnectOptions;
