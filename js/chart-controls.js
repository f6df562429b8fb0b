// @ts-check
/**
 * chart-controls.js — the controls of a {@link LiveChart}: its toolbar and
 * CSV menu, the mouse on its canvas, and its downloads (PNG, and CSV from
 * the server at full resolution or from the page's copy). Served beside
 * chart.js.
 */

import { zoomAround } from "./chart-math.js";
import { dataUrl } from "./chart-view.js";

/** @typedef {import("./chart.js").LiveChart} LiveChart */

/**
 * The chart's controls, added to `element` (a flex column): the toolbar
 * (legend, smoothing slider, log axes, window menu, pause, PNG and CSV
 * buttons), the canvas, the badge and the CSV menu; {@link wireControls}
 * makes them work.
 * @param {HTMLElement} element
 */
export function buildControls(element) {
  const doc = element.ownerDocument;
  const bar = doc.createElement("div");
  bar.style.cssText = "display:flex;flex-wrap:wrap;gap:4px 10px;align-items:center;padding:4px 8px;font:12px system-ui,sans-serif";
  bar.innerHTML = '<span class="legend" style="flex:1;display:flex;flex-wrap:wrap;gap:2px 10px"></span>' +
    '<label title="exponential moving average (TensorBoard\'s)">smooth <input type="range" class="smooth" min="0" max="0.99" step="0.01" style="width:70px;vertical-align:middle"> <span class="smooth-value"></span></label>' +
    '<label><input type="checkbox" class="logx"> log x</label><label><input type="checkbox" class="log"> log y</label>' +
    '<select class="win" title="show the last N points"><option value="">all</option><option>100</option><option>1000</option><option>10000</option></select>' +
    '<button class="pause">pause</button><button class="png" title="the current view as PNG">PNG</button><button class="csv" title="the data as CSV">CSV</button>';
  const menu = doc.createElement("div");
  menu.className = "csv-menu";
  menu.style.cssText = "position:absolute;right:8px;z-index:2;display:none;gap:4px;padding:4px;border-radius:4px;font:12px system-ui,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)";
  menu.innerHTML = '<button class="csv-view" title="every point in the current view, at full resolution">view</button>' +
    '<button class="csv-all" title="every point of every series, at full resolution">all</button>';
  const badge = doc.createElement("div");
  badge.className = "ratio";
  badge.hidden = true;
  badge.style.cssText = "position:absolute;z-index:1;pointer-events:none;padding:1px 5px;border-radius:3px;font:11px system-ui,sans-serif;opacity:.85";
  const canvas = doc.createElement("canvas");
  canvas.style.cssText = "width:100%;flex:1;min-height:0;display:block;touch-action:none;cursor:crosshair";
  element.style.display = "flex";
  element.style.flexDirection = "column";
  if (!element.style.position) element.style.position = "relative";
  element.append(bar, canvas, badge, menu);
  return { bar, menu, badge, canvas };
}

/**
 * Make the controls of `chart` work: the toolbar's buttons, and the mouse on
 * the canvas (drag to zoom on x, Shift: a box; Alt-drag or the middle
 * button pans; the wheel zooms x, Shift: y, sideways: pans; a double-click
 * follows again). Touch is {@link TouchGestures}'. Runs in the page.
 * @param {LiveChart} chart
 */
