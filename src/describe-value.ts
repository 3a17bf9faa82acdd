/**
 * A short, safe description of any value for a diagnostic. Never calls
 * `toString`/`valueOf` of an object (they may throw) and never stringifies a
 * Symbol implicitly (that throws).
 */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(v);
    case 'symbol':
      return 'a Symbol';
    case 'function':
      return 'a function';
    default:
      return v === null ? 'null' : Array.isArray(v) ? 'an array' : 'an object';
  }
}

/** `v` as text for a parser: strings and numbers as they are, anything else by {@link describeValue} (never its own `toString`). */
export function plainText(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : describeValue(v);
}
