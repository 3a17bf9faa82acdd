import { MalformedFrameError } from '../errors.js';
import { levelIndex } from '../levels.js';
import { MetricKind } from './constants.js';

/** A record in the original 2013 Zibrato text format. */
export interface LegacyRecord {
  level: number;
  kind: MetricKind;
  name: string;
  /** Timers are converted from seconds to milliseconds. */
  value: number;
  /** Epoch ms when the message carried a unix timestamp. */
  timestampMs?: number;
  source: string;
}

const LEGACY_KINDS: Record<string, MetricKind> = {
  counter: MetricKind.counter,
  c: MetricKind.counter,
  gauge: MetricKind.gauge,
  g: MetricKind.gauge,
  timer: MetricKind.timer,
  ms: MetricKind.timer,
};

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses `level|mtype|name|value[|unix_ts|source]` (one record per message).
 * mtype is Counter, Gauge or Timer (any case) or c, g, ms. A legacy Timer value
 * is in seconds and is returned in milliseconds. Throws {@link MalformedFrameError}
 * with the reason.
 */
export function parseLegacyText(text: string): LegacyRecord {
  const parts = text.split('|');
  if (parts.length < 4 || parts.length > 6) {
    throw new MalformedFrameError(`legacy message has ${parts.length} fields; expected level|mtype|name|value[|unix_ts|source]`);
  }
  const [levelName, mtype, name, valueText, tsText, source] = parts as [string, string, string, string, string?, string?];
  const level = levelIndex(levelName.trim().toLowerCase());
  if (level < 0) throw new MalformedFrameError(`legacy message has unknown level "${levelName}"`);
  const kind = LEGACY_KINDS[mtype.trim().toLowerCase()];
  if (kind === undefined) throw new MalformedFrameError(`legacy message has unknown metric type "${mtype}" (expected Counter, Gauge, Timer, c, g or ms)`);
  if (name.length === 0) throw new MalformedFrameError('legacy message has an empty name');
  if (Buffer.byteLength(name) > 255) throw new MalformedFrameError('legacy message name is longer than 255 bytes');
  if (!NUMBER.test(valueText.trim())) throw new MalformedFrameError(`legacy message value "${valueText}" is not a number`);
  let value = Number(valueText);
  if (!Number.isFinite(value)) throw new MalformedFrameError(`legacy message value "${valueText}" is not finite`);
  if (kind === MetricKind.timer) value *= 1000;
  // Seconds near the largest double overflow to Infinity as milliseconds (found by fuzzing).
  if (!Number.isFinite(value)) throw new MalformedFrameError(`legacy message timer value "${valueText}" s is too large in ms`);
  const rec: LegacyRecord = { level, kind, name, value, source: source ?? '' };
  if (tsText !== undefined && tsText !== '') {
    const ts = Number(tsText);
    if (!Number.isFinite(ts) || ts < 0) throw new MalformedFrameError(`legacy message timestamp "${tsText}" is not a unix time`);
    rec.timestampMs = ts * 1000;
  }
  return rec;
}

/** Formats a record in the legacy text format (used by tests and `zibrato send --legacy`). */
export function formatLegacyText(level: string, mtype: 'Counter' | 'Gauge' | 'Timer', name: string, value: number, unixTs?: number, source?: string): string {
  let s = `${level}|${mtype}|${name}|${value}`;
  if (unixTs !== undefined || source !== undefined) s += `|${unixTs ?? ''}`;
  if (source !== undefined) s += `|${source}`;
  return s;
}
