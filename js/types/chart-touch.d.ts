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
/** Fingers closer than this (px) along an axis do not zoom it (their distance is noise). */
export const PINCH_MIN_PX: 24;
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
    chart: import("./chart-live.js").LiveChart;
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
export type LiveChart = import("./chart.js").LiveChart;
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
