import { test } from 'node:test';
import fc from 'fast-check';
import { checkLegacyText, legacyTextArb } from './properties.ts';

test('the legacy text parser returns a finite record or throws a coded error, whatever the text', () => {
  fc.assert(fc.property(legacyTextArb, checkLegacyText), { numRuns: 5000 });
});
