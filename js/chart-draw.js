// @ts-check
/**
 * chart-draw.js — how a {@link LiveChart} looks: its colours and themes, a
 * frame drawn on its canvas (axes, ticks, lines, the selection, the
 * crosshair and the badge), what it draws of each series, and its PNG.
 * Served beside chart.js, which re-exports the public names (import them
 * from `/_nbws/chart.js`).
 */

import { axisTicks, firstAtOrAfter, formatNumber, lineWidth, m4 } from "./chart-math.js";
import { now } from "./chart-view.js";

/** @typedef {import("./chart.js").LiveChart} LiveChart */
/** @typedef {import("./chart-math.js").Column} Column */
/** @typedef {{xs: Float64Array, ys: Float64Array, i0: number, i1: number, keep: Uint32Array | null}} Part points i0..i1 of xs/ys, or those at keep */
/** @typedef {{parts: Part[], smooth: Part[] | null}} SeriesPlan what to draw of one series */

/** The series' colours, in order (see `LiveChart.color`). */
export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

/** The colours of the two themes. */
export const THEMES = {
  light: { bg: "#ffffff", text: "#333333", grid: "#e4e4e4", axis: "#999999", tip: "rgba(255,255,255,.92)", select: "rgba(31,119,180,.15)" },
  dark: { bg: "#1e1e1e", text: "#d4d4d4", grid: "#333333", axis: "#777777", tip: "rgba(30,30,30,.92)", select: "rgba(120,170,255,.2)" },
};

/**
 * The theme to use: an explicit `"light"` or `"dark"`, else the browser's
 * `prefers-color-scheme`.
 * @param {string | null | undefined} asked
 * @returns {"light" | "dark"}
 */
export function resolveTheme(asked) {
  if (asked === "light" || asked === "dark") return asked;
  const dark = globalThis.matchMedia && globalThis.matchMedia("(prefers-color-scheme: dark)").matches;
  return dark ? "dark" : "light";
}

/**
 * Colour `chart`'s element, badge and CSV menu for its theme.
 * @param {LiveChart} chart
 */
export function applyTheme(chart) {
  const c = THEMES[chart.theme];
  chart.element.style.background = c.bg;
  chart.element.style.color = c.text;
  chart.element.style.colorScheme = chart.theme;
  chart.element.dataset.theme = chart.theme;
  chart.badge.style.background = c.tip;
  chart.badge.style.color = c.text;
  chart.menu.style.background = c.bg;
}

/**
 * Draw a frame of `chart` on its canvas now: axes and ticks, each series
 * shown (M4-decimated per pixel column, see {@link seriesParts}), the range
 * being selected, the crosshair and the badge. Runs in the page.
 * @param {LiveChart} chart
 */
