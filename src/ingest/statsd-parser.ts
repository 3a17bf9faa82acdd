/**
 * StatsD / DogStatsD line protocol → Zibrato samples. Pure functions: no I/O,
 * no logging; the server counts and logs what {@link parseStatsdPacket} reports.
 *
 * One line:
 *
 * ```
 * name:value[:value…]|type[|@rate][|#tag[:value],…][|T<unix seconds>][|c:…][|e:…][|card:…]
 * ```
 *
 * The fields after the type may come in any order. Lines are separated by `\n`
 * (a trailing `\r` is ignored); a datagram or TCP stream may carry many. The
 * specification of what is accepted, and why, is docs/ingest.md.
 */
import { LEVELS, levelIndex, type Level } from '../levels.js';
import { MAX_STRING_BYTES, MAX_TAGS } from '../wire/constants.js';
import { hashSetMember } from '../wire/set-member.js';

/** Kinds a StatsD line maps to; the names of the client's `emit` kinds. */
export type StatsdKind = 'counter' | 'gauge' | 'gaugeDelta' | 'timer' | 'set';

/** One value of one StatsD line, ready for `Zibrato.emit`. */
export interface StatsdSample {
  level: Level;
  kind: StatsdKind;
  name: string;
  /** For sets: hashSetMember(member). For gauge deltas: the signed change. */
  value: number;
  /** 1, or the `@rate` of a counter or timer (receivers scale by 1/rate). Always 1 for gauges and sets. */
  sampleRate: number;
  /** DogStatsD tags without the level and source tags. Shared by the samples of one line: do not mutate. */
  tags: Record<string, string>;
  /** The value of the source tag, if the line had one. */
  source: string | undefined;
  /** `|T<unix>` in epoch ms, if given. Zibrato aggregates by arrival; this is reported, not used for placement. */
  timestampMs: number | undefined;
}

/** A line that was rejected, and why. */
export interface MalformedLine {
  /** The line, cut to 200 characters for logging. */
  line: string;
  reason: string;
}

/** The result of parsing one datagram or chunk of lines. */
export interface ParsedPacket {
  samples: StatsdSample[];
  malformed: MalformedLine[];
  /** Non-empty lines seen (accepted + malformed). */
  lines: number;
}

export interface StatsdParserOptions {
  /** Level of a line without a level tag. Default `info`. */
  defaultLevel?: Level;
  /** Tag key that sets the level (and is removed from the tags). Default `level`. */
  levelTag?: string;
  /** Tag key that sets the source (and is removed from the tags). Default `source`; `''` disables it. */
  sourceTag?: string;
}

/** Options with every default applied; build once with {@link resolveStatsdParserOptions}. */
export interface ResolvedStatsdParserOptions {
  readonly defaultLevel: Level;
  readonly levelTag: string;
  readonly sourceTag: string;
}

export function resolveStatsdParserOptions(options: StatsdParserOptions = {}): ResolvedStatsdParserOptions {
  return {
    defaultLevel: options.defaultLevel ?? 'info',
    levelTag: options.levelTag ?? 'level',
    sourceTag: options.sourceTag ?? 'source',
  };
}

const DEFAULTS = resolveStatsdParserOptions();

const TYPES: Readonly<Record<string, StatsdKind>> = {
  c: 'counter',
  g: 'gauge',
  ms: 'timer',
  h: 'timer',
  d: 'timer',
  s: 'set',
};

/** A decimal number as StatsD clients write it: no hex, no `Infinity`, no `NaN`, no spaces. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_LOGGED_LINE = 200;

/** Thrown inside this module to reject one line; never escapes. */
class LineError {
  constructor(readonly reason: string) {}
}

function parseNumber(text: string, what: string): number {
  if (!NUMBER.test(text)) throw new LineError(`${what} "${text.slice(0, 40)}" is not a number`);
  const v = Number(text);
  if (!Number.isFinite(v)) throw new LineError(`${what} "${text.slice(0, 40)}" is not finite`);
  return v;
}

