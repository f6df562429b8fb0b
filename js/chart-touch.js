// @ts-check
/**
 * chart-touch.js — the chart's touch gestures (pan, pinch, tap, long press,
 * double tap: {@link TouchGestures}) and their maths. Served beside
 * chart.js, which re-exports every name (import them from `/_nbws/chart.js`).
 */

/** @typedef {import("./chart.js").LiveChart} LiveChart */

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
export function gestureRange(lo, hi, from, to, size, scale = 1) {
  const span = hi - lo, at = lo + (from / size) * span, wide = span * scale;
  const start = at - (to / size) * wide;
  return [start, start + wide];
}

/** Fingers closer than this (px) along an axis do not zoom it (their distance is noise). */
export const PINCH_MIN_PX = 24;

/**
 * How much wider the range gets when two fingers `before` px apart (along an
 * axis) are `now` px apart: `before / now` (fingers spreading zoom in),
 * kept within 1/20..20 per gesture; 1 when they started closer than
 * {@link PINCH_MIN_PX}.
 * @param {number} before @param {number} now
 * @returns {number}
 */
export function pinchScale(before, now) {
  before = Math.abs(before); now = Math.abs(now);
  if (before < PINCH_MIN_PX) return 1;
  return Math.min(20, Math.max(1 / 20, before / Math.max(now, 1)));
}

/**
 * Which axes a two-finger pinch zooms, from where the fingers were when it
 * began (`dx`, `dy`: their distance apart in px): x when the line through them
 * is less than 60° from horizontal, y when more than 30°; so a horizontal
 * pinch zooms x, a vertical one y, a diagonal one both.
 * @param {number} dx @param {number} dy
 * @returns {{x: boolean, y: boolean}}
 */
export function pinchAxes(dx, dy) {
  const ax = Math.abs(dx), ay = Math.abs(dy);
  return { x: ay < ax * Math.tan(Math.PI / 3), y: ay > ax * Math.tan(Math.PI / 6) };
}

