import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { clientApiTarget, clientOpArb } from './properties.ts';
import { freeTcpPort } from '../helpers/ports.ts';

let target: ReturnType<typeof clientApiTarget>;
before(async () => {
  target = clientApiTarget(`tcp://127.0.0.1:${await freeTcpPort()}`);
});
after(() => target.z.close({ timeoutMs: 0 }));

test('no client call throws, and every record is buffered or counted, whatever the arguments and order', () => {
  fc.assert(fc.property(fc.array(clientOpArb, { minLength: 1, maxLength: 10 }), target.check), { numRuns: 1500 });
});
