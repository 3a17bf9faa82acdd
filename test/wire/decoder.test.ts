/**
 * Every rule in docs/wire-format.md "Validation (what makes a batch malformed)"
 * is rejected with a MalformedFrameError whose message names the problem.
 * Frames are built with the real encoder, then damaged one field at a time.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MalformedFrameError } from '../../src/errors.js';
import {
  BatchWriter,
  decodeBatch,
  encodeSeries,
  HEADER_BYTES,
  LEVEL_TOPICS,
  levelOfTopic,
  MetricKind,
  RECORD_BYTES,
  newPublisherId,
  recordValue,
  SEQUENCE_OFFSET,
  stampSequence,
} from '../../src/wire/index.js';

const SENT_AT_MS = 1_700_000_000_000;

/** A valid batch: one counter series `c` (source `s`, tag k=v) and `records` records of value 1. */
function validBatch(records = 1, sampleRate = 1): Buffer {
  const w = new BatchWriter();
  const slot = w.addSeries(encodeSeries(MetricKind.counter, 'c', 's', { k: 'v' }, sampleRate));
  for (let i = 0; i < records; i++) w.append(slot, 1);
  return w.seal(SENT_AT_MS);
}
// Offsets in validBatch() with sampleRate 1, after the 32-byte version 2 header: type +0, flags +1, name len +2,
// 'c' +3, source len +4, 's' +5, tag count +6, key len +7, 'k' +8, value len +9, 'v' +10, records from +11.
const H = HEADER_BYTES;
const OFF = { type: H, flags: H + 1, nameLen: H + 2, name: H + 3, source: H + 5, tagCount: H + 6, tagKey: H + 8, tagValue: H + 10, records: H + 11 };

function rejects(frame: Uint8Array, reason: RegExp): void {
  assert.throws(
    () => decodeBatch(frame),
    (err: unknown) => {
      assert.ok(err instanceof MalformedFrameError, `expected MalformedFrameError, got ${String(err)}`);
      assert.equal(err.code, 'ZIB_ERR_MALFORMED_FRAME');
      assert.match(err.message, reason);
      return true;
    },
  );
}
const damaged = (edit: (b: Buffer) => void, frame = validBatch()): Buffer => {
  const copy = Buffer.from(frame);
  edit(copy);
  return copy;
};

test('the undamaged frame decodes (so each failure below is caused by its one change)', () => {
  const b = decodeBatch(validBatch(2));
  assert.equal(b.recordCount, 2);
  assert.deepEqual(b.series, [{ kind: MetricKind.counter, name: 'c', source: 's', tags: { k: 'v' }, sampleRate: 1 }]);
  assert.equal(validBatch().length, OFF.records + RECORD_BYTES);
});

describe('docs/wire-format.md validation rules', () => {
  test('a frame shorter than 16 bytes is rejected', () => {
    for (const n of [0, 1, 8, 15]) rejects(validBatch().subarray(0, n), /shorter than the 16-byte batch header/);
  });

  test('a version 2 frame shorter than the 32-byte version 2 header is rejected', () => {
    for (const n of [16, 24, HEADER_BYTES - 1]) rejects(validBatch().subarray(0, n), /shorter than the 32-byte version 2 header/);
  });

  test('a version other than 1, 2 or 3 is rejected', () => {
    for (const v of [0, 4, 255]) rejects(damaged((b) => (b[0] = v)), new RegExp(`unsupported wire version ${v}`));
  });

  test('a sequence above 2^53 - 1 is rejected', () => {
    rejects(damaged((b) => b.writeUInt32LE(0x20_0000, SEQUENCE_OFFSET + 4)), /sequence .* is above 2\^53/);
  });

  test('a length that runs past the end is rejected, wherever the frame is cut', () => {
    const frame = validBatch(0);
    for (let n = HEADER_BYTES; n < frame.length; n++) rejects(frame.subarray(0, n), /runs past the end of the frame/);
  });

  test('a string length pointing past the end is rejected', () => {
    rejects(damaged((b) => (b[OFF.nameLen] = 200)), /series 0 name runs past the end/);
  });

  test('a sample rate cut short is rejected', () => {
    const sampled = validBatch(0, 0.5);
    rejects(sampled.subarray(0, HEADER_BYTES + 2 + 4), /sample rate runs past the end/);
  });

  test('a string that is not UTF-8 is rejected, naming the field', () => {
    rejects(damaged((b) => (b[OFF.name] = 0xff)), /series 0 name is not valid UTF-8/);
    rejects(damaged((b) => (b[OFF.source] = 0xc3)), /series 0 source is not valid UTF-8/);
    rejects(damaged((b) => (b[OFF.tagKey] = 0x80)), /series 0 tag 0 key is not valid UTF-8/);
    rejects(damaged((b) => (b[OFF.tagValue] = 0xfe)), /series 0 tag 0 value is not valid UTF-8/);
  });

  test('an empty name is rejected', () => {
    const frame = Buffer.concat([validBatch(1).subarray(0, OFF.nameLen), Buffer.from([0]), validBatch(1).subarray(OFF.name + 1)]);
    rejects(frame, /series 0 has an empty name/);
  });

  test('a type outside 1–5 is rejected', () => {
    for (const t of [0, 6, 255]) rejects(damaged((b) => (b[OFF.type] = t)), new RegExp(`series 0 has unknown type ${t}`));
  });

  test('every type 1–5 is accepted', () => {
    for (const t of [1, 2, 3, 4, 5]) assert.equal(decodeBatch(damaged((b) => (b[OFF.type] = t))).series[0]!.kind, t);
  });

  test('a sample rate outside (0, 1] is rejected', () => {
    const rateOffset = OFF.flags + 1;
    for (const rate of [0, -0.5, 1.0000001, 2, NaN, Infinity]) {
      rejects(damaged((b) => b.writeDoubleLE(rate, rateOffset), validBatch(1, 0.5)), /outside \(0, 1\]/);
    }
  });

  test('a sample rate of exactly 1 with the sampled flag is accepted', () => {
    const b = decodeBatch(damaged((f) => f.writeDoubleLE(1, OFF.flags + 1), validBatch(1, 0.5)));
    assert.equal(b.series[0]!.sampleRate, 1);
  });

  test('record bytes that are not exactly record_count × 10 are rejected', () => {
    rejects(validBatch(2).subarray(0, OFF.records + RECORD_BYTES), /declares 2 records \(20 bytes\) but 10 bytes follow/);
    rejects(validBatch(2).subarray(0, OFF.records + 2 * RECORD_BYTES - 1), /declares 2 records/);
    rejects(Buffer.concat([validBatch(1), Buffer.from([0])]), /declares 1 records \(10 bytes\) but 11 bytes follow/);
    rejects(damaged((b) => b.writeUInt32LE(0xffff_ffff, 4)), /declares 4294967295 records/);
  });

  test('a series index at or past series_count is rejected', () => {
    rejects(damaged((b) => b.writeUInt16LE(1, OFF.records + RECORD_BYTES), validBatch(2)), /record 1 refers to series 1, but the batch declares 1/);
  });

  test('a NaN or infinite value is rejected', () => {
    for (const v of [NaN, Infinity, -Infinity]) rejects(damaged((b) => b.writeDoubleLE(v, OFF.records + 2)), /record 0 \(c\) has a non-finite value/);
  });

  test('a NaN or infinite header timestamp is rejected', () => {
    for (const v of [NaN, Infinity]) rejects(damaged((b) => b.writeDoubleLE(v, 8)), /timestamp is not a finite number/);
  });

  test('the flags byte is reserved: receivers reject nothing on it', () => {
    assert.equal(decodeBatch(damaged((b) => (b[1] = 0xff))).recordCount, 1);
  });

  // A frame larger than the receiver maximum is the receiver's check, not decodeBatch's:
  // test/backend/series-store.test.ts, "receiver frame size".
});

