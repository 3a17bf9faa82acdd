/**
 * A tag with thousands of values (a user id): past WIDE_TAG_VALUES values,
 * one-off calls write its series from a template instead of a handle per
 * value. What reaches the wire must be what a handle per value sends.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ALL_LEVELS_MASK } from '../../src/levels.ts';
import { InputProblems } from '../../src/client/input-problems.ts';
import { RecordBuffer } from '../../src/client/record-buffer.ts';
import { SeriesHandle } from '../../src/client/series-handle.ts';
import { WIDE_TAG_VALUES, WideTagHandle } from '../../src/client/wide-tag-handle.ts';
import type { HandleCache } from '../../src/client/handle-cache.ts';
import type { Zibrato } from '../../src/client/zibrato.ts';
import type { CounterPoint, TimerPoint } from '../../src/sinks/sink.ts';
import { decodeBatch, encodeSeries, encodeSeriesTemplate, MetricKind, recordSeries, recordValue, type SeriesMetadata, type Tags } from '../../src/wire/index.ts';
import { withReadyClient } from '../helpers/in-process.ts';

const INFO = 1;
const PUBLISHER = new Uint8Array(8).fill(7);

function newBuffer(maxBufferedRecords = 1_000_000): { buffer: RecordBuffer; problems: InputProblems; reports: string[] } {
  const buffer = new RecordBuffer(maxBufferedRecords, 64 * 1024, ALL_LEVELS_MASK, () => undefined, PUBLISHER);
  const reports: string[] = [];
  return { buffer, problems: new InputProblems(buffer, (l) => reports.push(l)), reports };
}

interface Series {
  kind: MetricKind;
  name: string;
  source: string;
  tags: Tags;
  key: string;
  sampleRate: number;
  metadata: SeriesMetadata | undefined;
}

function wideHandle(s: Series, buffer: RecordBuffer, problems: InputProblems): WideTagHandle {
  const { prefix, suffix } = encodeSeriesTemplate(s.kind, s.name, s.source, s.tags, s.key, s.sampleRate, s.metadata);
  return new WideTagHandle(buffer, problems, INFO, s.name, prefix, suffix);
}

/** The queued frames with the send time (bytes 8–15 of the header) zeroed: what two buffers must agree on. */
function frames(buffer: RecordBuffer): Buffer[] {
  buffer.sealAll();
  return buffer.queue.map((b) => {
    const f = Buffer.from(b.frame);
    f.fill(0, 8, 16);
    return f;
  });
}

/**
 * Each record in order: the wire version, its series entry's bytes and its value.
 * A value seen again after another took its memo slot is a second entry of the same series in the batch.
 */
function records(buffer: RecordBuffer): { version: number; entry: string; value: number }[] {
  buffer.sealAll();
  return buffer.queue.flatMap((b) => {
    const batch = decodeBatch(b.frame);
    return Array.from({ length: batch.recordCount }, (_, i) => {
      const s = batch.series[recordSeries(batch, i)]!;
      const entry = Buffer.from(encodeSeries(s.kind, s.name, s.source, s.tags, s.sampleRate, s)).toString('hex');
      return { version: b.frame[0]!, entry, value: recordValue(batch, i) };
    });
  });
}

/** Per tag value of `key`, the sum of the values recorded. */
function sumsByTag(buffer: RecordBuffer, key: string): Map<string, number> {
  const out = new Map<string, number>();
  buffer.sealAll();
  for (const b of buffer.queue) {
    const batch = decodeBatch(b.frame);
    for (let i = 0; i < batch.recordCount; i++) {
      const v = batch.series[recordSeries(batch, i)]!.tags[key]!;
      out.set(v, (out.get(v) ?? 0) + recordValue(batch, i));
    }
  }
  return out;
}

const ascii = (max: number) => fc.string({ unit: fc.constantFrom(...'abcxyz019_-./ :'.split('')), minLength: 0, maxLength: max });
const anyText = (min: number, max: number) => fc.string({ unit: 'grapheme', minLength: min, maxLength: max });

const seriesArb: fc.Arbitrary<Series> = fc
  .record({
    kind: fc.constantFrom(MetricKind.counter, MetricKind.gauge, MetricKind.gaugeDelta, MetricKind.timer),
    name: anyText(1, 30),
    source: anyText(0, 20),
    others: fc.dictionary(anyText(1, 12), anyText(0, 12), { maxKeys: 4 }),
    key: anyText(1, 12),
    sampleRate: fc.oneof(fc.constant(1), fc.double({ min: 0.001, max: 1, noNaN: true })),
    metadata: fc.option(fc.record({ description: anyText(0, 20), unit: anyText(0, 8) }), { nil: undefined }),
  })
  .map(({ others, key, ...rest }) => ({ ...rest, key, tags: { ...others, [key]: '' } }));

