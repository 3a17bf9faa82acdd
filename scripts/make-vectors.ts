#!/usr/bin/env -S node --import tsx
/**
 * Generates the byte-exact test vectors in test/vectors/ from the reference
 * encoder in src/wire (docs/wire-format.md, "Test vectors").
 *
 *   node --import tsx scripts/make-vectors.ts          # (re)write test/vectors/*.json
 *   node --import tsx scripts/make-vectors.ts --check  # exit 1 if a file would change
 *
 * Three kinds of file:
 * - `native-*.json`: records in plain JSON and the two frames (topic, batch) in hex.
 * - `legacy-text.json`: 2013 text messages and what a receiver must decode.
 * - `malformed.json`: batches and texts a receiver must reject, with a
 *   substring of the reason it gives.
 *
 * The vectors are the contract for publishers in other languages
 * (examples/python/publish_native.py --check-vectors test/vectors), so never
 * change an existing vector's bytes: add a new one.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LEVELS, type Level } from '../src/levels.js';
import { BatchWriter, encodeSeries, hashSetMember, LEVEL_TOPICS, MetricKind, shardTopic, stampSequence } from '../src/wire/index.js';

/** Metric type names as they appear in vector files. */
export type VectorType = 'counter' | 'gauge' | 'timer' | 'set' | 'gaugeDelta';

/** One record of a native vector, in plain JSON. */
export interface VectorRecord {
  type: VectorType;
  name: string;
  source: string;
  tags: Record<string, string>;
  /** The f64 that goes on the wire. For sets: hashSetMember(member). */
  value: number;
  /** Present only for sampled series (0 < rate < 1). */
  sampleRate?: number;
  /** Sets only: the member whose hash is `value`. */
  member?: string;
  /** Version 3: the series' description (present only when it has one). */
  seriesDescription?: string;
  /** Version 3: the series' unit (present only when it has one). */
  unit?: string;
}

/** A `native-*.json` file. Without `version` it is a version 1 vector (16-byte header). */
export interface NativeVector {
  description: string;
  /** 2 for version 2 vectors (`native-v2-*.json`), 3 for version 3 (`native-v3-*.json`: described series); absent for version 1. */
  version?: 2 | 3;
  /** Version 2: the 8-byte publisher id, lowercase hex. */
  publisherId?: string;
  /** Version 2: records this publisher sent on this topic before the batch. */
  sequence?: number;
  /** A shard topic (`info|2/3|`, docs/wire-format.md "Shard topics"); absent: the level topic. */
  shard?: { index: number; count: number };
  level: Level;
  records: VectorRecord[];
  sentAtMs: number;
  /** [topic frame, batch frame], lowercase hex. */
  frames: [string, string];
}

/** A `legacy-text.json` entry. */
export interface LegacyVector {
  description: string;
  text: string;
  expected: { level: Level; kind: VectorType; name: string; value: number; timestampMs?: number; source: string };
}

/** A `malformed.json` entry: exactly one of `hex` (a batch frame) or `text` (a legacy message). */
export interface MalformedVector {
  description: string;
  hex?: string;
  text?: string;
  /** A substring of the MalformedFrameError message. */
  reason: string;
}

export const KIND_OF_TYPE: Readonly<Record<VectorType, MetricKind>> = {
  counter: MetricKind.counter,
  gauge: MetricKind.gauge,
  timer: MetricKind.timer,
  set: MetricKind.set,
  gaugeDelta: MetricKind.gaugeDelta,
};

/**
 * Encodes records into [topic, batch] the way the client does: a series enters
 * the table the first time a record uses it (identity = the encoded entry, so
 * type, flags, rate, name, source and sorted tags), records keep their order.
 */
export function encodeVectorFrames(level: Level, records: readonly VectorRecord[], sentAtMs: number, v2?: { publisherId: string; sequence: number }, shard?: { index: number; count: number }): [Buffer, Buffer] {
  const writer = v2 ? new BatchWriter(64 * 1024, 16 * 1024, Buffer.from(v2.publisherId, 'hex'), 2) : new BatchWriter(64 * 1024, 16 * 1024, undefined, 1);
  const slots = new Map<string, number>();
  for (const r of records) {
    const described = r.seriesDescription !== undefined || r.unit !== undefined;
    const entry = encodeSeries(KIND_OF_TYPE[r.type], r.name, r.source, r.tags, r.sampleRate ?? 1, described ? { description: r.seriesDescription, unit: r.unit } : undefined);
    const key = Buffer.from(entry).toString('hex');
    let slot = slots.get(key);
    if (slot === undefined) {
      slot = writer.addSeries(entry);
      if (slot < 0) throw new Error('vector too large for one batch');
      slots.set(key, slot);
    }
    writer.append(slot, r.value);
  }
  const frame = writer.seal(sentAtMs);
  if (v2) stampSequence(frame, v2.sequence);
  return [Buffer.from(shard ? shardTopic(LEVELS.indexOf(level), shard.index, shard.count) : LEVEL_TOPICS[LEVELS.indexOf(level)]!), frame];
}