describe('version 2 header: publisher id and sequence', () => {
  test('a version 2 batch carries the writer\'s publisher id and the stamped sequence', () => {
    const id = Buffer.from('0123456789abcdef', 'hex');
    const w = new BatchWriter(1024, 1024, id);
    w.append(w.addSeries(encodeSeries(MetricKind.counter, 'c', '', undefined)), 1);
    const frame = w.seal(SENT_AT_MS);
    stampSequence(frame, 123_456);
    const b = decodeBatch(frame);
    assert.deepEqual([b.version, b.publisherId, b.sequence, b.recordCount], [2, '0123456789abcdef', 123_456, 1]);
  });

  test('every sequence from 0 to 2^53 - 1 survives stamp and decode exactly', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (seq) => {
        const frame = validBatch(1);
        stampSequence(frame, seq);
        return decodeBatch(frame).sequence === seq;
      }),
    );
  });

  test('a version 1 batch (16-byte header) is still accepted, without publisher id or sequence', () => {
    const w = new BatchWriter(1024, 1024, undefined, 1);
    w.append(w.addSeries(encodeSeries(MetricKind.counter, 'c', '', undefined)), 5);
    const b = decodeBatch(w.seal(SENT_AT_MS));
    assert.deepEqual([b.version, b.publisherId, b.sequence, b.recordCount, recordValue(b, 0)], [1, '', -1, 1, 5]);
  });

  test('two writers get different random publisher ids', () => {
    assert.notDeepEqual(newPublisherId(), newPublisherId());
    assert.equal(newPublisherId().length, 8);
  });
});

describe('topic frame', () => {
  test('a native message’s frame 0 must be exactly one of the five topics', () => {
    for (let i = 0; i < LEVEL_TOPICS.length; i++) assert.equal(levelOfTopic(LEVEL_TOPICS[i]!), i);
    for (const bad of ['info', 'info||', 'INFO|', 'information|', '', 'trace|', ' info|']) {
      assert.equal(levelOfTopic(Buffer.from(bad)), -1, JSON.stringify(bad));
    }
  });
});

describe('series table growth', () => {
  /** `n` distinct per-user counter series, ~40 bytes each, every one with a record. */
  function fill(w: BatchWriter, n: number): number {
    for (let i = 0; i < n; i++) {
      const slot = w.addSeries(encodeSeries(MetricKind.counter, 'app.user.requests', 'bench-app', { user: `u${i}` }));
      if (slot < 0) return i;
      w.append(slot, 1);
    }
    return n;
  }

  test('a writer without maxTableBytes refuses a series once its table is full and it holds records', () => {
    assert.ok(fill(new BatchWriter(64 * 1024, 1024), 1000) < 100);
  });

  test('a writer with maxTableBytes grows its table up to it, and every series and record decodes', () => {
    const w = new BatchWriter(64 * 1024, 1024, undefined, undefined, 64 * 1024);
    assert.equal(fill(w, 1000), 1000);
    const b = decodeBatch(w.seal(SENT_AT_MS));
    assert.equal(b.series.length, 1000);
    assert.equal(b.recordCount, 1000);
    assert.equal(b.series[999]!.tags.user, 'u999');
  });

  test('a writer with maxTableBytes still refuses a series past it', () => {
    const w = new BatchWriter(64 * 1024, 1024, undefined, undefined, 4096);
    const accepted = fill(w, 1000);
    assert.ok(accepted > 50 && accepted < 150, `accepted ${accepted}`);
  });
});