describe('a wide tag written from its template', () => {
  test('sends the records a handle per value sends, each series entry byte for byte (any series, any ASCII values)', () => {
    fc.assert(
      fc.property(seriesArb, fc.array(fc.tuple(ascii(255), fc.double({ noNaN: true, noDefaultInfinity: true })), { minLength: 1, maxLength: 40 }), (s, writes) => {
        const a = newBuffer();
        const b = newBuffer();
        const wide = wideHandle(s, a.buffer, a.problems);
        const perValue = new Map<string, SeriesHandle>();
        for (const [value, v] of writes) {
          assert.equal(wide.aim(value), true);
          wide.write(v);
          let h = perValue.get(value);
          if (h === undefined) {
            const tags = { ...s.tags, [s.key]: value };
            perValue.set(value, (h = new SeriesHandle(b.buffer, b.problems, INFO, s.name, encodeSeries(s.kind, s.name, s.source, tags, s.sampleRate, s.metadata))));
          }
          h.write(v);
        }
        assert.deepEqual(records(a.buffer), records(b.buffer));
        // Where the 64-entry memo did not collide, the batches are the same bytes too.
        if (new Set(writes.map(([value]) => value)).size === 1) assert.deepEqual(frames(a.buffer), frames(b.buffer));
      }),
      { numRuns: 300 },
    );
  });

  test('a value repeated in one batch reuses its series entry, and values that share a memo slot stay apart', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 199 }), { minLength: 1, maxLength: 2000 }), (users) => {
        const { buffer, problems } = newBuffer();
        const wide = wideHandle({ kind: MetricKind.counter, name: 'req', source: 'svc', tags: { user: '' }, key: 'user', sampleRate: 1, metadata: undefined }, buffer, problems);
        const expected = new Map<string, number>();
        for (const u of users) {
          wide.aim(`u${u}`);
          wide.write(1);
          expected.set(`u${u}`, (expected.get(`u${u}`) ?? 0) + 1);
        }
        buffer.sealAll();
        const batch = decodeBatch(buffer.queue[0]!.frame);
        assert.equal(buffer.queue.length, 1);
        // At most one entry per distinct value, however the 64 memo slots collide.
        assert.ok(batch.series.length <= users.length);
        assert.deepEqual(sumsByTag(buffer, 'user'), expected);
      }),
      { numRuns: 100 },
    );
    const { buffer, problems } = newBuffer();
    const wide = wideHandle({ kind: MetricKind.counter, name: 'req', source: 'svc', tags: { user: '' }, key: 'user', sampleRate: 1, metadata: undefined }, buffer, problems);
    for (let i = 0; i < 10; i++) {
      wide.aim('u1');
      wide.write(1);
    }
    buffer.sealAll();
    assert.equal(decodeBatch(buffer.queue[0]!.frame).series.length, 1);
  });

  test('declines what it cannot write as it is: non-ASCII or over-long values, and sharded levels', () => {
    const { buffer, problems } = newBuffer();
    const wide = wideHandle({ kind: MetricKind.counter, name: 'req', source: 'svc', tags: { user: '' }, key: 'user', sampleRate: 1, metadata: undefined }, buffer, problems);
    assert.equal(wide.aim('zoë'), false);
    assert.equal(wide.aim('x'.repeat(256)), false);
    assert.equal(wide.aim('x'.repeat(255)), true);
    buffer.setShardCount(INFO, 2);
    assert.equal(wide.aim('u1'), false);
  });

  test('after the level is sharded and unsharded again, no slot remembered from the old writer is reused', () => {
    const { buffer, problems } = newBuffer();
    const wide = wideHandle({ kind: MetricKind.counter, name: 'req', source: 'svc', tags: { user: '' }, key: 'user', sampleRate: 1, metadata: undefined }, buffer, problems);
    for (const u of ['a', 'b', 'c']) {
      wide.aim(u);
      wide.write(1);
    }
    buffer.setShardCount(INFO, 2);
    buffer.setShardCount(INFO, 1);
    // The new writer starts at the epoch the old one had: only the generation tells them apart.
    for (const u of ['c', 'b', 'a', 'c']) {
      assert.equal(wide.aim(u), true);
      wide.write(10);
    }
    assert.deepEqual(sumsByTag(buffer, 'user'), new Map([['a', 11], ['b', 11], ['c', 21]]));
  });

  test('bad values are counted as invalid, and a full buffer drops and counts', () => {
    const { buffer, problems } = newBuffer(1);
    const wide = wideHandle({ kind: MetricKind.counter, name: 'req', source: 'svc', tags: { user: '' }, key: 'user', sampleRate: 1, metadata: undefined }, buffer, problems);
    wide.aim('u1');
    wide.write(Number.NaN);
    wide.write('7' as unknown as number);
    assert.equal(buffer.invalid, 2);
    // 64 KiB of records fill the open batch; the queue holds one record, so sealing it fails.
    let written = 0;
    while (buffer.dropped === 0 && written < 100_000) {
      wide.aim(`u${written % 3}`);
      wide.write(1);
      written++;
    }
    assert.equal(buffer.dropped, 1);
  });
});

