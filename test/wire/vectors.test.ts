import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MalformedFrameError } from '../../src/errors.js';
import { LEVELS } from '../../src/levels.js';
import { decodeBatch, hashSetMember, KIND_NAMES, levelOfTopic, parseLegacyText, parseTopic, recordSeries, recordValue } from '../../src/wire/index.js';
import {
  buildVectorFiles,
  encodeVectorFrames,
  KIND_OF_TYPE,
  v2Of,
  VECTOR_DIR,
  type LegacyVector,
  type MalformedVector,
  type NativeVector,
  type VectorRecord,
  type VectorType,
} from '../../scripts/make-vectors.js';

const nativeFiles = readdirSync(VECTOR_DIR).filter((f) => f.startsWith('native-') && f.endsWith('.json')).sort();
const load = <T>(file: string): T => JSON.parse(readFileSync(join(VECTOR_DIR, file), 'utf8')) as T;

test('test/vectors matches what scripts/make-vectors.ts generates (run it after changing src/wire)', () => {
  const built = buildVectorFiles();
  assert.ok(nativeFiles.length >= 9, `expected the native vectors, found ${nativeFiles.join(', ')}`);
  for (const [name, text] of built) assert.equal(readFileSync(join(VECTOR_DIR, name), 'utf8'), text, `${name} is stale`);
});

describe('native vectors', () => {
  for (const file of nativeFiles) {
    const v = load<NativeVector>(file);
    test(`${file}: the encoder produces the vector's frames byte for byte`, () => {
      const [topic, frame] = encodeVectorFrames(v.level, v.records, v.sentAtMs, v2Of(v), v.shard);
      assert.equal(topic.toString('hex'), v.frames[0]);
      assert.equal(frame.toString('hex'), v.frames[1]);
    });

    test(`${file}: decoding the frames gives back the level and every record`, () => {
      assert.equal(levelOfTopic(Buffer.from(v.frames[0], 'hex')), LEVELS.indexOf(v.level));
      assert.deepEqual(parseTopic(Buffer.from(v.frames[0], 'hex')), { level: LEVELS.indexOf(v.level), ...(v.shard ?? { index: 1, count: 1 }) });
      const batch = decodeBatch(Buffer.from(v.frames[1], 'hex'));
      assert.equal(batch.sentAtMs, v.sentAtMs);
      assert.equal(batch.version, v.version ?? 1);
      assert.equal(batch.publisherId, v.publisherId ?? '');
      assert.equal(batch.sequence, v.sequence ?? -1);
      assert.equal(batch.recordCount, v.records.length);
      const decoded: VectorRecord[] = [];
      for (let i = 0; i < batch.recordCount; i++) {
        const s = batch.series[recordSeries(batch, i)]!;
        const r: VectorRecord = { type: KIND_NAMES[s.kind] as VectorType, name: s.name, source: s.source, tags: { ...s.tags }, value: recordValue(batch, i) };
        if (s.sampleRate !== 1) r.sampleRate = s.sampleRate;
        if (s.description !== undefined) r.seriesDescription = s.description;
        if (s.unit !== undefined) r.unit = s.unit;
        decoded.push(r);
      }
      const expected = v.records.map(({ member: _member, ...r }) => r);
      assert.deepEqual(decoded, expected);
    });

    test(`${file}: each series appears once in the table and tags are sorted by key`, () => {
      const batch = decodeBatch(Buffer.from(v.frames[1], 'hex'));
      const ids = batch.series.map((s) => JSON.stringify([s.kind, s.sampleRate, s.name, s.source, Object.entries(s.tags)]));
      assert.equal(new Set(ids).size, ids.length);
      for (const s of batch.series) {
        const keys = Object.keys(s.tags);
        assert.deepEqual(keys, [...keys].sort());
        assert.ok(KIND_OF_TYPE[KIND_NAMES[s.kind] as VectorType] === s.kind);
      }
    });
  }

  test('set records carry hashSetMember(member)', () => {
    let sets = 0;
    for (const file of nativeFiles) {
      for (const r of load<NativeVector>(file).records) {
        if (r.type !== 'set') continue;
        sets++;
        assert.equal(typeof r.member, 'string');
        assert.equal(r.value, hashSetMember(r.member!));
        assert.ok(Number.isInteger(r.value) && r.value >= 0 && r.value < 2 ** 52);
      }
    }
    assert.ok(sets >= 4);
  });

  test('the vectors cover every metric type, tags, sampling, sources and every level', () => {
    const types = new Set<string>();
    let sampled = false;
    let tagged = false;
    let sourced = false;
    const levels = new Set<string>();
    for (const file of nativeFiles) {
      const v = load<NativeVector>(file);
      levels.add(v.level);
      for (const r of v.records) {
        types.add(r.type);
        sampled ||= r.sampleRate !== undefined;
        tagged ||= Object.keys(r.tags).length > 1;
        sourced ||= r.source !== '';
      }
    }
    assert.deepEqual([...types].sort(), ['counter', 'gauge', 'gaugeDelta', 'set', 'timer']);
    assert.ok(sampled && tagged && sourced);
    assert.deepEqual([...levels].sort(), [...LEVELS].sort());
  });

  test('both versions are covered: version 1 vectors stay, version 2 vectors carry a publisher id and a sequence', () => {
    const versions = nativeFiles.map((f) => load<NativeVector>(f).version ?? 1);
    assert.ok(versions.filter((x) => x === 1).length >= 9 && versions.filter((x) => x === 2).length >= 3, JSON.stringify(versions));
    assert.ok(nativeFiles.some((f) => (load<NativeVector>(f).sequence ?? 0) > 2 ** 32), 'a sequence that needs the high u32');
  });

  test('version 3 is written only for a batch that declares a described series, and its descriptions and units decode', () => {
    const v3 = nativeFiles.map((f) => load<NativeVector>(f)).filter((v) => v.version === 3);
    assert.ok(v3.length >= 1);
    for (const v of nativeFiles.map((f) => load<NativeVector>(f))) {
      const described = v.records.some((r) => r.seriesDescription !== undefined || r.unit !== undefined);
      assert.equal(decodeBatch(Buffer.from(v.frames[1], 'hex')).version === 3, described, v.description);
    }
    const batch = decodeBatch(Buffer.from(v3[0]!.frames[1], 'hex'));
    assert.deepEqual(
      batch.series.map((s) => [s.name, s.description, s.unit]),
      [
        ['http.duration', 'Time to answer an HTTP request', 'ms'],
        ['heap.used', undefined, 'bytes'],
        ['requests', undefined, undefined],
      ],
    );
  });
});

