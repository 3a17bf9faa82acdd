// What bench/app's Zibrato instrumentation costs a request, without the HTTP
// server around it: the service's per-request calls (instrumentations.ts)
// driven from a timer at the benchmark's fixed rate, against the same loop
// with no instrumentation, in one process whose threads are read from the
// scheduler (bench/app/cpu.ts). The app benchmark's service spends ~50 µs per
// request on HTTP alone, which buries a 1 µs difference in its noise; here
// nothing else runs, so the client's whole cost (calls, batch sealing, the
// ZeroMQ send, timers, GC) shows.
//
//   npm run build && node --import tsx bench/app/client-cost.ts [--quick] [--rate N | --saturate] [--rounds N] [broker endpoint]
//
// With a broker endpoint (bench/app/main.ts passes its `zibrato up`), it uses that
// broker and its backend; without, it starts a broker and a file backend of its own.
// Prints one `@@result` line (bench/run.js style) and a line per round.
//
// The main thread's added CPU is split in two: **in the calls** (the time spent
// inside the request loop, measured around each batch of requests, minus the same
// for the loop without Zibrato: the calls themselves with the caches as they find
// them) and **around the calls** (the rest: sealing batches, the ZeroMQ send and
// its promise, the flush and self-metrics timers, GC of what the calls left). The
// two runs of a round are made in alternating order, so a drift in the machine's
// load does not favour either. `--rate N` sets the request rate (default 2,000/s,
// the app benchmark's fixed rate); `--saturate` runs requests back to back in
// slices of 200 between turns of the event loop, as a saturated service would.
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { emitResult, isQuick, median, runBench, startPipeline } from '../lib/common.mjs';
import { threadCpuNs } from './cpu.js';
import { createInstrumentation, type Instrumentation } from './instrumentations.js';

const quick = isQuick();

/** The value of `--flag N` on the command line, or `dflt`. */
function numberArg(flag: string, dflt: number): number {
  const i = process.argv.indexOf(flag);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

const saturate = process.argv.includes('--saturate');
const rate = numberArg('--rate', 2000);
const CONFIG = {
  rounds: numberArg('--rounds', quick ? 3 : 5),
  /** Requests per second (the app benchmark's fixed rate by default); 0 with `--saturate`: back to back. */
  rate: saturate ? 0 : rate,
  /** About 4 s of requests per run at the rate (at least 8,000): each run spans several flushes and self-metrics ticks. */
  requestsPerRound: numberArg('--requests', quick ? 4000 : Math.max(8000, saturate ? 200_000 : Math.round(rate * 4))),
  /** Requests per turn of the loop: 10 ms of the rate on a timer, or a slice of 200 back to back (`--saturate`). */
  perTick: saturate ? 200 : Math.max(1, Math.round(rate / 100)),
  users: 10_000,
};

const ROUTES = ['/json', '/db'];

/** CPU per request of one run, µs: the main thread, the part of it spent inside the request loop, libzmq's I/O thread, the other threads. */
interface Run {
  mainUs: number;
  inCallsUs: number;
  zmqUs: number;
  otherUs: number;
}

/** Runs `requests` requests through `inst` (undefined: none), at the configured rate or back to back. */
function round(inst: Instrumentation | undefined, requests: number, userOffset: number): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = threadCpuNs(process.pid);
    let inCallsMs = 0;
    let done = 0;
    let user = userOffset;
    const tick = (): boolean => {
      const start = performance.now();
      for (let i = 0; i < CONFIG.perTick && done < requests; i++, done++) {
        // What the service's hooks do around a request (service.ts), with its strings.
        const u = `u${user++ % CONFIG.users}`;
        if (inst) {
          inst.requestStarted();
          inst.requestEnded(ROUTES[done & 1]!, 'GET', String(200), 0.25, u);
        }
      }
      inCallsMs += performance.now() - start;
      if (done < requests) return false;
      const t1 = threadCpuNs(process.pid);
      const per = (ns: number) => ns / 1000 / requests;
      resolve({ mainUs: per(t1.main - t0.main), inCallsUs: (inCallsMs * 1000) / requests, zmqUs: per(t1.zmq - t0.zmq), otherUs: per(t1.other - t0.other) });
      return true;
    };
    if (CONFIG.rate === 0) {
      // Saturation: the loop is never idle, but timers and I/O still get their turn between slices.
      const next = () => {
        if (!tick()) setImmediate(next);
      };
      setImmediate(next);
      return;
    }
    const timer = setInterval(() => {
      if (tick()) clearInterval(timer);
    }, (1000 * CONFIG.perTick) / CONFIG.rate);
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
    const rows: { none: Run; zibrato: Run }[] = [];
    let offset = 0;
    for (let r = 1; r <= CONFIG.rounds; r++) {
      // Alternating order: what the machine's load does over a round hits both runs alike.
      let none: Run;
      let z: Run;
      if (r % 2 === 1) {
        none = await round(undefined, CONFIG.requestsPerRound, offset);
        z = await round(inst, CONFIG.requestsPerRound, offset);
      } else {
        z = await round(inst, CONFIG.requestsPerRound, offset);
        none = await round(undefined, CONFIG.requestsPerRound, offset);
      }
      offset += CONFIG.requestsPerRound;
      rows.push({ none, zibrato: z });
      const inCalls = z.inCallsUs - none.inCallsUs;
      const added = z.mainUs - none.mainUs;
      process.stdout.write(
        `round ${r}: main thread ${none.mainUs.toFixed(2)} µs/request without, ${z.mainUs.toFixed(2)} with Zibrato (+${added.toFixed(2)}: ${inCalls.toFixed(2)} in the calls, ${(added - inCalls).toFixed(2)} around them); other threads ${none.otherUs.toFixed(2)} → ${z.otherUs.toFixed(2)}; ZeroMQ I/O ${z.zmqUs.toFixed(2)}\n`,
      );
    }
    await inst!.close();
    const mainAdded = rows.map((x) => x.zibrato.mainUs - x.none.mainUs);
    const inCalls = rows.map((x) => x.zibrato.inCallsUs - x.none.inCallsUs);
    emitResult({
      config: CONFIG,
      mainAddedUs: median(mainAdded),
      inCallsUs: median(inCalls),
      aroundCallsUs: median(rows.map((_, i) => mainAdded[i]! - inCalls[i]!)),
      otherAddedUs: median(rows.map((x) => x.zibrato.otherUs - x.none.otherUs)),
      zmqUs: median(rows.map((x) => x.zibrato.zmqUs)),
      rounds: rows.map((x) => ({ none: x.none.mainUs, zibrato: x.zibrato.mainUs, noneInCalls: x.none.inCallsUs, zibratoInCalls: x.zibrato.inCallsUs, noneOther: x.none.otherUs, zibratoOther: x.zibrato.otherUs, zibratoZmq: x.zibrato.zmqUs })),
    });
  } finally {
    await pipe?.backend.stop('SIGTERM');
    await pipe?.broker.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

runBench('client-cost', main);