export function drawChart(chart) {
  const canvas = chart.canvas;
  const dpr = globalThis.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600;
  const h = canvas.clientHeight || 300;
  if (canvas.width !== Math.round(w * dpr)) canvas.width = Math.round(w * dpr);
  if (canvas.height !== Math.round(h * dpr)) canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const theme = THEMES[chart.theme];
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = theme.bg;
  ctx.fillRect(0, 0, w, h);
  const box = { l: chart.ylabel ? 70 : 56, r: 12, t: chart.title ? 26 : 10, b: chart.xlabel ? 38 : 24, w, h };
  chart.box = box;
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = theme.text;
  if (chart.title) {
    ctx.font = "bold 13px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillText(chart.title, (box.l + w - box.r) / 2, 17);
    ctx.font = "11px system-ui, sans-serif";
  }
  const logx = chart.logx, logy = chart.log;
  let range = null;
  if (chart.zoom) range = [chart.zoom.x0, chart.zoom.x1];
  else if (chart.link) {
    for (const c of chart.link.charts) {
      const r = c.logx === logx ? c.dataRange() : null;
      if (r) range = range ? [Math.min(range[0], r[0]), Math.max(range[1], r[1])] : r;
    }
  } else range = chart.dataRange();
  if (!range) { ctx.textAlign = "left"; return; }
  let [x0, x1] = range;
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  const columns = Math.max(1, (w - box.l - box.r) * dpr);
  const plan = chart.columns.map((c, s) => (chart.hidden[s] || !c.x.length ? null : seriesParts(chart, s, x0, x1, columns)));
  const fx = (/** @type {number} */ v) => (logx ? (v > 0 ? Math.log10(v) : NaN) : v);
  const fy = (/** @type {number} */ v) => (logy ? (v > 0 ? Math.log10(v) : NaN) : v);
  let y0 = Infinity, y1 = -Infinity;
  if (chart.zoom && chart.zoom.y0 !== null && chart.zoom.y1 !== null) { y0 = chart.zoom.y0; y1 = chart.zoom.y1; } else {
    for (const p of plan) { // the y range of what is inside the x range (M4 keeps every column's extremes)
      if (!p) continue;
      for (const q of p.parts) {
        const scan = (/** @type {number} */ i) => {
          const x = fx(q.xs[i]), y = fy(q.ys[i]);
          if (x >= x0 && x <= x1 && Number.isFinite(y)) { if (y < y0) y0 = y; if (y > y1) y1 = y; }
        };
        if (q.keep) for (const i of q.keep) scan(i);
        else for (let i = q.i0; i < q.i1; i++) scan(i);
      }
    }
    if (!(y1 >= y0)) { y0 = 0; y1 = 1; }
    if (y1 === y0) { y0 -= 1; y1 += 1; }
    const margin = 0.03 * (y1 - y0); // the extremes stay off the frame
    y0 -= margin; y1 += margin;
  }
  chart.view = { x0, x1, y0, y1 };
  const px = (/** @type {number} */ x) => box.l + ((x - x0) / (x1 - x0)) * (w - box.l - box.r);
  const py = (/** @type {number} */ y) => h - box.b - ((y - y0) / (y1 - y0)) * (h - box.t - box.b);
  ctx.strokeStyle = theme.grid;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  for (const t of axisTicks(y0, y1, logy)) {
    ctx.beginPath(); ctx.moveTo(box.l, py(t.at)); ctx.lineTo(w - box.r, py(t.at)); ctx.stroke();
    ctx.fillText(t.label, box.l - 4, py(t.at) + 4);
  }
  ctx.textAlign = "center";
  for (const t of axisTicks(x0, x1, logx)) {
    ctx.beginPath(); ctx.moveTo(px(t.at), box.t); ctx.lineTo(px(t.at), h - box.b); ctx.stroke();
    ctx.fillText(t.label, px(t.at), h - box.b + 14);
  }
  ctx.strokeStyle = theme.axis;
  ctx.strokeRect(box.l, box.t, w - box.l - box.r, h - box.t - box.b);
  if (chart.xlabel) ctx.fillText(chart.xlabel, (box.l + w - box.r) / 2, h - 6);
  if (chart.ylabel) {
    ctx.save(); ctx.translate(12, (box.t + h - box.b) / 2); ctx.rotate(-Math.PI / 2);
    ctx.fillText(chart.ylabel, 0, 0); ctx.restore();
  }
  ctx.save();
  ctx.beginPath();
  ctx.rect(box.l, box.t, w - box.l - box.r, h - box.t - box.b);
  ctx.clip(); // the points beyond the edges are drawn outside, clipped
  const line = (/** @type {Part[]} */ parts) => { // one line through the parts, in order
    ctx.beginPath();
    let started = false;
    for (const { xs, ys, keep, i0, i1 } of parts) {
      const point = (/** @type {number} */ i) => {
        const x = fx(xs[i]), y = fy(ys[i]);
        if (!Number.isFinite(y) || !Number.isFinite(x)) return;
        if (started) ctx.lineTo(px(x), py(y));
        else { ctx.moveTo(px(x), py(y)); started = true; }
      };
      if (keep) for (const i of keep) point(i);
      else for (let i = i0; i < i1; i++) point(i);
    }
    ctx.stroke();
  };
  const counted = (/** @type {Part[]} */ parts) => parts.reduce((n, q) => n + (q.keep ? q.keep.length : q.i1 - q.i0), 0);
  const width = lineWidth(plan.reduce((n, p) => n + (p ? counted(p.parts) : 0), 0));
  plan.forEach((p, s) => {
    if (!p) return;
    ctx.strokeStyle = chart.color(s);
    ctx.lineWidth = width;
    ctx.setLineDash(chart.overlay[String(s)] !== undefined ? [6, 4] : []);
    ctx.globalAlpha = p.smooth ? 0.25 : 1;
    line(p.parts);
    if (p.smooth) { ctx.globalAlpha = 1; line(p.smooth); }
  });
  ctx.globalAlpha = 1;
  ctx.setLineDash([]);
  ctx.restore();
  const d = chart.drag;
  if (d && d.mode !== "pan") { // the range being selected
    ctx.fillStyle = theme.select;
    const box2 = d.mode === "box";
    const top = box2 ? Math.min(d.y, d.at.y) : box.t, bottom = box2 ? Math.max(d.y, d.at.y) : h - box.b;
    ctx.fillRect(Math.min(d.x, d.at.x), top, Math.abs(d.at.x - d.x), bottom - top);
  }
  if (chart.hover && !d) drawCrosshair(chart, ctx, plan, fx);
  ctx.textAlign = "left";
  drawBadge(chart);
  if (chart.answerSentAt !== null) {
    chart.answerLatency = now() - chart.answerSentAt;
    chart.answerSentAt = null;
  }
}