describe('legacy text vectors', () => {
  const { vectors } = load<{ vectors: LegacyVector[] }>('legacy-text.json');
  // One test per vector below: an emptied file would leave none, and nothing would fail.
  test('legacy-text.json holds the vectors', () => assert.ok(vectors.length >= 9, `${vectors.length} vectors`));
  for (const v of vectors) {
    test(`${v.description}: ${JSON.stringify(v.text)}`, () => {
      const r = parseLegacyText(v.text);
      const got: LegacyVector['expected'] = { level: LEVELS[r.level]!, kind: KIND_NAMES[r.kind] as VectorType, name: r.name, value: r.value, source: r.source };
      if (r.timestampMs !== undefined) got.timestampMs = r.timestampMs;
      assert.deepEqual(got, v.expected);
    });
  }
});

describe('malformed vectors', () => {
  const { vectors } = load<{ vectors: MalformedVector[] }>('malformed.json');
  test('malformed.json holds the vectors', () => assert.ok(vectors.length >= 40, `${vectors.length} vectors`));
  for (const v of vectors) {
    test(`rejected: ${v.description}`, () => {
      assert.ok((v.hex === undefined) !== (v.text === undefined), 'a vector has exactly one of hex and text');
      const run = v.hex !== undefined ? () => decodeBatch(Buffer.from(v.hex!, 'hex')) : () => parseLegacyText(v.text!);
      assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof MalformedFrameError, `expected MalformedFrameError, got ${String(err)}`);
        assert.equal(err.code, 'ZIB_ERR_MALFORMED_FRAME');
        assert.ok(err.message.includes(v.reason), `"${err.message}" does not mention "${v.reason}"`);
        return true;
      });
    });
  }
});
