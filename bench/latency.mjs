// Latency from the call (`gauge.set(now)`) to a subscriber of the broker
// receiving the batch, at a moderate rate, with the default flush interval
// (250 ms: the client batches for at most that long), with 10 ms (the default
// before issue 10) and with 1 ms.
// usage: node bench/latency.mjs [--quick]
import { join } from 'node:path';
import { emitResult, isQuick, nodeScript, ROOT, startPipeline, runBench } from './lib/common.mjs';

const quick = isQuick();
const RATE = 20_000;
const DURATION_MS = quick ? 3000 : 10_000;

async function run(flushIntervalMs) {
  const pipe = await startPipeline({ sink: 'memory', levels: 'info' });
  try {
    const probe = nodeScript(join(ROOT, 'bench/procs/latency-probe.mjs'), [pipe.sub, 'bench.latency', '500', String(DURATION_MS + 20_000)], 'probe');
    await probe.waitFor(/probe subscribed/);
    const pub = nodeScript(
      join(ROOT, 'bench/procs/zibrato-publisher.mjs'),
      [JSON.stringify({ endpoint: pipe.pub, name: 'bench.latency', rate: RATE, durationMs: DURATION_MS, startAt: Date.now() + 1500, kind: 'latency', flushIntervalMs })],
      'latency publisher',
    );
    const { code } = await pub.exited;
    if (code !== 0) throw new Error(`publisher exited ${code}: ${pub.lines.slice(-5).join('\n')}`);
    await probe.exited;
    const r = JSON.parse(probe.lines.at(-1));
    process.stderr.write(`latency flush ${flushIntervalMs} ms: p50 ${r.p50?.toFixed(2)} ms, p99 ${r.p99?.toFixed(2)} ms over ${r.records} records\n`);
    return { flushIntervalMs, rate: RATE, durationMs: DURATION_MS, ...r, publisher: JSON.parse(pub.lines.at(-1)) };
  } finally {
    await pipe.backend.stop('SIGTERM');
    await pipe.broker.stop('SIGTERM');
  }
}

async function main() {
  const runs = [await run(250), await run(10), await run(1)];
  emitResult({ bench: 'latency', runs });
}

runBench('latency', main);