export function wireControls(chart) {
  const q = (/** @type {string} */ sel) => /** @type {HTMLElement} */ (chart.bar.querySelector(sel));
  const pause = /** @type {HTMLButtonElement} */ (q(".pause"));
  pause.onclick = () => {
    chart.paused = !chart.paused;
    pause.textContent = chart.paused ? "resume" : "pause";
    chart.schedule();
  };
  const log = /** @type {HTMLInputElement} */ (q(".log"));
  log.checked = chart.log;
  log.onchange = () => { chart.log = log.checked; chart.follow(); };
  const logx = /** @type {HTMLInputElement} */ (q(".logx"));
  logx.checked = chart.logx;
  logx.onchange = () => { chart.logx = logx.checked; chart.follow(); };
  const win = /** @type {HTMLSelectElement} */ (q(".win"));
  win.onchange = () => { chart.window = win.value ? Number(win.value) : null; chart.schedule(); };
  const smooth = /** @type {HTMLInputElement} */ (q(".smooth"));
  smooth.value = String(chart.smoothing);
  smooth.oninput = () => chart.setSmoothing(Number(smooth.value));
  q(".png").onclick = () => { void chart.download("png"); };
  q(".csv").onclick = () => {
    if (!chart.address) { void chart.download("csv"); return; } // the page's copy: no server to ask
    chart.menu.style.top = `${chart.bar.offsetHeight}px`;
    chart.menu.style.display = chart.menu.style.display === "none" ? "flex" : "none";
  };
  for (const scope of /** @type {const} */ (["view", "all"])) {
    /** @type {HTMLElement} */ (chart.menu.querySelector(`.csv-${scope}`)).onclick = () => {
      chart.menu.style.display = "none";
      void chart.download("csv", scope);
    };
  }
  const legend = q(".legend");
  legend.onclick = (ev) => {
    const entry = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (ev.target).closest("[data-series]"));
    if (entry) chart.setHidden(Number(entry.dataset.series), !chart.hidden[Number(entry.dataset.series)]);
  };
  const c = chart.canvas;
  c.onmousemove = (ev) => pointerMove(chart, ev.offsetX, ev.offsetY);
  c.onmouseleave = () => { chart.hover = null; chart.schedule(); };
  c.onmousedown = (ev) => {
    if (!chart.view || (ev.button !== 0 && ev.button !== 1)) return;
    ev.preventDefault();
    const mode = ev.altKey || ev.button === 1 ? "pan" : ev.shiftKey ? "box" : "zoom";
    chart.drag = { x: ev.offsetX, y: ev.offsetY, mode, view: { ...chart.view }, at: { x: ev.offsetX, y: ev.offsetY } };
  };
  c.ownerDocument.addEventListener("mouseup", (ev) => {
    if (!chart.drag) return;
    const rect = c.getBoundingClientRect();
    dragEnd(chart, ev.clientX - rect.left, ev.clientY - rect.top);
  });
  c.ondblclick = (ev) => {
    ev.preventDefault();
    if (!chart.touch?.touchedWithin(1000)) chart.follow(); // a double tap is the touch gestures' (not every browser makes a dblclick of it)
  };
  c.onwheel = (ev) => {
    if (!chart.view) return;
    ev.preventDefault();
    const v = chart.view;
    if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) { // sideways: pan
      const dx = (ev.deltaX / (chart.box.w - chart.box.l - chart.box.r)) * (v.x1 - v.x0);
      chart.setZoom({ x0: v.x0 + dx, x1: v.x1 + dx, y0: chart.zoom?.y0 ?? null, y1: chart.zoom?.y1 ?? null });
      return;
    }
    const factor = Math.exp(ev.deltaY * 0.002);
    const at = chart.toData(ev.offsetX, ev.offsetY);
    if (ev.shiftKey) {
      const [y0, y1] = zoomAround(v.y0, v.y1, at.y, factor);
      chart.setZoom({ x0: v.x0, x1: v.x1, y0, y1 });
    } else {
      const [x0, x1] = zoomAround(v.x0, v.x1, at.x, factor);
      chart.setZoom({ x0, x1, y0: chart.zoom?.y0 ?? null, y1: chart.zoom?.y1 ?? null });
    }
  };
  if (globalThis.matchMedia) { // "auto": follow the browser's theme as it changes
    globalThis.matchMedia("(prefers-color-scheme: dark)").addEventListener?.("change", () => {
      if (chart.themeAsked !== "light" && chart.themeAsked !== "dark") chart.setTheme(chart.themeAsked);
    });
  }
}

