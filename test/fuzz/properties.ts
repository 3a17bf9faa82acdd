/**
 * Property-based fuzz targets shared by the short runs in `test/fuzz/*.test.ts`
 * and the long run of `npm run fuzz` (bench/fuzz.ts). Each target is an
 * arbitrary (what inputs look like) and a check that throws when the
 * promise is broken:
 *
 * - parsers (wire decoder, legacy text, StatsD, config) return, or throw a
 *   coded {@link ZibratoError}; never anything else;
 * - the client API never throws, and every call is accounted for: sent,
 *   buffered, or counted as invalid/dropped/unsubscribed.
 */
import fc from 'fast-check';
import { Zibrato } from '../../src/client/zibrato.ts';
import { ZibratoError } from '../../src/errors.ts';
import { parseConfig, validateConfig } from '../../src/config/config.ts';
import { parseStatsdPacket } from '../../src/ingest/statsd-parser.ts';
import { LEVELS } from '../../src/levels.ts';
import { decodeBatch, recordValue } from '../../src/wire/batch-decoder.ts';
import { BatchWriter } from '../../src/wire/batch-writer.ts';
import { MetricKind } from '../../src/wire/constants.ts';
import { parseLegacyText } from '../../src/wire/legacy-text.ts';
import { encodeSeries } from '../../src/wire/series-encoding.ts';

/** Fails unless `err` is a coded Zibrato error: the only kind a parser may throw. */
export function expectCoded(what: string, err: unknown): void {
  if (err instanceof ZibratoError && typeof err.code === 'string' && err.code.startsWith('ZIB_ERR_')) return;
  throw new Error(`${what} threw something other than a coded ZibratoError: ${err instanceof Error ? err.stack : String(err)}`);
}

// ── inputs ──

/** Values an app might pass where a number or string belongs, hostile ones included. */
export function hostileValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.anything({ withBigInt: true, withBoxedValues: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true }) },
    { weight: 4, arbitrary: fc.double() },
    fc.constantFrom<unknown>(
      Symbol('s'),
      NaN,
      Infinity,
      -0,
      null,
      undefined,
      () => 1,
      { valueOf: () => { throw new Error('valueOf'); }, toString: () => { throw new Error('toString'); } },
      new Proxy({}, { get: () => { throw new Error('proxy get'); }, ownKeys: () => { throw new Error('proxy keys'); } }),
      Object.defineProperty({}, 'name', { enumerable: true, get: () => { throw new Error('getter'); } }),
    ),
  );
}

const shortString = fc.string({ maxLength: 12 });
const nameArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('a', 'b.c', 'req', 'x.y.z') }, { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) }, hostileValue());
const tagsArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 5, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom('k', 'route', 'user'), shortString), fc.oneof({ weight: 5, arbitrary: shortString }, fc.integer(), fc.boolean(), hostileValue()), { maxKeys: 70 }) },
  hostileValue(),
);
const levelArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom<unknown>(...LEVELS, undefined) }, hostileValue());
/** Any finite double, the largest and the smallest included, or a hostile value. */
const anyValueArb = fc.oneof({ weight: 6, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) }, hostileValue());

/** One client call; `records` is how many records (sent, buffered or counted) it must account for. */
export type ClientOp =
  | { op: 'count' | 'gauge' | 'gaugeInc' | 'gaugeDec' | 'timing'; o: unknown }
  | { op: 'emit'; level: unknown; kind: unknown; name: unknown; value: unknown; options: unknown }
  | { op: 'handle'; kind: 'counterHandle' | 'gaugeHandle' | 'timerHandle'; o: unknown; values: unknown[] }
  | { op: 'timer' | 'counter'; o: unknown }
  | { op: 'timed' | 'counted'; o: unknown; fn: unknown; calls: number }
  | { op: 'time'; o: unknown; fn: unknown }
  | { op: 'ready'; options: unknown }
  | { op: 'state'; level: unknown };

