/**
 * Call every listener in `set` with `arg`; a failing listener is logged, not
 * propagated.
 * @param {Set<(arg: any) => void> | undefined} set @param {string} label @param {unknown} arg
 */
export function dispatch(set: Set<(arg: any) => void> | undefined, label: string, arg: unknown): void;
/**
 * Add `fn` to the set of `key` in `map`.
 * @param {Map<string, Set<(arg: any) => void>>} map @param {string} key @param {(arg: any) => void} fn
 */
export function addTo(map: Map<string, Set<(arg: any) => void>>, key: string, fn: (arg: any) => void): void;
/**
 * nbws-listeners.js — the listeners of a `Connection`: the lifecycle events
 * of `conn.on(event, fn)` (every other name is a user topic, `conn.topic`),
 * and calling a set of listeners where one failing does not stop the rest.
 * Served beside nbws.js, which re-exports `LIFECYCLE_EVENTS`.
 */
/** The events of `conn.on(event, fn)`; every other name is a user topic (`conn.topic`). */
export const LIFECYCLE_EVENTS: readonly ["open", "close", "status", "error", "message", "binary", "resync"];
/** @typedef {typeof LIFECYCLE_EVENTS[number]} LifecycleEvent */
/** @type {Set<string>} */
export const LIFECYCLE: Set<string>;
/** @type {Set<string>} topics already warned about, once per page */
export const WARNED: Set<string>;
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];