/**
 * Show `chart`'s series in the legend, each in its colour (dashed for an
 * overlay), hidden ones struck through.
 * @param {LiveChart} chart
 */
export function showLegend(chart) {
  const legend = chart.bar.querySelector(".legend");
  if (!legend) return;
  legend.innerHTML = chart.names.map((n, i) =>
    `<span data-series="${i}" title="click to hide or show" style="cursor:pointer;user-select:none;` +
    `${chart.hidden[i] ? "opacity:.35;text-decoration:line-through" : ""}"><span style="color:${chart.color(i)}">` +
    `${chart.overlay[String(i)] !== undefined ? "┅" : "━"}</span> ${n.replace(/[<&]/g, "")}</span>`).join("");
}

/** The mouse moved to (x, y), CSS px on the canvas. @param {LiveChart} chart @param {number} x @param {number} y */
function pointerMove(chart, x, y) {
  chart.hover = { x, y };
  const d = chart.drag;
  if (d) {
    d.at = { x, y };
    if (d.mode === "pan") {
      const b = chart.box, v = d.view;
      const dx = ((x - d.x) / (b.w - b.l - b.r)) * (v.x1 - v.x0);
      const dy = ((y - d.y) / (b.h - b.t - b.b)) * (v.y1 - v.y0);
      chart.setZoom({ x0: v.x0 - dx, x1: v.x1 - dx, y0: v.y0 + dy, y1: v.y1 + dy });
    }
  }
  chart.schedule();
}

/** The mouse button went up at (x, y). @param {LiveChart} chart @param {number} x @param {number} y */
function dragEnd(chart, x, y) {
  const d = chart.drag;
  chart.drag = null;
  if (!d) return;
  if (d.mode !== "pan" && Math.abs(x - d.x) >= 5) {
    const a = chart.toData(Math.min(d.x, x), Math.max(d.y, y)), b = chart.toData(Math.max(d.x, x), Math.min(d.y, y));
    const box = d.mode === "box" && Math.abs(y - d.y) >= 5;
    chart.setZoom({ x0: a.x, x1: b.x, y0: box ? a.y : null, y1: box ? b.y : null });
  }
  chart.schedule();
}

/**
 * The address of the CSV of `chart`'s plot at full resolution (see
 * {@link LiveChart#csvUrl}), or null for a chart not fed by a server.
 * @param {LiveChart} chart @param {"view" | "all"} [scope]
 * @returns {string | null}
 */
export function chartCsvUrl(chart, scope = "all") {
  if (!chart.address) return null;
  /** @type {Record<string, string | number | string[]>} */
  const params = {};
  if (scope === "view" && chart.view) {
    const raw = (/** @type {number} */ v) => (chart.logx ? 10 ** v : v);
    params.x0 = raw(chart.view.x0);
    params.x1 = raw(chart.view.x1);
    const shown = chart.names.filter((n, s) => !chart.hidden[s]);
    if (shown.length < chart.names.length) params.series = shown;  // series=a&series=b: one name each
  }
  return dataUrl(chart.address, params);
}

/**
 * Save `chart`'s view as PNG, or its data as CSV, through the browser's
 * download (see {@link LiveChart#download}).
 * @param {LiveChart} chart @param {"png" | "csv"} kind @param {"view" | "all"} [scope]
 */
export async function downloadChart(chart, kind, scope = "all") {
  const a = chart.element.ownerDocument.createElement("a");
  const url = kind === "csv" ? chart.csvUrl(scope) : null;
  if (url) { // streamed by the server to the browser's download, not through this page's memory
    a.href = url;
    a.download = "";
    a.click();
    return;
  }
  const blob = kind === "png" ? await chart.toPNG() : new Blob([chart.toCSV()], { type: "text/csv" });
  a.href = URL.createObjectURL(blob);
  a.download = `${(chart.title || "plot").replace(/[^\w.-]+/g, "_")}.${kind}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