const SENT_AT_MS = 1_700_000_000_123.25;

function rec(type: VectorType, name: string, value: number, more: Partial<VectorRecord> = {}): VectorRecord {
  return { type, name, source: '', tags: {}, value, ...more };
}
function setRec(name: string, member: string, more: Partial<VectorRecord> = {}): VectorRecord {
  return { type: 'set', name, source: '', tags: {}, value: hashSetMember(member), member, ...more };
}

/** Counters: one series used twice, a second series, a negative and a fractional increment. */
function counters(): VectorRecord[] {
  return [rec('counter', 'requests', 1), rec('counter', 'requests', 3), rec('counter', 'errors', 1), rec('counter', 'errors', -2), rec('counter', 'requests', 0.5)];
}
/** One record of every type from one source, tags on two of them. */
function everyType(): VectorRecord[] {
  return [
    rec('counter', 'jobs.done', 1, { source: 'worker-7', tags: { queue: 'mail' } }),
    rec('timer', 'jobs.duration', 153.75, { source: 'worker-7', tags: { queue: 'mail' } }),
    rec('gauge', 'jobs.pending', 12, { source: 'worker-7' }),
    setRec('jobs.recipients', 'a@example.com'),
    rec('gaugeDelta', 'jobs.pending', -1, { source: 'worker-7' }),
  ];
}

