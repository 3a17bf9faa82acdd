import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeBatch } from '../../src/wire/batch-decoder.ts';
import { BatchWriter } from '../../src/wire/batch-writer.ts';
import { MetricKind } from '../../src/wire/constants.ts';
import { encodeSeries } from '../../src/wire/series-encoding.ts';
import { checkFrame, frameArb } from './properties.ts';

test('the wire decoder decodes valid frames exactly and rejects any other bytes with a coded error only', () => {
  fc.assert(fc.property(frameArb, checkFrame), { numRuns: 3000 });
});

test('a series string that starts with U+FEFF decodes as written', () => {
  // Found by `npm run fuzz`: the UTF-8 decoder stripped a leading byte-order mark, so the tag key "\uFEFF" became "".
  const w = new BatchWriter();
  w.append(w.addSeries(encodeSeries(MetricKind.counter, '\uFEFFname', '\uFEFF', { '\uFEFF': '\uFEFFv' })), 1);
  const s = decodeBatch(new Uint8Array(w.seal(Date.now()))).series[0]!;
  assert.deepEqual([s.name, s.source, s.tags], ['\uFEFFname', '\uFEFF', { '\uFEFF': '\uFEFFv' }]);
});

test('a tag named __proto__ decodes as a tag', () => {
  // Found by `npm run fuzz`: assigning tags["__proto__"] set the prototype and the tag vanished.
  const w = new BatchWriter();
  w.append(w.addSeries(encodeSeries(MetricKind.counter, 'n', '', JSON.parse('{"__proto__":"v","k":"w"}') as Record<string, string>)), 1);
  const tags = decodeBatch(new Uint8Array(w.seal(Date.now()))).series[0]!.tags;
  assert.deepEqual(Object.entries(tags).sort(), [['__proto__', 'v'], ['k', 'w']]);
});
