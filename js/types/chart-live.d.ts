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
    constructor(element: HTMLElement, options?: ChartOptions);
    element: HTMLElement;
    /** @type {string[]} */
    names: string[];
    /** @type {{x: Column, y: Column}[]} */
    columns: {
        x: Column;
        y: Column;
    }[];
    /** @type {boolean[]} series hidden from the legend */
    hidden: boolean[];
    /** @type {Record<string, number>} overlaid series -> the series whose colour they take (drawn dashed) */
    overlay: Record<string, number>;
    window: number | null;
    log: boolean;
    logx: boolean;
    paused: boolean;
    title: string;
    xlabel: string;
    ylabel: string;
    smoothing: number;
    /** @type {{weight: number, state: {last: number, count: number}, values: Column}[]} */
    smoothed: {
        weight: number;
        state: {
            last: number;
            count: number;
        };
        values: Column;
    }[];
    /** @type {Zoom | null} the fixed view (axis units), or null: follow the data */
    zoom: Zoom | null;
    /** @type {LinkGroup | null} */
    link: LinkGroup | null;
    /** @type {{x: number, y: number} | null} */
    hover: {
        x: number;
        y: number;
    } | null;
    /** @type {{x: number, y: number, mode: "zoom" | "box" | "pan", view: {x0: number, x1: number, y0: number, y1: number}, at: {x: number, y: number}} | null} */
    drag: {
        x: number;
        y: number;
        mode: "zoom" | "box" | "pan";
        view: {
            x0: number;
            x1: number;
            y0: number;
            y1: number;
        };
        at: {
            x: number;
            y: number;
        };
    } | null;
    frames: number;
    /** The ranges drawn last (axis units: log10 with log x / log y), or null before any point.
     * @type {{x0: number, x1: number, y0: number, y1: number} | null} */
    view: {
        x0: number;
        x1: number;
        y0: number;
        y1: number;
    } | null;
    /** @type {{l: number, r: number, t: number, b: number, w: number, h: number}} */
    box: {
        l: number;
        r: number;
        t: number;
        b: number;
        w: number;
        h: number;
    };
    themeAsked: string | null;
    /** @type {"light" | "dark"} */
    theme: "light" | "dark";
    /** Most points the page keeps per series (older ones compacted past it, see {@link compaction}). */
    maxPoints: number;
    /** @type {((text: string) => void) | null} sends a view query to the server ({@link liveplot} sets it) */
    sender: ((text: string) => void) | null;
    /** @type {string | null} the plot's WebSocket address, for its full-resolution CSV ({@link liveplot} sets it) */
    address: string | null;
    /** @type {ViewQueries<boolean>} the tag: asked while zoomed */
    queries: ViewQueries<boolean>;
    /** @type {Answer | null} the server's answer in use */
    answer: Answer | null;
    /** @type {boolean[]} series whose page copy is known to be decimated (history or compaction) */
    decimated: boolean[];
    /** @type {number} ms from sending the last answered query to the end of the draw that showed its answer */
    answerLatency: number;
    /** @type {number | null} when the query of the answer not drawn yet was sent ({@link now}) */
    answerSentAt: number | null;
    answered: number;
    bar: HTMLDivElement;
    menu: HTMLDivElement;
    badge: HTMLDivElement;
    canvas: HTMLCanvasElement;
    touch: TouchGestures;
    pending: boolean;
    /**
     * Canvas position (CSS px) -> axis units, in the view drawn last.
     * @param {number} px @param {number} py
     * @returns {{x: number, y: number}}
     */
    toData(px: number, py: number): {
        x: number;
        y: number;
    };
    /**
     * Fix the view (axis units: log10 with log axes); y null: auto-scale y to
     * what is in the x range. Linked charts take the same x.
     * @param {Zoom} zoom
     */
    setZoom(zoom: Zoom): void;
    /** Follow the data again (the live edge, or the window): what a double-click does. */
    follow(): void;
    /**
     * The view changed (zoom, pan, follow, series shown, smoothing): ask the
     * server for it, {@link ViewQueries debounced}. Zoomed, the query is the x
     * range shown; following, it is the overview, whose header says how many
     * points the page's copy stands for and whose smoothed line (computed on
     * full resolution) replaces the page's own EMA. Following again drops a
     * zoomed answer at once: the chart draws its own data again.
     */
    viewChanged(): void;
    /** @private @returns {{query: ViewQuery, tag: boolean} | null} the query for the view now */
    private buildQuery;
    /**
     * A binary frame from the server: live points, or the answer to a view query.
     * @param {ArrayBuffer} buffer
     */
    receive(buffer: ArrayBuffer): void;
    /** @private @param {Frame} frame */
    private applyAnswer;
    /**
     * What the badge says: how many points one pixel column stands for, when
     * the view holds more than 4 per column (from the server's answer; when
     * following, its overview and the live points since; following a window of
     * N points, the N points it stands for: at most N of a series, as the
     * window is the last N points of the series pushed most), else null.
     * @returns {string | null}
     */
    ratio(): string | null;
    /** True while the view follows the data (not zoomed or panned). */
    get following(): boolean;
    /** @param {number} series @param {boolean} hidden */
    setHidden(series: number, hidden: boolean): void;
    /** @param {number} weight 0 (off) to 0.99: TensorBoard's smoothing */
    setSmoothing(weight: number): void;
    /** @param {string | null | undefined} theme "light", "dark", or "auto"/null: the browser's preference */
    setTheme(theme: string | null | undefined): void;
    /** @param {ChartMeta} meta */
    setMeta(meta: ChartMeta): void;
    /**
     * A new stream begins (the page reconnected: the server sends its history
     * again): forget the points held, their smoothing and any answer or query
     * of the old connection, so no point is held twice. The zoom, hidden
     * series, smoothing weight and window stay; the history that follows asks
     * for the view again.
     */
    restart(): void;
    /** The colour of series `s` (an overlay takes its base series' colour). @param {number} s @returns {string} */
    color(s: number): string;
    /** @param {number} series @param {Float64Array} xs @param {Float64Array} ys */
    addPoints(series: number, xs: Float64Array, ys: Float64Array): void;
    /**
     * Compact the page's copy of a series past {@link LiveChart#maxPoints}
     * (see {@link compaction}); its smoothed values keep the same points.
     * @private @param {number} s
     */
    private compact;
    /** Points held, all series. */
    count(): number;
    /** @param {number} series @returns {{x: number[], y: number[]}} the data of one series */
    data(series: number): {
        x: number[];
        y: number[];
    };
    /** The data as CSV (`series,x,y`; see {@link pointsCSV}). */
    toCSV(): string;
    /**
     * The current view as a PNG, with the legend of the series shown.
     * @returns {Promise<Blob>}
     */
    toPNG(): Promise<Blob>;
    /**
     * The address of the plot's CSV at full resolution, streamed by the
     * server (`/live/<name>/data.csv`, beside the plot's WebSocket): `"all"`
     * its points, or the `"view"`: every point in the x range shown, of the
     * series shown. Null for a chart not fed by a server.
     * @param {"view" | "all"} [scope]
     * @returns {string | null}
     */
    csvUrl(scope?: "view" | "all"): string | null;
    /**
     * Save the current view as PNG, or the data as CSV, through the browser's
     * download: from the server at full resolution ({@link LiveChart#csvUrl}:
     * the `scope` "view" or "all"), or the points the page holds when no
     * server feeds the chart.
     * @param {"png" | "csv"} kind @param {"view" | "all"} [scope]
     */
    download(kind: "png" | "csv", scope?: "view" | "all"): Promise<void>;
    /** @param {number} s @returns {Float64Array} the smoothed y of series s (cached, extended as points come) */
    smoothedValues(s: number): Float64Array;
    /**
     * The x range the data asks for (axis units), for this chart alone: the
     * window or all points of the series shown; null without points.
     * @returns {[number, number] | null}
     */
    dataRange(): [number, number] | null;
    /** Draw at the next animation frame (once, however often it is asked). */
    schedule(): void;
    /** Draw now (see {@link drawChart}). */
    draw(): void;
    /**
     * What to draw of series `s` in the x range `x0..x1` (axis units) on
     * `columns` pixel columns (see {@link seriesParts}).
     * @param {number} s @param {number} x0 @param {number} x1 @param {number} columns
     * @returns {SeriesPlan}
     */
    parts(s: number, x0: number, x1: number, columns: number): SeriesPlan;
}
export type LinkGroup = import("./chart.js").LinkGroup;
export type Frame = import("./chart-view.js").Frame;
export type ViewHeader = import("./chart-view.js").ViewHeader;
export type ViewQuery = import("./chart-view.js").ViewQuery;
export type Answer = import("./chart-view.js").Answer;
export type SeriesPlan = import("./chart-draw.js").SeriesPlan;
export type Zoom = {
    x0: number;
    x1: number;
    y0: number | null;
    y1: number | null;
};
export type ChartOptions = {
    series?: string[];
    window?: number | null;
    log?: boolean;
    logx?: boolean;
    title?: string;
    xlabel?: string;
    ylabel?: string;
    theme?: string | null;
    smoothing?: number;
    link?: LinkGroup;
    maxPoints?: number;
    viewDelay?: number;
};
/**
 * `start`: a connection's stream starts here (the history follows): the page drops what it held
 */
export type ChartMeta = {
    series: string[];
    title?: string;
    window?: number | null;
    xlabel?: string;
    ylabel?: string;
    theme?: string;
    overlay?: Record<string, number>;
    logx?: boolean;
    logy?: boolean;
    start?: boolean;
};
import { Column } from "./chart-math.js";
import { ViewQueries } from "./chart-view.js";
import { TouchGestures } from "./chart-touch.js";