function checkLength(s: string, what: string): void {
  // Cheap pre-check: a string of ≤ 85 UTF-16 units is at most 255 UTF-8 bytes.
  if (s.length > MAX_STRING_BYTES / 3 && Buffer.byteLength(s) > MAX_STRING_BYTES) {
    throw new LineError(`${what} is longer than ${MAX_STRING_BYTES} bytes`);
  }
}

/**
 * Parses one line (without its newline) and appends its samples to `out`.
 * Returns null when the line was accepted (or blank), or the reason it was
 * rejected; a rejected line appends nothing.
 */
export function parseStatsdLine(rawLine: string, out: StatsdSample[], options: ResolvedStatsdParserOptions = DEFAULTS): string | null {
  const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
  if (line.length === 0) return null;
  try {
    parseLineInto(line, out, options);
    return null;
  } catch (err) {
    if (err instanceof LineError) return err.reason;
    throw err;
  }
}

function parseLineInto(line: string, out: StatsdSample[], options: ResolvedStatsdParserOptions): void {
  if (line.startsWith('_e{') || line.startsWith('_sc|')) {
    throw new LineError('DogStatsD events and service checks are not metrics; Zibrato ingests metrics only');
  }
  const colon = line.indexOf(':');
  const firstBar = line.indexOf('|');
  if (colon < 0 || (firstBar >= 0 && firstBar < colon)) throw new LineError('no ":" between name and value (expected name:value|type)');
  if (colon === 0) throw new LineError('empty metric name');
  if (firstBar < 0) throw new LineError('no "|type" after the value (expected name:value|type)');
  const name = line.slice(0, colon);
  checkLength(name, 'metric name');
  const valueText = line.slice(colon + 1, firstBar);
  const fields = line.slice(firstBar + 1).split('|');
  const typeText = fields[0]!;
  const type = TYPES[typeText];
  if (type === undefined) throw new LineError(`unknown metric type "${typeText.slice(0, 20)}" (expected c, g, ms, h, d or s)`);

  let sampleRate = 1;
  let tags: Record<string, string> = {};
  let level = options.defaultLevel;
  let source: string | undefined;
  let timestampMs: number | undefined;
  for (let i = 1; i < fields.length; i++) {
    const f = fields[i]!;
    const c0 = f.charCodeAt(0);
    if (c0 === 0x40 /* @ */) {
      sampleRate = parseNumber(f.slice(1), 'sample rate');
      if (!(sampleRate > 0 && sampleRate <= 1)) throw new LineError(`sample rate ${f.slice(1)} is outside (0, 1]`);
    } else if (c0 === 0x23 /* # */) {
      const parsed = parseTags(f.slice(1), options);
      tags = parsed.tags;
      if (parsed.level !== undefined) level = parsed.level;
      if (parsed.source !== undefined) source = parsed.source;
    } else if (c0 === 0x54 /* T */) {
      const ts = parseNumber(f.slice(1), 'timestamp');
      if (ts < 0) throw new LineError(`timestamp ${f.slice(1)} is not a unix time`);
      timestampMs = ts * 1000;
    } else if (f.startsWith('c:') || f.startsWith('e:') || f.startsWith('card:')) {
      // DogStatsD container id, external data and tag cardinality: meaningful to a Datadog agent only.
    } else if (f.length === 0) {
      throw new LineError('empty field between "|"');
    } else {
      throw new LineError(`unknown field "|${f.slice(0, 20)}"`);
    }
  }
  // StatsD ignores the sample rate of gauges and sets (a gauge is a last value, a set counts members).
  if (type !== 'counter' && type !== 'timer') sampleRate = 1;

  const start = out.length;
  if (type === 'set') {
    // A set member is the whole value text, so members may contain ":" (host:port, IPv6).
    if (valueText.length === 0) throw new LineError('empty set member');
    out.push({ level, kind: 'set', name, value: hashSetMember(valueText), sampleRate, tags, source, timestampMs });
    return;
  }
  if (valueText.length === 0) throw new LineError('empty value');
  const values = valueText.split(':');
  try {
    for (const text of values) {
      let kind: StatsdKind = type;
      // StatsD: a gauge value with an explicit sign is a change, not a new value.
      if (type === 'gauge' && (text.charCodeAt(0) === 0x2b /* + */ || text.charCodeAt(0) === 0x2d) /* - */) kind = 'gaugeDelta';
      const value = parseNumber(text, 'value');
      out.push({ level, kind, name, value, sampleRate, tags, source, timestampMs });
    }
  } catch (err) {
    out.length = start; // a line is accepted whole or not at all
    throw err;
  }
}

