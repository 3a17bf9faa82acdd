import { test } from 'node:test';
import fc from 'fast-check';
import { checkConfig, configArb } from './properties.ts';

test('the config loader accepts a config or throws a coded error, whatever the text or value', () => {
  fc.assert(fc.property(configArb, checkConfig), { numRuns: 2000 });
});
