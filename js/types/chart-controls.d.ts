/** @typedef {import("./chart.js").LiveChart} LiveChart */
/**
 * The chart's controls, added to `element` (a flex column): the toolbar
 * (legend, smoothing slider, log axes, window menu, pause, PNG and CSV
 * buttons), the canvas, the badge and the CSV menu; {@link wireControls}
 * makes them work.
 * @param {HTMLElement} element
 */
export function buildControls(element: HTMLElement): {
    bar: HTMLDivElement;
    menu: HTMLDivElement;
    badge: HTMLDivElement;
    canvas: HTMLCanvasElement;
};
/**
 * Make the controls of `chart` work: the toolbar's buttons, and the mouse on
 * the canvas (drag to zoom on x, Shift: a box; Alt-drag or the middle
 * button pans; the wheel zooms x, Shift: y, sideways: pans; a double-click
 * follows again). Touch is {@link TouchGestures}'. Runs in the page.
 * @param {LiveChart} chart
 */
export function wireControls(chart: LiveChart): void;
/**
 * Show `chart`'s series in the legend, each in its colour (dashed for an
 * overlay), hidden ones struck through.
 * @param {LiveChart} chart
 */
export function showLegend(chart: LiveChart): void;
/**
 * The address of the CSV of `chart`'s plot at full resolution (see
 * {@link LiveChart#csvUrl}), or null for a chart not fed by a server.
 * @param {LiveChart} chart @param {"view" | "all"} [scope]
 * @returns {string | null}
 */
export function chartCsvUrl(chart: LiveChart, scope?: "view" | "all"): string | null;
/**
 * Save `chart`'s view as PNG, or its data as CSV, through the browser's
 * download (see {@link LiveChart#download}).
 * @param {LiveChart} chart @param {"png" | "csv"} kind @param {"view" | "all"} [scope]
 */
export function downloadChart(chart: LiveChart, kind: "png" | "csv", scope?: "view" | "all"): Promise<void>;
export type LiveChart = import("./chart.js").LiveChart;