/** Client calls whose numbers come from `valueArb` (by default any finite double, or a hostile value). */
export function clientOps(valueArb: fc.Arbitrary<unknown> = anyValueArb): fc.Arbitrary<ClientOp> {
  const optionsArb = fc.oneof(
    { weight: 8, arbitrary: fc.record({ name: nameArb, level: levelArb, source: fc.oneof(fc.constant(undefined), shortString, hostileValue()), tags: tagsArb, value: valueArb, ms: valueArb, description: fc.oneof(shortString, hostileValue()), unit: fc.oneof(shortString, hostileValue()) }, { requiredKeys: ['name'] }) },
    hostileValue(),
  );
  return fc.oneof(
    fc.record({ op: fc.constantFrom('count' as const, 'gauge' as const, 'gaugeInc' as const, 'gaugeDec' as const, 'timing' as const), o: optionsArb }),
    fc.record({
      op: fc.constant('emit' as const),
      level: levelArb,
      kind: fc.oneof({ weight: 6, arbitrary: fc.constantFrom<unknown>('counter', 'gauge', 'gaugeDelta', 'timer', 'set') }, fc.constantFrom('toString', '__proto__', 'histogram'), hostileValue()),
      name: nameArb,
      value: fc.oneof(valueArb, shortString),
      options: fc.oneof({ weight: 6, arbitrary: fc.record({ source: fc.oneof(fc.constant(undefined), shortString), tags: tagsArb, sampleRate: fc.oneof(fc.constant(undefined), fc.double(), hostileValue()) }, { requiredKeys: [] }) }, hostileValue()),
    }),
    fc.record({ op: fc.constant('handle' as const), kind: fc.constantFrom('counterHandle' as const, 'gaugeHandle' as const, 'timerHandle' as const), o: optionsArb, values: fc.array(valueArb, { maxLength: 5 }) }),
    fc.record({ op: fc.constantFrom('timer' as const, 'counter' as const), o: optionsArb }),
    fc.record({ op: fc.constantFrom('timed' as const, 'counted' as const), o: optionsArb, fn: fc.oneof({ weight: 3, arbitrary: fc.constant<unknown>(() => 1) }, hostileValue()), calls: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ op: fc.constant('time' as const), o: optionsArb, fn: fc.oneof({ weight: 3, arbitrary: fc.constant<unknown>(() => 1) }, hostileValue()) }),
    fc.record({ op: fc.constant('ready' as const), options: fc.oneof(fc.record({ levels: fc.oneof(fc.array(levelArb, { maxLength: 3 }), hostileValue()), timeoutMs: fc.oneof(fc.constant(0), hostileValue()) }, { requiredKeys: [] }), hostileValue()) }),
    fc.record({ op: fc.constant('state' as const), level: levelArb }),
  );
}

export const clientOpArb: fc.Arbitrary<ClientOp> = clientOps();

// ── the client API ──

/** Everything the client has accounted for: each record it was given is in exactly one of these. */
function accounted(z: Zibrato): number {
  const s = z.stats();
  return s.sent + s.dropped + s.invalid + s.buffered + s.unsubscribed;
}

/**
 * A client connected to nothing (a port nobody listens on, so every level stays
 * buffered and nothing leaves the process), and a check that runs a sequence of
 * calls on it: none throws, a record-making call accounts for exactly one
 * record, making a handle or wrapper accounts for at most one (its options
 * were invalid), and reading state accounts for none.
 */
