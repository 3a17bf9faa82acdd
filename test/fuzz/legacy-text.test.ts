import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ZibratoError } from '../../src/errors.ts';
import { parseLegacyText } from '../../src/wire/legacy-text.ts';
import { checkLegacyText, legacyTextArb } from './properties.ts';

test('the legacy text parser returns a finite record or throws a coded error, whatever the text', () => {
  fc.assert(fc.property(legacyTextArb, checkLegacyText), { numRuns: 5000 });
});

test('a legacy timer whose seconds overflow as milliseconds is rejected with a coded error', () => {
  // Found by `npm run fuzz`: 1.79e308 s × 1000 is Infinity ms.
  checkLegacyText('info|ms|a.b|1.7976931348623155e+308');
  assert.throws(() => parseLegacyText('info|Timer|a.b|1.7976931348623155e+308'), (e: unknown) => e instanceof ZibratoError && e.code === 'ZIB_ERR_MALFORMED_FRAME');
});
