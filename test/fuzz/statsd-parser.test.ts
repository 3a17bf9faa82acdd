import { test } from 'node:test';
import fc from 'fast-check';
import { checkStatsdPacket, statsdPacketArb } from './properties.ts';

test('the StatsD parser never throws and accounts for every line as a sample or a malformed line', () => {
  fc.assert(fc.property(statsdPacketArb, checkStatsdPacket), { numRuns: 5000 });
});