export function clientApiTarget(broker: string, maxBufferedRecords = 1000, batchBytes = 1024): { z: Zibrato; check: (ops: ClientOp[]) => void } {
  // A small buffer and batches by default, so the drop and seal paths are fuzzed too.
  const z = new Zibrato({ broker, maxBufferedRecords, batchBytes, log: () => undefined });
  const step = (what: string, min: number, max: number, call: () => unknown): unknown => {
    const before = accounted(z);
    let result: unknown;
    try {
      result = call();
    } catch (err) {
      throw new Error(`${what} threw: ${err instanceof Error ? err.stack : String(err)}`);
    }
    const delta = accounted(z) - before;
    if (delta < min || delta > max) throw new Error(`${what} accounted for ${delta} records, expected ${min === max ? min : `${min}–${max}`}`);
    return result;
  };
  const check = (ops: ClientOp[]): void => {
    for (const o of ops) {
      switch (o.op) {
        case 'count':
        case 'gauge':
        case 'gaugeInc':
        case 'gaugeDec':
        case 'timing':
          step(o.op, 1, 1, () => z[o.op](o.o as never));
          break;
        case 'emit':
          step('emit', 1, 1, () => z.emit(o.level as never, o.kind as never, o.name as never, o.value as never, o.options as never));
          break;
        case 'handle': {
          const h = step(o.kind, 0, 1, () => z[o.kind](o.o as never)) as { inc?: (v: unknown) => void; set?: (v: unknown) => void; record?: (v: unknown) => void; enabled: boolean };
          step('handle.enabled', 0, 0, () => h.enabled);
          for (const v of o.values) step(`${o.kind} write`, 1, 1, () => (h.inc ?? h.set ?? h.record)!.call(h, v));
          break;
        }
        case 'timer': {
          const t = step('timer', 0, 1, () => z.timer(o.o as never)) as { stop(): number };
          step('timer stop', 1, 1, () => t.stop());
          step('timer stop again', 0, 0, () => t.stop());
          break;
        }
        case 'counter': {
          const c = step('counter', 0, 1, () => z.counter(o.o as never)) as Disposable;
          step('counter dispose', 1, 1, () => c[Symbol.dispose]());
          break;
        }
        case 'timed':
        case 'counted': {
          const f = step(o.op, 0, 1, () => z[o.op](o.o as never, o.fn as never)) as () => unknown;
          for (let i = 0; i < o.calls; i++) step(`${o.op} call`, 1, 1, () => f());
          break;
        }
        case 'time':
          // Invalid options count once, and the record the timed call makes once more.
          step('time', 1, 2, () => z.time(o.o as never, o.fn as never));
          break;
        case 'ready':
          // Not awaited: a client connected to nothing resolves false after its timeout.
          step('ready', 0, 1, () => void z.ready(o.options as never).then(() => undefined));
          break;
        case 'state':
          step('isEnabled', 0, 0, () => z.isEnabled(o.level as never));
          step('stats', 0, 0, () => z.stats());
          step('flush', 0, 0, () => z.flush());
          break;
      }
    }
  };
  return { z, check };
}

// ── the wire decoder ──

const seriesArb = fc.record({
  kind: fc.constantFrom(MetricKind.counter, MetricKind.gauge, MetricKind.timer, MetricKind.set, MetricKind.gaugeDelta),
  name: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  source: fc.string({ unit: 'binary', maxLength: 20 }),
  tags: fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 10 }), { maxKeys: 4 }),
  sampleRate: fc.oneof(fc.constant(1), fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true })),
  // Wire version 3: a batch with a described series is sealed as version 3, the others stay version 2.
  description: fc.option(fc.string({ unit: 'binary', maxLength: 30 }), { nil: undefined }),
  unit: fc.option(fc.string({ unit: 'binary', maxLength: 10 }), { nil: undefined }),
});

/** A valid batch as the client writes it: series, then records referring to them. */
const validFrameArb = fc
  .tuple(fc.array(seriesArb, { minLength: 1, maxLength: 5 }), fc.array(fc.tuple(fc.nat(), fc.double({ noNaN: true, noDefaultInfinity: true })), { maxLength: 20 }))
  .map(([series, records]) => {
    const w = new BatchWriter(4096, 4096);
    const slots = series.map((s) => w.addSeries(encodeSeries(s.kind, s.name, s.source, s.tags, s.sampleRate, { description: s.description, unit: s.unit })));
    const values: number[] = [];
    for (const [i, v] of records) {
      w.append(slots[i % slots.length]!, v);
      values.push(v);
    }
    return { frame: new Uint8Array(w.seal(Date.now())), values, series };
  });

/** Bytes edited into a valid frame: overwrite, truncate, append. */
const mutationArb = fc.record({ writes: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), cut: fc.option(fc.nat()), extra: fc.uint8Array({ maxLength: 8 }) });

/** A frame, with what was written when it is valid. */
export interface FrameInput {
  frame: Uint8Array;
  values?: number[];
  series?: { kind: number; name: string; source: string; tags: Record<string, string>; sampleRate: number; description?: string; unit?: string }[];
}

