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
export function decodeFrame(buffer: ArrayBuffer): Frame;
/**
 * The live points (kind 0) of a live-plot frame; the chunks of a view answer
 * (kinds 1 to 3, see {@link decodeFrame}) are left out.
 * @param {ArrayBuffer} buffer
 * @returns {PointsChunk[]}
 */
export function decodePoints(buffer: ArrayBuffer): PointsChunk[];
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
export function viewQuery(x0: number, x1: number, logx: boolean, width: number, series: number[] | null, smooth: number): ViewQuery | null;
/** The time now (ms, `performance.now()` where there is one). @returns {number} */
export function now(): number;
/**
 * The address of a plot's full-resolution CSV (`/live/<name>/data.csv`)
 * beside its WebSocket address (`ws[s]://…/live/<name>/ws?token=…`), so it
 * goes through the same proxy prefix and carries the same token; `params`
 * are added to its query (a list: one parameter per item, as `series=`
 * takes one name each, commas and all).
 * @param {string} wsAddress @param {Record<string, string | number | string[]>} [params]
 * @returns {string}
 */
export function dataUrl(wsAddress: string, params?: Record<string, string | number | string[]>): string;
/**
 * The badge of a decimated view: "1 px ≈ 5,000 points" when more than 4
 * points per pixel column are in range (the server sends every point up to
 * that), else null.
 * @param {number} points @param {number} width pixel columns
 * @returns {string | null}
 */
export function ratioLabel(points: number, width: number): string | null;
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
export function readAnswer(frame: Frame, sent: {
    query: ViewQuery;
    tag: boolean;
}, columns: {
    x: Column;
}[]): {
    answer: Answer;
    decimated: number[];
};
/**
 * The badge's text for an answer (see `LiveChart.ratio` in chart.js): how many
 * points one of its pixel columns stands for, over the series shown.
 * @param {Answer} answer @param {boolean[]} hidden @param {number | null} window
 * @returns {string | null}
 */
export function answerRatio(answer: Answer, hidden: boolean[], window: number | null): string | null;
/**
 * View queries to the server, debounced: {@link ViewQueries#ask} (again and
 * again while a gesture goes on) sends one query `delay` ms after the last
 * ask, numbered 1, 2, … (wrapping at 2**31); only the answer to the query
 * sent last is accepted, so answers to older queries are ignored.
 * @template T a tag kept with each query (what it was asked for)
 */
export class ViewQueries<T> {
    /**
     * @param {(text: string) => void} send
     * @param {number} [delay] ms after the last ask
     * @param {{set: (f: () => void, ms: number) => unknown, clear: (timer: any) => void}} [timers]
     */
    constructor(send: (text: string) => void, delay?: number, timers?: {
        set: (f: () => void, ms: number) => unknown;
        clear: (timer: any) => void;
    });
    send: (text: string) => void;
    delay: number;
    timers: {
        set: (f: () => void, ms: number) => unknown;
        clear: (timer: any) => void;
    };
    id: number;
    /** @type {unknown} */
    timer: unknown;
    /** @type {(() => {query: ViewQuery, tag: T} | null) | null} */
    build: (() => {
        query: ViewQuery;
        tag: T;
    } | null) | null;
    /** @type {{id: number, query: ViewQuery, tag: T, at: number} | null} the query sent last, until answered or cancelled */
    sent: {
        id: number;
        query: ViewQuery;
        tag: T;
        at: number;
    } | null;
    /**
     * Send the query `build()` returns (null: none) `delay` ms from now,
     * unless another ask comes first; the query is built when it is sent.
     * @param {() => {query: ViewQuery, tag: T} | null} build
     */
    ask(build: () => {
        query: ViewQuery;
        tag: T;
    } | null): void;
    /** Send the query asked for now (what the timer does). */
    flush(): void;
    /** Forget the query waiting and the one sent: no answer is accepted until the next is sent. */
    cancel(): void;
    /**
     * The query an answer numbered `id` answers, when it is the one sent last
     * (and not answered yet); null for an older or unknown one.
     * @param {number} id
     * @returns {{id: number, query: ViewQuery, tag: T, at: number} | null}
     */
    take(id: number): {
        id: number;
        query: ViewQuery;
        tag: T;
        at: number;
    } | null;
    /** True while a query waits to be sent or for its answer. */
    get busy(): boolean;
}
export type PointsChunk = {
    series: number;
    xs: Float64Array;
    ys: Float64Array;
};
/**
 * One series of a view answer's header: the points of that series in the
 * asked range at full resolution, and the state of its smoothing (the
 * debiased EMA) at the end of the whole series, for the asked weight.
 */
export type ViewSeries = {
    series: number;
    points: number;
    emaLast: number;
    emaCount: number;
};
export type ViewHeader = {
    id: number;
    x0: number;
    x1: number;
    width: number;
    series: ViewSeries[];
};
/**
 * A decoded live-plot frame: live points (kind 0), or the server's answer to
 * a view query (a kind-2 header, kind-1 points, kind-3 smoothed points).
 */
export type Frame = {
    points: PointsChunk[];
    header: ViewHeader | null;
    view: PointsChunk[];
    smoothed: PointsChunk[];
};
/**
 * A view query as sent to the server (see nbws/live, issue 18): the x range
 * in data units, the pixel columns, the series shown, the smoothing weight,
 * and `logx` on a log x axis (the server's columns are then equal in log10 units).
 */
export type ViewQuery = {
    x0: number;
    x1: number;
    width: number;
    series?: number[];
    smooth?: number;
    logx?: boolean;
};
/**
 * The server's answer to the view query sent last, per series: its points
 * in the range (every one, or their M4), the smoothed line computed on full
 * resolution (kind 3) and its continuation over the live points since.
 */
export type AnswerSeries = {
    xs: Float64Array;
    ys: Float64Array;
    sx: Float64Array | null;
    sy: Float64Array | null;
    points: number;
    live: number;
    tail: {
        x: Column;
        y: Column;
        state: {
            last: number;
            count: number;
        };
    } | null;
};
/**
 * The server's answer to the view query sent last, per series: its points
 * in the range (every one, or their M4), the smoothed line computed on full
 * resolution (kind 3) and its continuation over the live points since.
 */
export type Answer = {
    id: number;
    zoomed: boolean;
    x0: number;
    x1: number;
    width: number;
    weight: number;
    series: Map<number, AnswerSeries>;
};
import { Column } from "./chart-math.js";
