import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clientApiTarget, clientOpArb, clientOps, hostileValue } from './properties.ts';
import { inProcessPipeline } from '../helpers/in-process.ts';
import { freeTcpPort } from '../helpers/ports.ts';
import { eventually } from '../helpers/processes.ts';

const sequences = fc.array(clientOpArb, { minLength: 1, maxLength: 10 });

describe('a client connected to nothing', () => {
  let target: ReturnType<typeof clientApiTarget>;
  before(async () => {
    target = clientApiTarget(`tcp://127.0.0.1:${await freeTcpPort()}`);
  });
  after(() => target.z.close({ timeoutMs: 0 }));

  test('no client call throws, and every record is buffered or counted, whatever the arguments and order', () => {
    fc.assert(fc.property(sequences, target.check), { numRuns: 1500 });
  });
});

describe('a client connected to a real broker and backend', () => {
  let pipe: Awaited<ReturnType<typeof inProcessPipeline>>;
  let target: ReturnType<typeof clientApiTarget>;
  before(async () => {
    pipe = await inProcessPipeline();
    // Room for every record (fc.assert runs without yielding, so nothing is sent until it ends),
    // in a few large batches: thousands of 1 KiB batches at once can overrun the broker's pipe to
    // the backend, a broker matter (issue 9) that this test is not about.
    target = clientApiTarget(pipe.publish, 1_000_000, 64 * 1024);
    assert.equal(await target.z.ready({ levels: ['debug', 'info', 'warn', 'error', 'crit'] }), true);
  });
  after(async () => {
    await target.z.close({ timeoutMs: 2000 });
    await pipe.stop();
  });

  test('every record the fuzzed calls make is sent and received, or counted', async () => {
    // Values of everyday size: a timer series given both 1e308 and 1e-300 overflows the backend's
    // DDSketch store (stack overflow) and its whole batch is counted as one invalid message.
    const everyday = fc.oneof({ weight: 6, arbitrary: fc.double({ min: -1e12, max: 1e12, noNaN: true }) }, hostileValue());
    fc.assert(fc.property(fc.array(clientOps(everyday), { minLength: 1, maxLength: 10 }), target.check), { numRuns: 500 });
    const z = target.z;
    z.flush();
    await eventually(() => z.stats().buffered === 0, 'the client buffer to drain');
    // The client's self-metrics (zibrato.client.invalid) travel the same way, so the backend may hold a few more.
    await eventually(() => pipe.backend.status().received >= z.stats().sent, 'the backend to receive what the client sent').catch((err: Error) => {
      throw new Error(`${err.message}; client ${JSON.stringify(z.stats())}, backend ${JSON.stringify(pipe.backend.status())}, broker ${JSON.stringify(pipe.broker.stats)}`);
    });
    const s = z.stats();
    assert.ok(s.sent > 0, 'some calls were valid and sent');
    assert.equal(s.dropped, 0);
    assert.equal(pipe.backend.status().dropped, 0, 'no series refused by the backend');
    assert.equal(pipe.backend.status().invalid, 0, 'no message the client sent was rejected');
  });
});