export const frameArb: fc.Arbitrary<FrameInput> = fc.oneof(
  validFrameArb,
  fc.tuple(validFrameArb, mutationArb).map(([{ frame }, m]) => {
    let f = Uint8Array.from(frame);
    for (const [at, b] of m.writes) f[at % f.length] = b;
    if (m.cut !== null) f = f.subarray(0, m.cut % (f.length + 1));
    if (m.extra.length > 0) f = Uint8Array.from([...f, ...m.extra]);
    return { frame: f };
  }),
  fc.uint8Array({ maxLength: 200 }).map((frame) => ({ frame })),
);

/**
 * The decoder returns or throws a coded error, through its one public entry
 * (so every wire version it speaks is covered); a valid frame decodes to the
 * values written.
 */
export function checkFrame(input: FrameInput): void {
  let batch;
  try {
    batch = decodeBatch(input.frame);
  } catch (err) {
    if (input.values !== undefined) throw new Error(`a valid frame was rejected: ${(err as Error).message}`);
    expectCoded('decodeBatch', err);
    return;
  }
  if (input.values !== undefined) {
    if (batch.recordCount !== input.values.length) throw new Error(`decoded ${batch.recordCount} records, wrote ${input.values.length}`);
    input.values.forEach((v, i) => {
      if (!Object.is(recordValue(batch, i), v)) throw new Error(`record ${i}: decoded ${recordValue(batch, i)}, wrote ${v}`);
    });
  }
  input.series?.forEach((s, i) => {
    const d = batch.series[i];
    const same =
      d !== undefined &&
      d.kind === s.kind &&
      d.name === s.name &&
      d.source === s.source &&
      d.sampleRate === s.sampleRate &&
      JSON.stringify(Object.entries(d.tags).sort()) === JSON.stringify(Object.entries(s.tags).sort()) &&
      (d.description ?? '') === (s.description ?? '') &&
      (d.unit ?? '') === (s.unit ?? '');
    if (!same) throw new Error(`series ${i}: decoded ${JSON.stringify(d)}, wrote ${JSON.stringify(s)}`);
  });
}

// ── the legacy text parser ──

export const legacyTextArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc
    .tuple(
      fc.oneof(fc.constantFrom('info', 'DEBUG', ' warn ', 'crit'), shortString),
      fc.oneof(fc.constantFrom('Counter', 'gauge', 'TIMER', 'c', 'g', 'ms'), shortString),
      fc.oneof(fc.constantFrom('a.b', ''), fc.string({ unit: 'binary', maxLength: 300 })),
      fc.oneof(fc.double().map(String), fc.constantFrom('1e400', '-.5', '+3.', '0x10', ' 1 '), shortString),
      fc.option(fc.oneof(fc.double().map(String), shortString)),
      fc.option(shortString),
      fc.array(shortString, { maxLength: 2 }),
    )
    .map(([l, t, n, v, ts, src, more]) => [l, t, n, v, ...(ts !== null ? [ts] : []), ...(src !== null ? [src] : []), ...more].join('|')),
);

/** Returns a record with a finite value, or throws a coded error. */
export function checkLegacyText(text: string): void {
  try {
    const r = parseLegacyText(text);
    if (!Number.isFinite(r.value)) throw new Error(`parsed a non-finite value from ${JSON.stringify(text)}`);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('parsed a')) throw err;
    expectCoded('parseLegacyText', err);
  }
}

// ── the StatsD parser ──

const statsdLineArb = fc
  .tuple(
    fc.oneof(fc.constantFrom('a.b', 'x', ''), fc.string({ maxLength: 20 })),
    fc.array(fc.oneof(fc.double().map(String), fc.constantFrom('+1', '-2', '1e3', 'NaN', ''), shortString), { minLength: 1, maxLength: 3 }),
    fc.oneof(fc.constantFrom('c', 'g', 'ms', 'h', 's', 'd', 'x', ''), shortString),
    fc.array(
      fc.oneof(
        fc.oneof(fc.double(), fc.constantFrom('0', '1', '2', 'x')).map((r) => `@${r}`),
        fc.array(fc.tuple(shortString, fc.option(shortString)), { maxLength: 70 }).map((ts) => `#${ts.map(([k, v]) => (v === null ? k : `${k}:${v}`)).join(',')}`),
        fc.oneof(fc.double(), shortString).map((t) => `T${t}`),
        shortString,
      ),
      { maxLength: 4 },
    ),
  )
  .map(([name, values, type, fields]) => [`${name}:${values.join(':')}`, type, ...fields].join('|'));