function nativeVectors(): Record<string, Omit<NativeVector, 'frames'>> {
  return {
    'native-counters': {
      description: 'Counters: one series used twice, a second series, a negative and a fractional increment. The table holds each series once, in order of first use.',
      level: 'info',
      records: counters(),
      sentAtMs: SENT_AT_MS,
    },
    'native-gauges': {
      description: 'Gauges with a source: the last value wins at the receiver. Includes a negative, a large and a tiny value.',
      level: 'warn',
      records: [
        rec('gauge', 'queue.depth', 42, { source: 'web-1' }),
        rec('gauge', 'queue.depth', 17.5, { source: 'web-1' }),
        rec('gauge', 'temperature', -273.15),
        rec('gauge', 'bytes.total', 1.5e300),
        rec('gauge', 'epsilon', 5e-324),
      ],
      sentAtMs: SENT_AT_MS,
    },
    'native-timers': {
      description: 'Timers in milliseconds, from two sources (two series with the same name).',
      level: 'info',
      records: [
        rec('timer', 'db.query', 12.5, { source: 'web-1' }),
        rec('timer', 'db.query', 3.25, { source: 'web-2' }),
        rec('timer', 'db.query', 0, { source: 'web-1' }),
        rec('timer', 'db.query', 1000.125, { source: 'web-1' }),
      ],
      sentAtMs: SENT_AT_MS,
    },
    'native-sets': {
      description: 'Sets: each value is hashSetMember(member) (src/wire/set-member.ts); the receiver counts distinct values (here 2).',
      level: 'info',
      records: [setRec('users.unique', 'alice'), setRec('users.unique', 'bob'), setRec('users.unique', 'alice'), setRec('users.unique', '')],
      sentAtMs: SENT_AT_MS,
    },
    'native-gauge-deltas': {
      description: 'Gauge deltas (type 5, StatsD +N/-N) after an absolute gauge; gauge and gauge delta are different series entries.',
      level: 'debug',
      records: [rec('gauge', 'pool.size', 10), rec('gaugeDelta', 'pool.size', 5), rec('gaugeDelta', 'pool.size', -2)],
      sentAtMs: SENT_AT_MS,
    },
    'native-tags': {
      description: 'Tags are written sorted by key (JSON order here is deliberately not sorted); a tag may have an empty value. The same tags in another order are the same series.',
      level: 'error',
      records: [
        rec('counter', 'http.requests', 1, { tags: { region: 'eu-west', method: 'GET', canary: '' } }),
        rec('counter', 'http.requests', 2, { tags: { method: 'GET', canary: '', region: 'eu-west' } }),
        rec('counter', 'http.requests', 1, { tags: { method: 'POST', canary: '', region: 'eu-west' } }),
        rec('timer', 'http.latency', 8.5, { source: 'api', tags: { b: '2', a: '1', c: '3' } }),
      ],
      sentAtMs: SENT_AT_MS,
    },
    'native-unicode': {
      description: 'UTF-8 names, sources, tag keys and values (lengths are in bytes, not characters), including characters outside the BMP.',
      level: 'info',
      records: [
        rec('counter', 'café.requêtes', 1, { source: 'wörker-1' }),
        rec('gauge', 'π.計算', 3.14159, { tags: { 'ключ': 'значение', 'emoji': '🚀' } }),
        setRec('users.名前', 'Zoë 👩‍💻'),
      ],
      sentAtMs: SENT_AT_MS,
    },
    'native-sampled': {
      description: 'Sampled series (StatsD @rate): series flag bit 0 set and an f64 rate after the flags. Counters count value/rate, timers weigh 1/rate. The same name sampled and unsampled is two entries.',
      level: 'info',
      records: [
        rec('counter', 'requests', 1, { sampleRate: 0.1 }),
        rec('counter', 'requests', 1, { sampleRate: 0.1 }),
        rec('counter', 'requests', 1),
        rec('timer', 'render', 20, { sampleRate: 0.25, tags: { page: 'home' } }),
        rec('timer', 'render', 30, { sampleRate: 0.25, tags: { page: 'home' } }),
      ],
      sentAtMs: SENT_AT_MS,
    },
    'native-multiple-series': {
      description: 'Every type in one batch, records interleaved across series, at level crit.',
      level: 'crit',
      records: [
        ...everyType(),
        rec('counter', 'jobs.done', 1, { source: 'worker-7', tags: { queue: 'mail' } }),
        rec('timer', 'jobs.duration', 98, { source: 'worker-7', tags: { queue: 'mail' } }),
        setRec('jobs.recipients', 'b@example.com'),
        rec('counter', 'jobs.failed', 1, { source: 'worker-7', tags: { queue: 'mail', reason: 'timeout' } }),
      ],
      sentAtMs: SENT_AT_MS,
    },
    'native-empty': {
      description: 'A batch with no series and no records is valid (a receiver does nothing with it).',
      level: 'info',
      records: [],
      sentAtMs: 0,
    },
    'native-v2-counters': {
      description: 'Version 2 (32-byte header): the counters of native-counters.json from publisher 0102030405060708, its first batch on this topic (sequence 0).',
      version: 2,
      publisherId: '0102030405060708',
      sequence: 0,
      level: 'info',
      records: counters(),
      sentAtMs: SENT_AT_MS,
    },
    'native-v2-sequence': {
      description: 'Version 2: a sequence above 2^32 (4,294,967,301 records sent before this batch) so both u32 halves of the u64 are non-zero; every type, at level crit.',
      version: 2,
      publisherId: 'f00dfacecafe0001',
      sequence: 4_294_967_301,
      level: 'crit',
      records: everyType(),
      sentAtMs: SENT_AT_MS,
    },
    'native-v2-shard': {
      description: 'Version 2 on a shard topic: shard 2 of 3 of level info (info|2/3|), sequence 42 on that shard\'s own stream. The batch is an ordinary version 2 batch; only the topic differs.',
      version: 2,
      publisherId: '5a4d5a4d00000003',
      sequence: 42,
      level: 'info',
      shard: { index: 2, count: 3 },
      records: [rec('counter', 'orders.placed', 1, { tags: { region: 'eu' } }), rec('timer', 'orders.latency', 12.5, { tags: { region: 'eu' } }), rec('counter', 'orders.placed', 2, { tags: { region: 'eu' } })],
      sentAtMs: SENT_AT_MS,
    },
    'native-v2-sampled': {
      description: 'Version 2 with sampled series and tags, sequence 1000 (the publisher had sent 1,000 records at this level).',
      version: 2,
      publisherId: 'ffffffffffffffff',
      sequence: 1000,
      level: 'warn',
      records: [rec('counter', 'requests', 1, { sampleRate: 0.1 }), rec('timer', 'render', 20, { sampleRate: 0.25, tags: { page: 'home' } }), rec('counter', 'requests', 1)],
      sentAtMs: SENT_AT_MS,
    },
    'native-v3-described': {
      description:
        'Version 3: series flag bit 1 set, and a description and a unit (u8 length + UTF-8 each) after the tags. A batch is version 3 only because it declares a described series; the header is version 2\'s. A series with only a unit has an empty description; an undescribed series in the same batch has no extra bytes.',
      version: 3,
      publisherId: '0a0b0c0d0e0f1011',
      sequence: 7,
      level: 'info',
      records: [
        rec('timer', 'http.duration', 12.5, { tags: { route: '/' }, seriesDescription: 'Time to answer an HTTP request', unit: 'ms' }),
        rec('gauge', 'heap.used', 1048576, { unit: 'bytes' }),
        rec('counter', 'requests', 1),
        rec('timer', 'http.duration', 3, { tags: { route: '/' }, seriesDescription: 'Time to answer an HTTP request', unit: 'ms' }),
      ],
      sentAtMs: SENT_AT_MS,
    },
  };
}

