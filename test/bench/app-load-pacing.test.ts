// The real-service benchmark's load generator (bench/app/load.mjs) at a fixed
// rate must spread its requests over time: the service's CPU per request and
// its latency depend on how requests arrive (back to back, the event loop
// batches them and a request costs less), so a generator that runs ahead in
// bursts measures its own pattern, not the service.
//
// What is asserted cannot depend on the machine's speed: a slow machine only
// makes the generator fall *behind* its schedule, never run ahead of it. So the
// requests that arrived by any moment must not exceed what the schedule allows
// by then. (With autocannon reading a rate of 0 as "no limit", connections that
// were on schedule ran back to back: some were 1,000 requests ahead after 2 s.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

const LOAD = join(import.meta.dirname, '../../bench/app/load.mjs');

test('at a fixed rate, the load generator never runs ahead of its schedule', async () => {
  const rate = 2000;
  const connections = 10;
  const amount = 6000;
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    arrivals.push(performance.now());
    // The /db route's wait, as the service has: connections are not all answered at once.
    if (req.url?.startsWith('/db')) setTimeout(() => res.end('{"ok":true}'), 1);
    else res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [LOAD, JSON.stringify({ url: `http://127.0.0.1:${port}`, rate, amount, connections })], { timeout: 60_000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      );
    });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { completed: number; errors: number };
    assert.equal(result.completed, amount);
    assert.equal(result.errors, 0);
    assert.equal(arrivals.length, amount);
    // Each connection's first request goes out before its pacing starts, then one every
    // connections/rate s from its first response (later than the first arrival).
    const slack = 2 * connections;
    const t0 = arrivals[0]!;
    let worst = -Infinity;
    for (let i = 0; i < arrivals.length; i++) worst = Math.max(worst, i + 1 - (rate * (arrivals[i]! - t0)) / 1000);
    assert.ok(worst <= slack, `requests ran ${worst.toFixed(0)} ahead of a ${rate}/s schedule (allowed: ${slack})`);
  } finally {
    server.close();
  }
});