/** A press held this long (ms) without moving turns into a crosshair drag. */
export const LONG_PRESS_MS = 500;
/** Two taps this close in time (ms) and place ({@link DOUBLE_TAP_PX}) are a double tap. */
export const DOUBLE_TAP_MS = 350;
/** How far (px) apart the two taps of a double tap may be. */
export const DOUBLE_TAP_PX = 30;
/** A finger that moves less than this (px) is still tapping or pressing. */
export const TAP_SLOP_PX = 8;

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
  constructor(chart) {
    this.chart = chart;
    /** @type {Map<number, Spot>} the fingers down: pointer id -> canvas position (CSS px) */
    this.fingers = new Map();
    /** @type {Gesture | null} */
    this.gesture = null;
    /** @type {(Spot & {t: number}) | null} the last tap, for a double tap */
    this.lastTap = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pressTimer = undefined;
    /** when a finger last went down or up (`performance.now()`) */
    this.lastTouch = -Infinity;
    const c = chart.canvas;
    c.addEventListener("pointerdown", (ev) => this.down(ev));
    c.addEventListener("pointermove", (ev) => this.move(ev));
    c.addEventListener("pointerup", (ev) => this.up(ev, false));
    c.addEventListener("pointercancel", (ev) => this.up(ev, true));
  }

  /** True when a finger went down or up in the last `ms` milliseconds. @param {number} ms */
  touchedWithin(ms) {
    return performance.now() - this.lastTouch <= ms;
  }

  /** @private @param {PointerEvent} ev @returns {Spot} */
  spot(ev) {
    const rect = this.chart.canvas.getBoundingClientRect();
    return { x: ev.clientX - rect.left, y: ev.clientY - rect.top };
  }

  /** @private @param {"press" | "pan" | "scrub" | "pinch"} kind @returns {Gesture} */
  begin(kind) {
    const z = this.chart.zoom, v = this.chart.view; // the zoom asked for last may not be drawn yet
    const view = v && (z ? { x0: z.x0, x1: z.x1, y0: z.y0 ?? v.y0, y1: z.y1 ?? v.y1 } : { ...v });
    return { kind, start: new Map(this.fingers), view, y: [z ? z.y0 : null, z ? z.y1 : null] };
  }

  /** @private @param {PointerEvent} ev */
  down(ev) {
    if (ev.pointerType !== "touch") return;
    ev.preventDefault(); // no mouse events made up from this touch
    this.lastTouch = performance.now();
    try { this.chart.canvas.setPointerCapture(ev.pointerId); } catch { /* the pointer is gone already */ }
    this.fingers.set(ev.pointerId, this.spot(ev));
    clearTimeout(this.pressTimer);
    if (this.fingers.size === 1) {
      this.gesture = this.begin("press");
      const at = this.spot(ev);
      this.pressTimer = setTimeout(() => {
        if (this.gesture && this.gesture.kind === "press") { this.gesture.kind = "scrub"; this.showAt(at); }
      }, LONG_PRESS_MS);
    } else if (this.fingers.size === 2) {
      this.gesture = this.begin("pinch");
      this.chart.hover = null;
      this.chart.schedule();
    }
  }

  /** @private @param {PointerEvent} ev */
  move(ev) {
    if (!this.fingers.has(ev.pointerId)) return;
    const now = this.spot(ev);
    this.fingers.set(ev.pointerId, now);
    const g = this.gesture;
    if (!g) return;
    if (g.kind === "press") {
      const was = /** @type {Spot} */ (g.start.get(ev.pointerId));
      if (Math.hypot(now.x - was.x, now.y - was.y) < TAP_SLOP_PX) return;
      clearTimeout(this.pressTimer);
      g.kind = "pan";
      this.chart.hover = null;
    }
    if (g.kind === "scrub") this.showAt(now);
    else this.apply(g);
  }

  /** @private @param {PointerEvent} ev @param {boolean} cancelled */
  up(ev, cancelled) {
    if (!this.fingers.has(ev.pointerId)) return;
    const at = this.spot(ev);
    this.lastTouch = performance.now();
    this.fingers.delete(ev.pointerId);
    const g = this.gesture;
    if (this.fingers.size === 0) {
      clearTimeout(this.pressTimer);
      this.gesture = null;
      if (g && g.kind === "press" && !cancelled) this.tap(at, ev.timeStamp);
    } else if (g && g.kind === "pinch" && this.fingers.size === 1) {
      this.gesture = this.begin("pan"); // the finger left pans on from where it is, without a jump
    }
  }

  /** @private @param {Spot} at @param {number} t */
  tap(at, t) {
    const last = this.lastTap;
    if (last && t - last.t <= DOUBLE_TAP_MS && Math.hypot(at.x - last.x, at.y - last.y) <= DOUBLE_TAP_PX) {
      this.lastTap = null;
      this.chart.hover = null;
      this.chart.follow();
      return;
    }
    this.lastTap = { ...at, t };
    this.showAt(at);
  }

  /** @private @param {Spot} at */
  showAt(at) {
    this.chart.hover = at;
    this.chart.schedule();
  }

  /** The view the fingers ask for now, from the view when the gesture began. @private @param {Gesture} g */
  apply(g) {
    const v = g.view, b = this.chart.box;
    if (!v) return;
    const w = b.w - b.l - b.r, h = b.h - b.t - b.b;
    const ids = [...g.start.keys()].filter((id) => this.fingers.has(id)).slice(0, 2);
    if (!ids.length) return;
    const from = ids.map((id) => /** @type {Spot} */ (g.start.get(id)));
    const to = ids.map((id) => /** @type {Spot} */ (this.fingers.get(id)));
    const mid = (/** @type {Spot[]} */ s, /** @type {"x" | "y"} */ k) => s.reduce((n, p) => n + p[k], 0) / s.length;
    const two = g.kind === "pinch" && ids.length === 2;
    const axes = two ? pinchAxes(from[1].x - from[0].x, from[1].y - from[0].y) : { x: false, y: false };
    const sx = axes.x ? pinchScale(from[1].x - from[0].x, to[1].x - to[0].x) : 1;
    const [x0, x1] = gestureRange(v.x0, v.x1, mid(from, "x") - b.l, mid(to, "x") - b.l, w, sx);
    let y0 = g.y[0], y1 = g.y[1];
    if (axes.y) { // from the plot's bottom up
      const up = (/** @type {number} */ py) => b.h - b.b - py;
      [y0, y1] = gestureRange(v.y0, v.y1, up(mid(from, "y")), up(mid(to, "y")), h,
        pinchScale(from[1].y - from[0].y, to[1].y - to[0].y));
    }
    this.chart.setZoom({ x0, x1, y0, y1 });
  }
}
