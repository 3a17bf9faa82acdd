import { MAX_STRING_BYTES, MAX_TAGS } from '../wire/constants.js';
import type { Tags } from '../wire/series-encoding.js';

/**
 * Checks of what an app passes, shared by the constructor (which throws) and
 * the calls (which count and report). They run once per new series, never per
 * record: the handle cache answers repeats before any of this.
 */

import { describeValue } from '../describe-value.js';

export { describeValue };

/**
 * A tag value as it is sent: strings as they are; finite numbers and booleans
 * as their string form (`200` → `"200"`, `true` → `"true"`), as prom-client
 * does with label values. Anything else (objects, arrays, Symbols, null,
 * undefined, NaN, ±Infinity, bigints) is not a tag value: `undefined` is
 * returned and the call is rejected, rather than sending `"[object Object]"`.
 */
export function tagValueString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return v - v === 0 ? String(v) : undefined;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return undefined;
}

/**
 * What a tags argument becomes: string tags and a copy of the values as given
 * (what the handle cache matches later calls against), or why it is not valid.
 */
export type TagsCheck = { tags: Tags | undefined; raw: Readonly<Record<string, unknown>> | undefined; problem?: undefined } | { tags?: undefined; raw?: undefined; problem: string };

/**
 * Validates a tags object (`undefined` is no tags) and returns a copy with
 * string values. The keys are walked with for-in, as the handle cache walks
 * them, so what is checked is what is looked up.
 */
export function checkTags(tags: unknown, what = 'tags'): TagsCheck {
  if (tags === undefined) return { tags: undefined, raw: undefined };
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
    return { problem: `${what} must be an object of string values like { route: "/checkout" }, got ${describeValue(tags)}` };
  }
  // Without a prototype, so a tag named "__proto__" is a tag like any other. Each value is
  // read once: a getter cannot make the series encoded differ from the key it is cached under.
  const out = Object.create(null) as Record<string, string>;
  const raw = Object.create(null) as Record<string, unknown>;
  let n = 0;
  for (const k in tags) {
    const given = (tags as Record<string, unknown>)[k];
    const v = tagValueString(given);
    if (v === undefined) return { problem: `${what}.${k.slice(0, 40)} is ${describeValue(given)}; tag values must be strings (finite numbers and booleans are sent as their string form)` };
    if (k.length === 0) return { problem: `${what} has an empty key` };
    if (Buffer.byteLength(k) > MAX_STRING_BYTES) return { problem: `${what} key "${k.slice(0, 40)}…" is longer than ${MAX_STRING_BYTES} bytes` };
    if (Buffer.byteLength(v) > MAX_STRING_BYTES) return { problem: `${what}.${k.slice(0, 40)} is longer than ${MAX_STRING_BYTES} bytes` };
    if (++n > MAX_TAGS) return { problem: `${what} has more than ${MAX_TAGS} keys` };
    out[k] = v;
    raw[k] = given;
  }
  return { tags: out, raw };
}

/** True for a sample rate in (0, 1]: the fraction of events one record stands for. */
export function isSampleRate(v: unknown): v is number {
  return typeof v === 'number' && v > 0 && v <= 1;
}