function legacyVectors(): LegacyVector[] {
  const v = (description: string, text: string, expected: LegacyVector['expected']): LegacyVector => ({ description, text, expected });
  return [
    v('Counter, four fields', 'info|Counter|requests|1', { level: 'info', kind: 'counter', name: 'requests', value: 1, source: '' }),
    v('Gauge with a timestamp', 'warn|Gauge|queue.depth|42.5|1700000000', { level: 'warn', kind: 'gauge', name: 'queue.depth', value: 42.5, timestampMs: 1_700_000_000_000, source: '' }),
    v('Timer in seconds becomes milliseconds', 'info|Timer|db.query|0.0125|1700000000|web-1', { level: 'info', kind: 'timer', name: 'db.query', value: 12.5, timestampMs: 1_700_000_000_000, source: 'web-1' }),
    v('Empty timestamp before a source', 'error|Counter|failures|3||web-2', { level: 'error', kind: 'counter', name: 'failures', value: 3, source: 'web-2' }),
    v('Short type names and any case', 'crit|MS|latency|2|1700000000.5', { level: 'crit', kind: 'timer', name: 'latency', value: 2000, timestampMs: 1_700_000_000_500, source: '' }),
    v('Short counter name c', 'debug|c|hits|-4', { level: 'debug', kind: 'counter', name: 'hits', value: -4, source: '' }),
    v('Short gauge name g, exponent value', 'info|g|big|1.5e3', { level: 'info', kind: 'gauge', name: 'big', value: 1500, source: '' }),
    v('Upper-case type name', 'info|GAUGE|mem|.5', { level: 'info', kind: 'gauge', name: 'mem', value: 0.5, source: '' }),
    v('UTF-8 name and source', 'info|Counter|café|1||wörker', { level: 'info', kind: 'counter', name: 'café', value: 1, source: 'wörker' }),
  ];
}

/** A hand-built batch: header + raw table bytes + raw record bytes. */
function batch(seriesCount: number, recordCount: number, table: number[], records: Buffer = Buffer.alloc(0), opts: { version?: number; sentAtMs?: number; headerBytes?: number } = {}): string {
  const h = Buffer.alloc(opts.headerBytes ?? 16);
  h[0] = opts.version ?? 1;
  h.writeUInt16LE(seriesCount, 2);
  h.writeUInt32LE(recordCount, 4);
  h.writeDoubleLE(opts.sentAtMs ?? SENT_AT_MS, 8);
  return Buffer.concat([h, Buffer.from(table), records]).toString('hex');
}
function record(series: number, value: number): Buffer {
  const b = Buffer.alloc(10);
  b.writeUInt16LE(series, 0);
  b.writeDoubleLE(value, 2);
  return b;
}
function str(s: string): number[] {
  const b = Buffer.from(s, 'utf8');
  return [b.length, ...b];
}
function f64(v: number): number[] {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v, 0);
  return [...b];
}
/** Counter `c`, no source, no tags. */
const COUNTER_C = [1, 0, ...str('c'), 0, 0];