describe('a client with a tag of many values', () => {
  const cacheOf = (z: Zibrato) => (z as unknown as { cache: HandleCache }).cache;

  test('every value is counted exactly, one-off calls stop adding handles, and handles and scopes keep their own series', async () => {
    await withReadyClient(['info'], { source: 'svc', tags: { region: 'eu' } }, async (pipe, z) => {
      // Fewer than the backend's 2,000 series per metric, past which it folds new ones into an overflow series.
      const users = WIDE_TAG_VALUES + 900;
      for (let round = 1; round <= 2; round++) {
        for (let i = 0; i < users; i++) z.count({ name: 'user.requests', tags: { user: `u${i}` }, value: i % 7 });
      }
      // The same key under another kind is its own index entry, not the counter's template.
      z.timing({ name: 'user.requests', tags: { user: 'u5' }, ms: 3 });
      const held = z.counterHandle({ name: 'user.requests', tags: { user: 'u5000' } });
      // A one-off call of another value in between: the held handle must still write its own series.
      z.count({ name: 'user.requests', tags: { user: 'u7' }, value: 0 });
      held.inc(100);
      const scope = z.timer({ name: 'user.latency', tags: { user: 'u9' } });
      scope.stop();
      assert.ok(cacheOf(z).entries < WIDE_TAG_VALUES + 10, `${cacheOf(z).entries} handles cached for ${users} users`);
      z.flush();
      const points = await pipe.points(z);
      const counters = points.filter((p): p is CounterPoint => p.type === 'counter' && p.name === 'user.requests');
      const byUser = new Map<string, number>();
      for (const p of counters) {
        assert.equal(p.source, 'svc', JSON.stringify(p));
        assert.equal(p.tags.region, 'eu');
        byUser.set(p.tags.user!, (byUser.get(p.tags.user!) ?? 0) + p.value);
      }
      for (let i = 0; i < users; i++) assert.equal(byUser.get(`u${i}`), 2 * (i % 7), `u${i}`);
      assert.equal(byUser.get('u5000'), 100);
      assert.equal(points.find((p): p is TimerPoint => p.type === 'timer' && p.name === 'user.requests')?.count, 1);
      assert.equal(points.find((p): p is TimerPoint => p.type === 'timer' && p.name === 'user.latency')?.tags.user, 'u9');
      assert.deepEqual({ ...z.stats(), sent: 0 }, { sent: 0, dropped: 0, invalid: 0, buffered: 0, unsubscribed: 0 });
    });
  });

  test("an app's getter that calls the client again, between the lookup and the write, sends each record to its own series", async () => {
    await withReadyClient(['info'], { source: 'svc' }, async (pipe, z) => {
      for (let i = 0; i < WIDE_TAG_VALUES + 1; i++) z.count({ name: 'user.requests', tags: { user: `u${i}` }, value: 0 });
      z.count({
        name: 'user.requests',
        tags: {
          get user() {
            z.count({ name: 'user.requests', tags: { user: 'inner-tag' }, value: 3 });
            return 'outer';
          },
        },
        get value() {
          z.count({ name: 'user.requests', tags: { user: 'inner-value' }, value: 5 });
          return 7;
        },
      });
      z.count({ name: 'user.requests', tags: { user: 'zoë' }, value: 11 });
      z.flush();
      const points = await pipe.points(z);
      const sum = (user: string) => points.filter((p): p is CounterPoint => p.type === 'counter' && p.tags.user === user).reduce((s, p) => s + p.value, 0);
      assert.deepEqual([sum('outer'), sum('inner-value'), sum('zoë')], [7, 5, 11]);
      // The lookup may read a tag more than once (the last call's handle is tried first): each read counts 3 to its own series.
      assert.ok(sum('inner-tag') > 0 && sum('inner-tag') % 3 === 0, `inner-tag ${sum('inner-tag')}`);
    });
  });
});