export const statsdPacketArb: fc.Arbitrary<Uint8Array | string> = fc.oneof(
  fc.array(statsdLineArb, { maxLength: 5 }).map((lines) => lines.join('\n')),
  fc.uint8Array({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

/**
 * The lines of a packet the parser must account for: split at \\n, the empty
 * ones (and a bare \\r) left out. `bomOnly`: lines that are nothing but a
 * UTF-8 byte-order mark, which the UTF-8 decoder may strip to an empty line.
 */
function nonEmptyLines(data: Uint8Array | string): { lines: number; bomOnly: number } {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
  const lines = text.split('\n').filter((l) => l !== '' && l !== '\r');
  return { lines: lines.length, bomOnly: lines.filter((l) => /^(\uFEFF|\u00EF\u00BB\u00BF)\r?$/.test(l)).length };
}

/**
 * Never throws; every non-empty line is counted, and is malformed or gives at
 * least one sample (a line may carry several values); samples carry finite values.
 */
export function checkStatsdPacket(data: Uint8Array | string): void {
  const r = parseStatsdPacket(data);
  const { lines, bomOnly } = nonEmptyLines(data);
  if (r.lines > lines || r.lines < lines - bomOnly) throw new Error(`counted ${r.lines} lines of ${lines}`);
  if (r.malformed.length > r.lines) throw new Error(`${r.malformed.length} malformed of ${r.lines} lines`);
  if (r.samples.length < r.lines - r.malformed.length) throw new Error(`${r.samples.length} samples from ${r.lines - r.malformed.length} accepted lines: a line was lost without a count`);
  for (const s of r.samples) {
    if (!Number.isFinite(s.value)) throw new Error(`sample ${s.name} has value ${s.value}`);
    if (!(s.sampleRate > 0 && s.sampleRate <= 1)) throw new Error(`sample ${s.name} has rate ${s.sampleRate}`);
  }
}

// ── the config loader ──

// What YAML or JSON can produce: the loader validates parsed text, never arbitrary JS
// values (validateConfig given a null-prototype object or a throwing toString throws uncoded).
const configValueArb = fc.jsonValue({ maxDepth: 2 });
export const configArb: fc.Arbitrary<{ text: string } | { raw: unknown }> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ text })),
  fc
    .record(
      {
        broker: fc.oneof(fc.record({ publish: configValueArb, subscribe: configValueArb }, { requiredKeys: [] }), configValueArb),
        backends: fc.oneof(
          fc.array(
            fc.record(
              { name: configValueArb, sink: fc.oneof(fc.constantFrom('console', 'file', 'memory', 'graphite', 'nope'), configValueArb), levels: fc.oneof(fc.constantFrom('info+', 'all', 'loud'), configValueArb), flush: fc.oneof(fc.constantFrom('1s', '5ms', 'x'), configValueArb), options: fc.oneof(fc.dictionary(shortString, configValueArb, { maxKeys: 3 }), configValueArb) },
              { requiredKeys: [] },
            ),
            { maxLength: 3 },
          ),
          configValueArb,
        ),
        ingest: fc.oneof(fc.array(fc.record({ type: fc.oneof(fc.constant('statsd'), configValueArb), port: fc.oneof(fc.integer({ min: -1, max: 70000 }), configValueArb), host: configValueArb, defaultLevel: configValueArb }, { requiredKeys: [] }), { maxLength: 2 }), configValueArb),
        restart: fc.oneof(fc.record({ initialDelay: configValueArb, maxDelay: configValueArb }, { requiredKeys: [] }), configValueArb),
        extra: configValueArb,
      },
      { requiredKeys: [] },
    )
    .map((raw) => ({ raw })),
  fc.jsonValue({ maxDepth: 3 }).map((v) => ({ text: JSON.stringify(v) ?? '' })),
);

/** Parses or validates, or throws a coded error. */
export function checkConfig(input: { text: string } | { raw: unknown }): void {
  try {
    if ('text' in input) parseConfig(input.text, 'fuzz');
    else validateConfig(input.raw);
  } catch (err) {
    expectCoded('config', err);
  }
}