/** Show or hide the badge (see {@link LiveChart#ratio}). @param {LiveChart} chart */
function drawBadge(chart) {
  const text = chart.ratio();
  chart.badge.hidden = text === null;
  if (text === null) return;
  if (chart.badge.textContent !== text) chart.badge.textContent = text;
  chart.badge.style.right = `${chart.box.r + 4}px`;
  chart.badge.style.bottom = `${chart.box.b + 4}px`;
}

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
export function seriesParts(chart, s, x0, x1, columns) {
  const logx = chart.logx, logy = chart.log;
  const lo = logx ? 10 ** x0 : x0, hi = logx ? 10 ** x1 : x1;
  const c = chart.columns[s], own = c.x.values(), oy = c.y.values();
  const a = chart.answer, got = a ? a.series.get(s) : undefined;
  const cut = (/** @type {Part[]} */ out, /** @type {Float64Array} */ xs, /** @type {Float64Array} */ ys,
    /** @type {number} */ from, /** @type {number} */ to) => {
    const i0 = Math.max(from, firstAtOrAfter(xs, lo) - 1), i1 = Math.min(to, firstAtOrAfter(xs, hi) + 1);
    if (i1 > i0) out.push({ xs, ys, i0, i1, keep: null });
  };
  const after = (/** @type {Float64Array} */ xs, /** @type {number} */ x) => { // first index with xs[i] > x
    let i = firstAtOrAfter(xs, x);
    while (i < xs.length && xs[i] === x) i++;
    return i;
  };
  /** The page's own points around `xs` (before its first x and after its last), and xs itself. */
  const around = (/** @type {Part[]} */ out, /** @type {Float64Array} */ ys0, /** @type {Float64Array} */ xs,
    /** @type {Float64Array} */ ys, /** @type {{x: Column, y: Column} | null} */ tail) => {
    cut(out, own, ys0, 0, firstAtOrAfter(own, xs[0]));
    cut(out, xs, ys, 0, xs.length);
    if (tail) cut(out, tail.x.values(), tail.y.values(), 0, tail.x.length);
    else cut(out, own, ys0, after(own, xs[xs.length - 1]), own.length);
  };
  /** @type {Part[]} */
  const parts = [];
  if (got && a && a.zoomed && got.xs.length) around(parts, oy, got.xs, got.ys, null);
  else cut(parts, own, oy, 0, own.length);
  /** @type {Part[] | null} */
  let smooth = null;
  if (chart.smoothing > 0) {
    smooth = [];
    const sy = chart.smoothedValues(s);
    if (got && got.sx && got.sy && got.sx.length && a && a.weight === chart.smoothing) around(smooth, sy, got.sx, got.sy, got.tail);
    else cut(smooth, own, sy, 0, own.length);
  }
  const decimate = (/** @type {Part[]} */ list) => {
    if (list.reduce((n, q) => n + q.i1 - q.i0, 0) <= 2 * columns) return;
    for (const q of list) q.keep = m4(q.xs, q.ys, q.i0, q.i1, x0, x1, columns, logx, logy);
  };
  decimate(parts);
  if (smooth) decimate(smooth);
  return { parts, smooth };
}

