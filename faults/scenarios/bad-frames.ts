import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import type { Scenario } from '../scenario.ts';
import { ROOT, stopAll } from '../../test/helpers/processes.ts';
import { LEVEL_TOPICS } from '../../src/wire/index.ts';
import { finish, toResult, RssSampler, setup, startBackend, startBroker, startPublisher } from '../lib/delivery.ts';

interface MalformedVector {
  hex?: string;
  text?: string;
}

/** An XPUB that waits until the broker passes a subscription for info, so nothing it sends is dropped for want of one. */
async function rawPublisher(endpoint: string): Promise<zmq.XPublisher> {
  const s = new zmq.XPublisher();
  s.linger = 2000;
  s.connect(endpoint);
  for (;;) {
    const [msg] = await s.receive();
    if (msg && msg[0] === 1 && LEVEL_TOPICS[1]!.equals(msg.subarray(1))) return s;
  }
}

/** Version 2 headers that lie: 4 billion records, or 65,535 series, in a 32-byte frame. */
function lyingFrames(): Buffer[] {
  const records = Buffer.alloc(32);
  records[0] = 2;
  records.writeUInt32LE(0xffff_ffff, 4);
  const series = Buffer.alloc(32);
  series[0] = 2;
  series.writeUInt16LE(0xffff, 2);
  return [records, series];
}

const scenario: Scenario = {
  name: 'bad-frames',
  description: 'Beside a healthy publisher, a rogue one sends every malformed test vector, lying headers and an oversized frame.',
  async run({ quick }) {
    const rate = quick ? 10_000 : 50_000;
    const durationMs = quick ? 5000 : 30_000;
    const oversizedBytes = quick ? 16 * 1024 * 1024 : 100 * 1024 * 1024;
    const rounds = quick ? 1 : 20;
    const ep = await setup('bad-frames');
    const file = join(ep.dir, 'backend.jsonl');
    const rogues: zmq.XPublisher[] = [];
    try {
      const broker = await startBroker(ep);
      const backend = await startBackend(ep, file, 'b');
      const rss = new RssSampler(() => [broker.pid, backend.pid]);
      const pub = startPublisher(ep, rate, durationMs);
      await pub.waitFor(/^made /, 15_000);
      const vectors = (JSON.parse(readFileSync(join(ROOT, 'test/vectors/malformed.json'), 'utf8')) as { vectors: MalformedVector[] }).vectors;
      const rogue = await rawPublisher(ep.publish);
      rogues.push(rogue);
      let bad = 0;
      for (let r = 0; r < rounds; r++) {
        for (const v of vectors) {
          // A legacy text whose level is not a subscribed topic (e.g. `notice|…`) is filtered out by ZeroMQ itself.
          if (v.text !== undefined && !v.text.startsWith('info|')) continue;
          await rogue.send(v.hex !== undefined ? [LEVEL_TOPICS[1]!, Buffer.from(v.hex, 'hex')] : Buffer.from(v.text!, 'utf8'));
          bad++;
        }
        for (const f of lyingFrames()) {
          await rogue.send([LEVEL_TOPICS[1]!, f]);
          bad++;
        }
      }
      // Over maxMessageSize: ZeroMQ cuts this sender off at the broker; nothing is buffered or forwarded.
      const huge = await rawPublisher(ep.publish);
      rogues.push(huge);
      await huge.send([LEVEL_TOPICS[1]!, Buffer.alloc(oversizedBytes, 1)]);
      const a = await finish(pub, durationMs + 60_000, [file], [backend], rss);
      const mark = broker.lines.length;
      await broker.stop('SIGTERM');
      const stopLine = broker.lines.slice(mark).find((l) => /broker stopping: forwarded/.test(l)) ?? '';
      const forwarded = Number(/forwarded (\d+) records/.exec(stopLine)?.[1] ?? NaN);
      const invalid = a.backends[0]!.invalid;
      if (invalid !== bad) throw new Error(`the backend counted ${invalid} invalid messages; ${bad} were sent`);
      // The broker's count may include the legacy texts (one record each) and its own self-metrics, never the lies.
      if (!(forwarded < a.result.made + bad + 1000)) throw new Error(`the broker claims ${forwarded} forwarded records for ${a.result.made} real ones`);
      return toResult(a, null, `${bad} malformed or lying messages all counted invalid at the backend; one ${oversizedBytes / 1024 / 1024} MiB frame refused by the broker (maxMessageSize); the broker reported ${forwarded} records forwarded for ${a.result.made} real ones; RSS of broker and backend`);
    } finally {
      for (const s of rogues) s.close();
      await stopAll();
    }
  },
};
export default scenario;