function malformedVectors(): MalformedVector[] {
  const m = (description: string, hex: string, reason: string): MalformedVector => ({ description, hex, reason });
  const t = (description: string, text: string, reason: string): MalformedVector => ({ description, text, reason });
  return [
    m('Empty frame', '', 'shorter than the 16-byte batch header'),
    m('15 bytes: shorter than the header', batch(0, 0, []).slice(0, 30), 'shorter than the 16-byte batch header'),
    m('Version 4', batch(0, 0, [], undefined, { version: 4, headerBytes: 32 }), 'unsupported wire version 4'),
    m('Version 3 with only the 16-byte version 1 header', batch(0, 0, [], undefined, { version: 3 }), 'shorter than the 32-byte version 2 header'),
    m('Version 3 described series whose unit is missing', batch(1, 0, [1, 2, ...str('c'), 0, 0, ...str('about c')], undefined, { version: 3, headerBytes: 32 }), 'series 0 unit length runs past the end'),
    m('Version 2 with only the 16-byte version 1 header', batch(0, 0, [], undefined, { version: 2 }), 'shorter than the 32-byte version 2 header'),
    m('Version 2 sequence above 2^53 - 1', (() => {
      const b = Buffer.from(batch(0, 0, [], undefined, { version: 2, headerBytes: 32 }), 'hex');
      b.writeUInt32LE(0xffff_ffff, 28);
      return b.toString('hex');
    })(), 'is above 2^53 - 1'),
    m('Version 0', batch(0, 0, [], undefined, { version: 0 }), 'unsupported wire version 0'),
    m('Header timestamp is NaN', batch(0, 0, [], undefined, { sentAtMs: NaN }), 'timestamp is not a finite number'),
    m('Series table declared but absent', batch(1, 0, []), 'runs past the end of the frame'),
    m('Name length runs past the end', batch(1, 0, [1, 0, 10, 0x61, 0x62]), 'runs past the end of the frame'),
    m('Source length byte missing', batch(1, 0, [1, 0, ...str('c')]), 'runs past the end of the frame'),
    m('Tag value missing', batch(1, 0, [1, 0, ...str('c'), 0, 1, ...str('k')]), 'runs past the end of the frame'),
    m('Sample rate cut short', batch(1, 0, [1, 1, 0, 0, 0]), 'runs past the end of the frame'),
    m('Name is not UTF-8', batch(1, 1, [1, 0, 2, 0xc3, 0x28, 0, 0], record(0, 1)), 'is not valid UTF-8'),
    m('Source is not UTF-8', batch(1, 1, [1, 0, ...str('c'), 1, 0xff, 0], record(0, 1)), 'source is not valid UTF-8'),
    m('Tag key is not UTF-8', batch(1, 1, [1, 0, ...str('c'), 0, 1, 1, 0x80, ...str('v')], record(0, 1)), 'tag 0 key is not valid UTF-8'),
    m('Tag value is not UTF-8', batch(1, 1, [1, 0, ...str('c'), 0, 1, ...str('k'), 3, 0xe2, 0x82, 0x28], record(0, 1)), 'tag 0 value is not valid UTF-8'),
    m('Empty name', batch(1, 1, [1, 0, 0, 0, 0], record(0, 1)), 'empty name'),
    m('Empty tag key', batch(1, 1, [1, 0, ...str('c'), 0, 1, 0, ...str('v')], record(0, 1)), 'tag 0 has an empty key'),
    m('65 tags', batch(1, 1, [1, 0, ...str('c'), 0, 65, ...Array.from({ length: 65 }, (_, i) => [...str(`k${i}`), ...str('v')]).flat()], record(0, 1)), 'has 65 tags; at most 64'),
    m('Type 0', batch(1, 1, [0, 0, ...str('c'), 0, 0], record(0, 1)), 'unknown type 0'),
    m('Type 6', batch(1, 1, [6, 0, ...str('c'), 0, 0], record(0, 1)), 'unknown type 6'),
    m('Sample rate 0', batch(1, 1, [1, 1, ...f64(0), ...str('c'), 0, 0], record(0, 1)), 'outside (0, 1]'),
    m('Sample rate above 1', batch(1, 1, [1, 1, ...f64(1.5), ...str('c'), 0, 0], record(0, 1)), 'outside (0, 1]'),
    m('Sample rate negative', batch(1, 1, [1, 1, ...f64(-0.5), ...str('c'), 0, 0], record(0, 1)), 'outside (0, 1]'),
    m('Sample rate NaN', batch(1, 1, [1, 1, ...f64(NaN), ...str('c'), 0, 0], record(0, 1)), 'outside (0, 1]'),
    m('Fewer record bytes than record_count × 10', batch(1, 2, COUNTER_C, record(0, 1)), 'declares 2 records'),
    m('More record bytes than record_count × 10', batch(1, 1, COUNTER_C, Buffer.concat([record(0, 1), record(0, 1)])), 'declares 1 records'),
    m('A stray byte after the records', batch(1, 1, COUNTER_C, Buffer.concat([record(0, 1), Buffer.from([0])])), 'declares 1 records'),
    m('Records without a table', batch(0, 1, [], record(0, 1)), 'refers to series 0, but the batch declares 0'),
    m('Series index past the table', batch(1, 2, COUNTER_C, Buffer.concat([record(0, 1), record(1, 1)])), 'record 1 refers to series 1'),
    m('Value NaN', batch(1, 1, COUNTER_C, record(0, NaN)), 'non-finite value'),
    m('Value +Infinity', batch(1, 1, COUNTER_C, record(0, Infinity)), 'non-finite value'),
    m('Value -Infinity', batch(1, 1, COUNTER_C, record(0, -Infinity)), 'non-finite value'),
    t('Too few fields', 'info|Counter|requests', 'has 3 fields'),
    t('Too many fields', 'info|Counter|requests|1|1700000000|web-1|extra', 'has 7 fields'),
    t('Unknown level', 'notice|Counter|requests|1', 'unknown level "notice"'),
    t('Unknown metric type', 'info|Histogram|requests|1', 'unknown metric type "Histogram"'),
    t('Empty name', 'info|Counter||1', 'empty name'),
    t('Name longer than 255 bytes', `info|Counter|${'n'.repeat(256)}|1`, 'longer than 255 bytes'),
    t('Value is not a number', 'info|Counter|requests|one', 'is not a number'),
    t('Value is empty', 'info|Gauge|requests|', 'is not a number'),
    t('Value is Infinity', 'info|Gauge|requests|Infinity', 'is not a number'),
    t('Value overflows to Infinity', 'info|Gauge|requests|1e999', 'is not finite'),
    t('Timestamp is not a number', 'info|Counter|requests|1|yesterday', 'is not a unix time'),
    t('Timestamp is negative', 'info|Counter|requests|1|-5', 'is not a unix time'),
  ];
}

