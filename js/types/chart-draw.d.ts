/**
 * The theme to use: an explicit `"light"` or `"dark"`, else the browser's
 * `prefers-color-scheme`.
 * @param {string | null | undefined} asked
 * @returns {"light" | "dark"}
 */
export function resolveTheme(asked: string | null | undefined): "light" | "dark";
/**
 * Colour `chart`'s element, badge and CSV menu for its theme.
 * @param {LiveChart} chart
 */
export function applyTheme(chart: LiveChart): void;
/**
 * Draw a frame of `chart` on its canvas now: axes and ticks, each series
 * shown (M4-decimated per pixel column, see {@link seriesParts}), the range
 * being selected, the crosshair and the badge. Runs in the page.
 * @param {LiveChart} chart
 */
export function drawChart(chart: LiveChart): void;
/**
 * What to draw of series `s` in the x range `x0..x1` (axis units) on
 * `columns` pixel columns: the raw line and the smoothed one, each as parts
 * drawn as one line — the page's own points, with the server's answer
 * swapped in for its range (zoomed), and the smoothed line the server
 * computed on full resolution with its live continuation (when it sent
 * one for this weight). Each part keeps one point beyond each edge, so
 * lines enter and leave the plot, and is M4-decimated when the series has
 * more points in range than twice the pixel columns.
 * @param {LiveChart} chart
 * @param {number} s @param {number} x0 @param {number} x1 @param {number} columns
 * @returns {SeriesPlan}
 */
export function seriesParts(chart: LiveChart, s: number, x0: number, x1: number, columns: number): SeriesPlan;
/**
 * The current view of `chart` as a PNG, with the legend of the series shown.
 * @param {LiveChart} chart
 * @returns {Promise<Blob>}
 */
export function chartPNG(chart: LiveChart): Promise<Blob>;
/** @typedef {import("./chart.js").LiveChart} LiveChart */
/** @typedef {import("./chart-math.js").Column} Column */
/** @typedef {{xs: Float64Array, ys: Float64Array, i0: number, i1: number, keep: Uint32Array | null}} Part points i0..i1 of xs/ys, or those at keep */
/** @typedef {{parts: Part[], smooth: Part[] | null}} SeriesPlan what to draw of one series */
/** The series' colours, in order (see `LiveChart.color`). */
export const PALETTE: string[];
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
export type LiveChart = import("./chart.js").LiveChart;
export type Column = import("./chart-math.js").Column;
/**
 * points i0..i1 of xs/ys, or those at keep
 */
export type Part = {
    xs: Float64Array;
    ys: Float64Array;
    i0: number;
    i1: number;
    keep: Uint32Array | null;
};
/**
 * what to draw of one series
 */
export type SeriesPlan = {
    parts: Part[];
    smooth: Part[] | null;
};