function parseTags(text: string, options: ResolvedStatsdParserOptions): { tags: Record<string, string>; level?: Level; source?: string } {
  const tags: Record<string, string> = {};
  let level: Level | undefined;
  let source: string | undefined;
  let count = 0;
  for (const item of text.split(',')) {
    if (item.length === 0) continue; // "#a,,b" and a trailing comma are harmless
    const sep = item.indexOf(':');
    const key = sep < 0 ? item : item.slice(0, sep);
    const value = sep < 0 ? '' : item.slice(sep + 1);
    if (key.length === 0) throw new LineError(`tag "${item.slice(0, 40)}" has an empty key`);
    if (key === options.levelTag) {
      const idx = levelIndex(value.toLowerCase());
      if (idx < 0) throw new LineError(`tag ${key}:${value.slice(0, 20)} is not a level (expected one of ${LEVELS.join(', ')})`);
      level = LEVELS[idx]!;
      continue;
    }
    if (key === options.sourceTag) {
      checkLength(value, 'source');
      source = value;
      continue;
    }
    checkLength(key, 'tag key');
    checkLength(value, `tag "${key.slice(0, 40)}" value`);
    if (!(key in tags)) count++;
    tags[key] = value;
  }
  if (count > MAX_TAGS) throw new LineError(`${count} tags; a series may carry at most ${MAX_TAGS}`);
  const result: { tags: Record<string, string>; level?: Level; source?: string } = { tags };
  if (level !== undefined) result.level = level;
  if (source !== undefined) result.source = source;
  return result;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function shorten(line: string): string {
  return line.length > MAX_LOGGED_LINE ? line.slice(0, MAX_LOGGED_LINE) + '…' : line;
}

/**
 * Parses a datagram (or a chunk of complete TCP lines): every line is parsed on
 * its own, so one malformed line does not cost the others. Bytes that are not
 * UTF-8 make only their own line malformed.
 */
export function parseStatsdPacket(data: Uint8Array | string, options: ResolvedStatsdParserOptions = DEFAULTS): ParsedPacket {
  const result: ParsedPacket = { samples: [], malformed: [], lines: 0 };
  if (typeof data === 'string') {
    parseLines(data, result, options);
    return result;
  }
  let text: string;
  try {
    text = strictUtf8.decode(data);
  } catch {
    // Rare: find the bad lines one by one.
    let start = 0;
    while (start <= data.length) {
      let end = data.indexOf(0x0a, start);
      if (end < 0) end = data.length;
      const bytes = data.subarray(start, end);
      try {
        parseLines(strictUtf8.decode(bytes), result, options);
      } catch {
        result.lines++;
        result.malformed.push({ line: shorten(Buffer.from(bytes).toString('utf8')), reason: 'line is not valid UTF-8' });
      }
      start = end + 1;
    }
    return result;
  }
  parseLines(text, result, options);
  return result;
}

function parseLines(text: string, result: ParsedPacket, options: ResolvedStatsdParserOptions): void {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.length === 0 || line === '\r') continue;
    result.lines++;
    const reason = parseStatsdLine(line, result.samples, options);
    if (reason !== null) result.malformed.push({ line: shorten(line), reason });
  }
}