/** The publisher id and sequence of a version 2 vector; undefined for version 1. */
export function v2Of(v: Omit<NativeVector, 'frames'>): { publisherId: string; sequence: number } | undefined {
  return v.version === 2 || v.version === 3 ? { publisherId: v.publisherId!, sequence: v.sequence! } : undefined;
}

const HEADER = 'Generated by scripts/make-vectors.ts from src/wire; see docs/wire-format.md. Do not edit by hand.';

/** Every vector file: name → JSON text. */
export function buildVectorFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, v] of Object.entries(nativeVectors())) {
    const [topic, frame] = encodeVectorFrames(v.level, v.records, v.sentAtMs, v2Of(v), v.shard);
    const full: NativeVector = { ...v, frames: [topic.toString('hex'), frame.toString('hex')] };
    files.set(`${name}.json`, JSON.stringify(full, null, 2) + '\n');
  }
  files.set('legacy-text.json', JSON.stringify({ description: `Legacy (2013) text messages and their decoding. ${HEADER}`, vectors: legacyVectors() }, null, 2) + '\n');
  files.set('malformed.json', JSON.stringify({ description: `Frames (hex, the batch frame of a native message) and legacy texts that receivers must reject; reason is a substring of the error message. ${HEADER}`, vectors: malformedVectors() }, null, 2) + '\n');
  return files;
}

export const VECTOR_DIR = fileURLToPath(new URL('../test/vectors/', import.meta.url));

function main(): void {
  const check = process.argv.includes('--check');
  mkdirSync(VECTOR_DIR, { recursive: true });
  let stale = 0;
  for (const [name, text] of buildVectorFiles()) {
    const path = join(VECTOR_DIR, name);
    let old = '';
    try {
      old = readFileSync(path, 'utf8');
    } catch {
      // a new file
    }
    if (old === text) continue;
    stale++;
    if (check) console.error(`${name}: out of date`);
    else {
      writeFileSync(path, text);
      console.log(`wrote test/vectors/${name}`);
    }
  }
  if (check && stale > 0) process.exit(1);
  if (!check && stale === 0) console.log('test/vectors is up to date');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
