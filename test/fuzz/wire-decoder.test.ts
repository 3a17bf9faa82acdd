import { test } from 'node:test';
import fc from 'fast-check';
import { checkFrame, frameArb } from './properties.ts';

test('the wire decoder decodes valid frames exactly and rejects any other bytes with a coded error only', () => {
  fc.assert(fc.property(frameArb, checkFrame), { numRuns: 3000 });
});
