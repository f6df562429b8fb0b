/** @typedef {import("./nbws.js").Connection} Connection */
/** @typedef {import("./nbws.js").ConnectOptions} ConnectOptions */
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
 * The range, along one axis, that a touch gesture makes of `lo..hi` (axis
 * units): the value that was at pixel `from` when the gesture began is at
 * pixel `to` now, and the range is `scale` times as wide (pixels count from
 * the axis' low end over `size` pixels). Panning is `scale` 1; pinching is
 * {@link pinchScale} of the fingers' distances, `from` and `to` their centres.
 * @param {number} lo @param {number} hi @param {number} from @param {number} to
 * @param {number} size @param {number} [scale]
 * @returns {[number, number]}
 */
export function gestureRange(lo: number, hi: number, from: number, to: number, size: number, scale?: number): [number, number];
/**
 * How much wider the range gets when two fingers `before` px apart (along an
 * axis) are `now` px apart: `before / now` (fingers spreading zoom in),
 * kept within 1/20..20 per gesture; 1 when they started closer than
 * {@link PINCH_MIN_PX}.
 * @param {number} before @param {number} now
 * @returns {number}
 */
export function pinchScale(before: number, now: number): number;
/**
 * Which axes a two-finger pinch zooms, from where the fingers were when it
 * began (`dx`, `dy`: their distance apart in px): x when the line through them
 * is less than 60° from horizontal, y when more than 30°; so a horizontal
 * pinch zooms x, a vertical one y, a diagonal one both.
 * @param {number} dx @param {number} dy
 * @returns {{x: boolean, y: boolean}}
 */
export function pinchAxes(dx: number, dy: number): {
    x: boolean;
    y: boolean;
};
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
 * The theme to use: an explicit `"light"` or `"dark"`, else the browser's
 * `prefers-color-scheme`.
 * @param {string | null | undefined} asked
 * @returns {"light" | "dark"}
 */
export function resolveTheme(asked: string | null | undefined): "light" | "dark";
/**
 * Show a live plot served by nbws (`nbws.LivePlot`) in `element`.
 * @param {HTMLElement} element
 * @param {ConnectOptions & ChartOptions} [options]
 * @returns {LiveChart & {conn: Connection}}
 */
export function liveplot(element: HTMLElement, options?: ConnectOptions & ChartOptions): LiveChart & {
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
    /**
     * Replace the values before index `upTo` with the values at `keep`
     * (increasing indexes below `upTo`), in place; the values from `upTo` on
     * follow them.
     * @param {number} upTo @param {ArrayLike<number>} keep
     */
    replaceHead(upTo: number, keep: ArrayLike<number>): void;
}
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
/** Points drawn in one frame (all series) past which lines are 1 px wide instead of 1.5. */
export const DENSE_POINTS: 20000;
/** Fingers closer than this (px) along an axis do not zoom it (their distance is noise). */
export const PINCH_MIN_PX: 24;
export namespace THEMES {
    namespace light {
        let bg: string;
        let text: string;
        let grid: string;
        let axis: string;
        let tip: string;
        let select: string;
    }
    namespace dark {
        let bg_1: string;
        export { bg_1 as bg };
        let text_1: string;
        export { text_1 as text };
        let grid_1: string;
        export { grid_1 as grid };
        let axis_1: string;
        export { axis_1 as axis };
        let tip_1: string;
        export { tip_1 as tip };
        let select_1: string;
        export { select_1 as select };
    }
}
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
/** @typedef {{x0: number, x1: number, y0: number | null, y1: number | null}} Zoom */
/** @typedef {{series?: string[], window?: number | null, log?: boolean, logx?: boolean, title?: string,
 *   xlabel?: string, ylabel?: string, theme?: string | null, smoothing?: number, link?: LinkGroup,
 *   maxPoints?: number, viewDelay?: number}} ChartOptions */
/**
 * The server's answer to the view query sent last, per series: its points
 * in the range (every one, or their M4), the smoothed line computed on full
 * resolution (kind 3) and its continuation over the live points since.
 * @typedef {{xs: Float64Array, ys: Float64Array, sx: Float64Array | null, sy: Float64Array | null, points: number,
 *   live: number, tail: {x: Column, y: Column, state: {last: number, count: number}} | null}} AnswerSeries
 * @typedef {{id: number, zoomed: boolean, x0: number, x1: number, width: number, weight: number,
 *   series: Map<number, AnswerSeries>}} Answer
 * @typedef {{xs: Float64Array, ys: Float64Array, i0: number, i1: number, keep: Uint32Array | null}} Part
 */
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
    /** @private @type {number | null} */
    private answerSentAt;
    answered: number;
    bar: HTMLDivElement;
    menu: HTMLDivElement;
    badge: HTMLDivElement;
    canvas: HTMLCanvasElement;
    pending: boolean;
    /** @private */
    private wire;
    touch: TouchGestures | undefined;
    /** @private @param {number} x @param {number} y */
    private pointerMove;
    /** @private @param {number} x @param {number} y */
    private dragEnd;
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
    /** @private */
    private applyTheme;
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
    /** @private @param {number} s @returns {string} */
    private color;
    /** @private */
    private updateLegend;
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
    /** @private @param {number} s @returns {Float64Array} the smoothed y of series s */
    private smoothedValues;
    /**
     * The x range the data asks for (axis units), for this chart alone: the
     * window or all points of the series shown; null without points.
     * @returns {[number, number] | null}
     */
    dataRange(): [number, number] | null;
    /** Draw at the next animation frame (once, however often it is asked). */
    schedule(): void;
    /** Draw now. */
    draw(): void;
    /** @private */
    private drawBadge;
    /**
     * What to draw of series `s` in the x range `x0..x1` (axis units) on
     * `columns` pixel columns: the raw line and the smoothed one, each as parts
     * drawn as one line — the page's own points, with the server's answer
     * swapped in for its range (zoomed), and the smoothed line the server
     * computed on full resolution with its live continuation (when it sent
     * one for this weight). Each part keeps one point beyond each edge, so
     * lines enter and leave the plot, and is M4-decimated when the series has
     * more points in range than twice the pixel columns.
     * @private
     * @param {number} s @param {number} x0 @param {number} x1 @param {number} columns
     * @returns {{parts: Part[], smooth: Part[] | null}}
     */
    private parts;
    /**
     * @private
     * @param {CanvasRenderingContext2D} ctx
     * @param {({parts: Part[], smooth: Part[] | null} | null)[]} plan
     * @param {(v: number) => number} fx
     */
    private drawCrosshair;
}
/** A press held this long (ms) without moving turns into a crosshair drag. */
export const LONG_PRESS_MS: 500;
/** Two taps this close in time (ms) and place ({@link DOUBLE_TAP_PX}) are a double tap. */
export const DOUBLE_TAP_MS: 350;
/** How far (px) apart the two taps of a double tap may be. */
export const DOUBLE_TAP_PX: 30;
/** A finger that moves less than this (px) is still tapping or pressing. */
export const TAP_SLOP_PX: 8;
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
    constructor(chart: LiveChart);
    chart: LiveChart;
    /** @type {Map<number, Spot>} the fingers down: pointer id -> canvas position (CSS px) */
    fingers: Map<number, Spot>;
    /** @type {Gesture | null} */
    gesture: Gesture | null;
    /** @type {(Spot & {t: number}) | null} the last tap, for a double tap */
    lastTap: (Spot & {
        t: number;
    }) | null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    pressTimer: ReturnType<typeof setTimeout> | undefined;
    /** when a finger last went down or up (`performance.now()`) */
    lastTouch: number;
    /** True when a finger went down or up in the last `ms` milliseconds. @param {number} ms */
    touchedWithin(ms: number): boolean;
    /** @private @param {PointerEvent} ev @returns {Spot} */
    private spot;
    /** @private @param {"press" | "pan" | "scrub" | "pinch"} kind @returns {Gesture} */
    private begin;
    /** @private @param {PointerEvent} ev */
    private down;
    /** @private @param {PointerEvent} ev */
    private move;
    /** @private @param {PointerEvent} ev @param {boolean} cancelled */
    private up;
    /** @private @param {Spot} at @param {number} t */
    private tap;
    /** @private @param {Spot} at */
    private showAt;
    /** The view the fingers ask for now, from the view when the gesture began. @private @param {Gesture} g */
    private apply;
}
export type Connection = import("./nbws.js").Connection;
export type ConnectOptions = import("./nbws.js").ConnectOptions;
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
/**
 * The server's answer to the view query sent last, per series: its points
 * in the range (every one, or their M4), the smoothed line computed on full
 * resolution (kind 3) and its continuation over the live points since.
 */
export type Part = {
    xs: Float64Array;
    ys: Float64Array;
    i0: number;
    i1: number;
    keep: Uint32Array | null;
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
export type Spot = {
    x: number;
    y: number;
};
export type Gesture = {
    kind: "press" | "pan" | "scrub" | "pinch";
    start: Map<number, Spot>;
    view: {
        x0: number;
        x1: number;
        y0: number;
        y1: number;
    } | null;
    y: [number | null, number | null];
};
