import { elapsedMs, now } from './clock.js';
import type { SeriesHandle } from './series-handle.js';

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Wraps `fn` so each call is timed until it returns, throws, or (for a
 * promise) settles. When nobody subscribes to the level, the wrapper only
 * forwards the call.
 */
export function wrapTimed<F extends (...args: never[]) => unknown>(handle: SeriesHandle, fn: F): F {
  const timed = function (this: unknown): unknown {
    if (!handle.enabled) return fn.apply(this, arguments as unknown as never[]);
    const start = now();
    let result: unknown;
    try {
      result = fn.apply(this, arguments as unknown as never[]);
    } catch (err) {
      handle.write(elapsedMs(start));
      throw err;
    }
    if (isThenable(result)) return timeSettlement(handle, result, start);
    handle.write(elapsedMs(start));
    return result;
  };
  return timed as unknown as F;
}

/**
 * Records when a promise settles. A function of its own so that the closures
 * capturing `start` exist only for promises: a closure inside the wrapper
 * would make V8 allocate a context on every call, sync ones included.
 */
function timeSettlement(handle: SeriesHandle, result: PromiseLike<unknown>, start: bigint): PromiseLike<unknown> {
  return result.then(
    (v) => {
      handle.write(elapsedMs(start));
      return v;
    },
    (err: unknown) => {
      handle.write(elapsedMs(start));
      throw err;
    },
  );
}

/** Wraps `fn` so each call is counted once when it returns, throws or settles. */
export function wrapCounted<F extends (...args: never[]) => unknown>(handle: SeriesHandle, fn: F, value: number): F {
  const counted = function (this: unknown): unknown {
    let result: unknown;
    try {
      result = fn.apply(this, arguments as unknown as never[]);
    } catch (err) {
      handle.write(value);
      throw err;
    }
    if (isThenable(result)) {
      return result.then(
        (v) => {
          handle.write(value);
          return v;
        },
        (err: unknown) => {
          handle.write(value);
          throw err;
        },
      );
    }
    handle.write(value);
    return result;
  };
  return counted as unknown as F;
}
