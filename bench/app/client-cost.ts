// What bench/app's Zibrato instrumentation costs a request, without the HTTP
// server around it: the service's per-request calls (instrumentations.ts)
// driven from a timer at the benchmark's fixed rate, against the same loop
// with no instrumentation, in one process whose threads are read from the
// scheduler (bench/app/cpu.ts). The app benchmark's service spends ~50 µs per
// request on HTTP alone, which buries a 1 µs difference in its noise; here
// nothing else runs, so the client's whole cost (calls, batch sealing, the
// ZeroMQ send, timers, GC) shows.
//
//   npm run build && node --import tsx bench/app/client-cost.ts [--quick] [broker endpoint]
//
// With a broker endpoint (bench/app/main.ts passes its `zibrato up`), it uses that
// broker and its backend; without, it starts a broker and a file backend of its own.
// Prints one `@@result` line (bench/run.js style) and a line per round.
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { emitResult, isQuick, median, runBench, startPipeline } from '../lib/common.mjs';
import { threadCpuNs } from './cpu.js';
import { createInstrumentation, type Instrumentation } from './instrumentations.js';

const quick = isQuick();
const CONFIG = {
  rounds: quick ? 3 : 5,
  /** Requests per second, as the app benchmark's fixed rate. */
  rate: 2000,
  requestsPerRound: quick ? 4000 : 8000,
  /** Requests per timer tick: 10 ms of the rate. */
  perTick: 20,
  users: 10_000,
};

const ROUTES = ['/json', '/db'];

/** Runs `requests` requests at the fixed rate through `inst` (undefined: none) and returns main-thread and other-thread CPU per request, µs. */
function round(inst: Instrumentation | undefined, requests: number, userOffset: number): Promise<{ mainUs: number; otherUs: number; zmqUs: number }> {
  return new Promise((resolve) => {
    const t0 = threadCpuNs(process.pid);
    let done = 0;
    let user = userOffset;
    const tickMs = (1000 * CONFIG.perTick) / CONFIG.rate;
    const timer = setInterval(() => {
      for (let i = 0; i < CONFIG.perTick && done < requests; i++, done++) {
        // What the service's hooks do around a request (service.ts), with its strings.
        const u = `u${user++ % CONFIG.users}`;
        if (inst) {
          inst.requestStarted();
          inst.requestEnded(ROUTES[done & 1]!, 'GET', String(200), 0.25, u);
        }
      }
      if (done < requests) return;
      clearInterval(timer);
      const t1 = threadCpuNs(process.pid);
      resolve({ mainUs: (t1.main - t0.main) / 1000 / requests, otherUs: (t1.other - t0.other) / 1000 / requests, zmqUs: (t1.zmq - t0.zmq) / 1000 / requests });
    }, tickMs);
  });
}

async function main(): Promise<void> {
  const given = process.argv.slice(2).find((a) => a.startsWith('tcp://') || a.startsWith('ipc://'));
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-client-cost-'));
  const pipe = given ? undefined : await startPipeline({ sink: 'file', levels: 'info+', flush: '1s', path: join(dir, 'metrics.jsonl') });
  try {
    const inst = await createInstrumentation('zibrato', { zibratoBroker: given ?? pipe!.pub });
    // Warm-up: every user once, so series creation is not timed as steady state.
    await round(inst, CONFIG.users, 0);
    await round(undefined, CONFIG.users, 0);
    const rows: { none: number; zibrato: number; zibratoOther: number; zibratoZmq: number; noneOther: number }[] = [];
    let offset = 0;
    for (let r = 1; r <= CONFIG.rounds; r++) {
      const none = await round(undefined, CONFIG.requestsPerRound, offset);
      const z = await round(inst, CONFIG.requestsPerRound, offset);
      offset += CONFIG.requestsPerRound;
      rows.push({ none: none.mainUs, noneOther: none.otherUs, zibrato: z.mainUs, zibratoOther: z.otherUs, zibratoZmq: z.zmqUs });
      process.stdout.write(`round ${r}: main thread ${none.mainUs.toFixed(2)} µs/request without, ${z.mainUs.toFixed(2)} with Zibrato (+${(z.mainUs - none.mainUs).toFixed(2)}); other threads ${none.otherUs.toFixed(2)} → ${z.otherUs.toFixed(2)}; ZeroMQ I/O ${z.zmqUs.toFixed(2)}\n`);
    }
    await inst!.close();
    emitResult({
      config: CONFIG,
      mainAddedUs: median(rows.map((x) => x.zibrato - x.none)),
      otherAddedUs: median(rows.map((x) => x.zibratoOther - x.noneOther)),
      zmqUs: median(rows.map((x) => x.zibratoZmq)),
      rounds: rows,
    });
  } finally {
    await pipe?.backend.stop('SIGTERM');
    await pipe?.broker.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench('client-cost', main);
