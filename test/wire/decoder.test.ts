/**
 * Every rule in docs/wire-format.md "Validation (what makes a batch malformed)"
 * is rejected with a MalformedFrameError whose message names the problem.
 * Frames are built with the real encoder, then damaged one field at a time.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { MalformedFrameError } from '../../src/errors.js';
import {
  BatchWriter,
  decodeBatch,
  DEFAULT_MAX_FRAME_BYTES,
  encodeSeries,
  HEADER_BYTES,
  LEVEL_TOPICS,
  levelOfTopic,
  MetricKind,
  RECORD_BYTES,
} from '../../src/wire/index.js';

const SENT_AT_MS = 1_700_000_000_000;

/** A valid batch: one counter series `c` (source `s`, tag k=v) and `records` records of value 1. */
function validBatch(records = 1, sampleRate = 1): Buffer {
  const w = new BatchWriter();
  const slot = w.addSeries(encodeSeries(MetricKind.counter, 'c', 's', { k: 'v' }, sampleRate));
  for (let i = 0; i < records; i++) w.append(slot, 1);
  return w.seal(SENT_AT_MS);
}
// Offsets in validBatch() with sampleRate 1: type 16, flags 17, name len 18, 'c' 19, source len 20, 's' 21,
// tag count 22, key len 23, 'k' 24, value len 25, 'v' 26, records from 27.
const OFF = { type: 16, flags: 17, nameLen: 18, name: 19, source: 21, tagCount: 22, tagKey: 24, tagValue: 26, records: 27 };

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
    for (const n of [0, 1, 8, HEADER_BYTES - 1]) rejects(validBatch().subarray(0, n), /shorter than the 16-byte batch header/);
  });

  test('a version other than 1 is rejected', () => {
    for (const v of [0, 2, 255]) rejects(damaged((b) => (b[0] = v)), new RegExp(`unsupported wire version ${v}`));
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

  test('a frame larger than the receiver maximum is the receiver’s check; the default maximum is 4 MiB', () => {
    // decodeBatch validates content; the size limit is applied by the receiving socket loop before decoding.
    assert.equal(DEFAULT_MAX_FRAME_BYTES, 4 * 1024 * 1024);
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