/**
 * The crosshair at the pointer, with every series' value there.
 * @param {LiveChart} chart
 * @param {CanvasRenderingContext2D} ctx
 * @param {(SeriesPlan | null)[]} plan
 * @param {(v: number) => number} fx
 */
function drawCrosshair(chart, ctx, plan, fx) {
  const theme = THEMES[chart.theme], b = chart.box, hv = /** @type {{x: number, y: number}} */ (chart.hover);
  if (hv.x < b.l || hv.x > b.w - b.r || hv.y < b.t || hv.y > b.h - b.b) return;
  const at = chart.toData(hv.x, hv.y);
  const rawX = chart.logx ? 10 ** at.x : at.x;
  const lines = [`x = ${formatNumber(Number(rawX.toPrecision(6)))}`];
  /** @type {number[]} */
  const shown = [];
  const nearest = (/** @type {Part[]} */ parts) => { // the y of the point nearest to the cursor's x
    let best = NaN, distance = Infinity;
    for (const q of parts) {
      const i = q.i0 + firstAtOrAfter(q.xs.subarray(q.i0, q.i1), rawX);
      for (const j of [i - 1, i]) {
        const d = j >= q.i0 && j < q.i1 ? Math.abs(fx(q.xs[j]) - at.x) : Infinity;
        if (d < distance) { distance = d; best = q.ys[j]; }
      }
    }
    return best;
  };
  plan.forEach((p, s) => {
    if (!p || !p.parts.length) return;
    const value = formatNumber(Number(nearest(p.parts).toPrecision(6)));
    const smooth = p.smooth ? ` (smoothed ${formatNumber(Number(nearest(p.smooth).toPrecision(6)))})` : "";
    lines.push(`${chart.names[s] ?? s}: ${value}${smooth}`);
    shown.push(s);
  });
  ctx.strokeStyle = theme.axis;
  ctx.setLineDash([3, 3]);
  ctx.beginPath();
  ctx.moveTo(hv.x, b.t); ctx.lineTo(hv.x, b.h - b.b);
  ctx.moveTo(b.l, hv.y); ctx.lineTo(b.w - b.r, hv.y);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "left";
  const width = Math.max(...lines.map((l) => ctx.measureText(l).width)) + 10;
  const left = hv.x + 8 + width > b.w - b.r ? hv.x - 8 - width : hv.x + 8;
  ctx.fillStyle = theme.tip;
  ctx.fillRect(left, b.t + 2, width, 14 * lines.length + 6);
  lines.forEach((text, i) => {
    ctx.fillStyle = i ? chart.color(shown[i - 1]) : theme.text;
    ctx.fillText(text, left + 5, b.t + 2 + 14 * (i + 1));
  });
}

/**
 * The current view of `chart` as a PNG, with the legend of the series shown.
 * @param {LiveChart} chart
 * @returns {Promise<Blob>}
 */
export function chartPNG(chart) {
  chart.draw();
  const doc = chart.element.ownerDocument;
  const out = doc.createElement("canvas");
  out.width = chart.canvas.width;
  out.height = chart.canvas.height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (out.getContext("2d"));
  ctx.drawImage(chart.canvas, 0, 0);
  const dpr = chart.canvas.width / (chart.canvas.clientWidth || chart.canvas.width);
  ctx.scale(dpr, dpr);
  ctx.font = "11px system-ui, sans-serif";
  let y = chart.box.t + 14;
  chart.names.forEach((n, s) => {
    if (chart.hidden[s]) return;
    const right = chart.box.w - chart.box.r - 8;
    ctx.fillStyle = chart.color(s);
    ctx.textAlign = "right";
    ctx.fillText(`━ ${n}`, right, y);
    y += 14;
  });
  return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error("no PNG"))), "image/png"));
}
