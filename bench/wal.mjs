// The backend's write-ahead log on and off, side by side in the same run: the
// same rates offered to a file backend without a log and with one (--wal-dir),
// each trial counting what arrived, how soon, and the backend's CPU seconds.
// A rate passes as in bench/throughput.mjs: 0 lost, ≥ 95 % of the offered rate
// achieved, everything delivered within 1 s of the end.
// usage: node bench/wal.mjs [--quick]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSecondsOf, emitResult, isQuick, runBench } from './lib/common.mjs';
import { ZibratoSystem } from './lib/systems.mjs';

const quick = isQuick();
const DURATION_MS = quick ? 2000 : 6000;
const PUBLISHERS = 2;
const DELIVERY_MS = 1000;
const RATES = quick ? [500_000, 1_000_000] : [1_000_000, 2_000_000, 4_000_000, 8_000_000];

async function trials(mode, extra) {
  const system = new ZibratoSystem({ extra });
  await system.start();
  const out = [];
  try {
    for (const [i, rate] of RATES.entries()) {
      const cpu0 = cpuSecondsOf(system.backendPid);
      const r = await system.trial({ name: `bench.wal.${mode}.t${i}`, rate, durationMs: DURATION_MS, publishers: PUBLISHERS, graceMs: Math.max(2000, DURATION_MS / 2) });
      const backendCpuS = cpuSecondsOf(system.backendPid) - cpu0;
      const passed = r.lost === 0 && r.dropped === 0 && r.achievedRate >= 0.95 * rate && r.deliveredMs !== null && r.deliveredMs <= DELIVERY_MS;
      out.push({ rate, passed, made: r.made, received: r.received, lost: r.lost, achievedRate: r.achievedRate, deliveredMs: r.deliveredMs, backendCpuS, backendCpuUsPerRecord: r.received > 0 ? (backendCpuS * 1e6) / r.received : null });
      process.stderr.write(`wal ${mode}: ${rate}/s → received ${r.received} of ${r.made}, achieved ${Math.round(r.achievedRate)}/s, backend CPU ${backendCpuS.toFixed(2)} s ${passed ? 'PASS' : 'fail'}\n`);
    }
  } finally {
    await system.stop();
  }
  return out;
}

async function main() {
  const walDir = mkdtempSync(join(tmpdir(), 'zibrato-bench-wal-'));
  try {
    const off = await trials('off', []);
    const on = await trials('on', ['--wal-dir', walDir]);
    const best = (ts) => ts.filter((t) => t.passed).reduce((a, t) => Math.max(a, t.rate), 0) || null;
    emitResult({ bench: 'wal', durationMs: DURATION_MS, publishers: PUBLISHERS, rates: RATES, off, on, losslessRate: { off: best(off), on: best(on) } });
  } finally {
    rmSync(walDir, { recursive: true, force: true });
  }
}

runBench('wal', main);
