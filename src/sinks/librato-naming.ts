import type { MetricPoint } from './sink.js';
import { sanitizePathSegment, tagsWithSource } from './series-path.js';

/** Longest metric name (and Librato source) the Librato and AppOptics APIs accept. */
export const LIBRATO_MAX_NAME_LENGTH = 255;

/**
 * A metric name for Librato or AppOptics: characters outside `[A-Za-z0-9.:_-]`
 * become `_`, and the result is cut to 255 characters (an empty name becomes `_`).
 */
export function libratoName(name: string): string {
  return (name.replace(/[^A-Za-z0-9.:_-]/g, '_') || '_').slice(0, LIBRATO_MAX_NAME_LENGTH);
}

/** Legacy Librato has no tags: they are folded into the name as `.key.value` segments, sorted by key (the source is not a tag there). */
export function libratoFoldedName(p: MetricPoint, prefix: string): string {
  const parts = [prefix, p.name].filter((s) => s !== '');
  for (const [k, v] of tagsWithSource({ ...p, source: '' })) parts.push(sanitizePathSegment(k), sanitizePathSegment(v));
  return libratoName(parts.join('.'));
}
