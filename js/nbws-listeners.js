// @ts-check
/**
 * nbws-listeners.js — the listeners of a `Connection`: the lifecycle events
 * of `conn.on(event, fn)` (every other name is a user topic, `conn.topic`),
 * and calling a set of listeners where one failing does not stop the rest.
 * Served beside nbws.js, which re-exports `LIFECYCLE_EVENTS`.
 */

/** The events of `conn.on(event, fn)`; every other name is a user topic (`conn.topic`). */
export const LIFECYCLE_EVENTS = Object.freeze(/** @type {const} */ (["open", "close", "status", "error", "message", "binary", "resync"]));

/** @typedef {typeof LIFECYCLE_EVENTS[number]} LifecycleEvent */

/** @type {Set<string>} */
export const LIFECYCLE = new Set(LIFECYCLE_EVENTS);
/** @type {Set<string>} topics already warned about, once per page */
export const WARNED = new Set();

/**
 * Call every listener in `set` with `arg`; a failing listener is logged, not
 * propagated.
 * @param {Set<(arg: any) => void> | undefined} set @param {string} label @param {unknown} arg
 */
export function dispatch(set, label, arg) {
  for (const fn of [...(set ?? [])]) {
    try {
      fn(arg);
    } catch (err) {
      console.error(`nbws: a ${label} listener failed`, err);
    }
  }
}

/**
 * Add `fn` to the set of `key` in `map`.
 * @param {Map<string, Set<(arg: any) => void>>} map @param {string} key @param {(arg: any) => void} fn
 */
export function addTo(map, key, fn) {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(fn);
}
