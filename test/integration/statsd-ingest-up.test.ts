/**
 * `zibrato up` with `ingest: [{ type: statsd, … }]` in its config: a StatsD
 * client reaches the file backend, and on SIGTERM lines the gateway has read
 * but not yet published are still delivered (the gateway closes its client
 * before the broker and backends stop).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort, tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, stopAll, zibrato } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';
import { sendUdp, sendTcp } from '../helpers/raw-statsd.ts';

after(stopAll);

const require = createRequire(import.meta.url);
const StatsD = require('hot-shots') as new (options: Record<string, unknown>) => {
  increment(stat: string, value?: number, tags?: string[]): void;
  timing(stat: string, ms: number, tags?: string[]): void;
  close(cb: (err?: Error) => void): void;
};



test('zibrato up runs the StatsD gateway from its config (port, default level); SIGTERM still delivers what the gateway has read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-up-ingest-'));
  const ep = await tcpBrokerEndpoints();
  const statsdPort = await freeUdpPort();
  const file = join(dir, 'metrics.jsonl');
  const config = join(dir, 'zibrato.yaml');
  writeFileSync(
    config,
    `broker:
  publish: [${ep.publish}]
  subscribe: [${ep.subscribe}]
backends:
  - name: file
    sink: file
    levels: warn+
    flush: 1s
    options:
      path: ${file}
ingest:
  - type: statsd
    port: ${statsdPort}
    defaultLevel: warn
`,
  );
  const up = zibrato(['up', '--config', config], { cwd: dir, label: 'up' });
  await up.waitFor(/\[backend:file\].*subscribed/);
  await up.waitFor(/\[ingest:statsd\].*listening for StatsD on UDP and TCP 127\.0\.0\.1:\d+/);
  // Until the backend's subscription has reached the broker, ZeroMQ drops records: probe.
  await eventually(
    async () => {
      await sendUdp(statsdPort, 'probe.ready:1|c');
      return readRows(file).some((r) => r.name === 'probe.ready');
    },
    'a probe through the gateway to reach the file backend',
    20_000,
    250,
  );

  const hs = new StatsD({ host: '127.0.0.1', port: statsdPort, maxBufferSize: 4000, bufferFlushInterval: 50, errorHandler: () => {} });
  for (let i = 0; i < 10; i++) hs.increment('up.hs.requests');
  hs.timing('up.hs.latency', 25, ['level:info']); // below the backend's warn+: never written
  await new Promise<void>((resolve) => hs.close(() => resolve()));
  await eventually(() => counterTotal(readRows(file), 'up.hs.requests') === 10, 'hot-shots increments in the file');

  // Read by the gateway (the connection is closed only after the last line), then stop at once.
  await sendTcp(statsdPort, Array.from({ length: 50 }, () => 'up.tcp.lines:1|c').join('\n') + '\n');
  const { code } = await up.stop('SIGTERM', 30_000);
  assert.equal(code, 0, up.lines.join('\n'));

  const rows = readRows(file);
  assert.equal(counterTotal(rows, 'up.tcp.lines'), 50, up.lines.join('\n'));
  assert.equal(counterTotal(rows, 'up.hs.requests'), 10);
  assert.ok(!rows.some((r) => r.name === 'up.hs.latency'), 'level:info is not written by a warn+ backend');
  // Untagged lines reached a warn+ backend at all only because the config's defaultLevel (warn) reached the gateway.
  assert.ok(up.lines.some((l) => /\[ingest:statsd\].*stopped: received \d+ \(\+\d+\) lines, malformed 0/.test(l)), up.lines.join('\n'));
});
