// Throughput with CURVE off and on, side by side in the same run: a broker
// process, a publisher process (the Zibrato client, as fast as it can without
// dropping) and a raw subscriber here that counts records from the batch
// headers. Modes alternate (plain, curve, plain, curve…) so machine noise hits
// both alike. Figures on a shared machine are noisy; compare the two columns.
// usage: node bench/curve.mjs [--quick]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { Child, countingSubscriber, cpuSecondsOf, emitResult, freeTcpPort, isQuick, median, rssOf, runBench, sleep, zibrato } from './lib/common.mjs';

const SELF = new URL(import.meta.url).pathname;

if (process.argv[2] === '--publisher') {
  // Child: publish N counter increments at info, never letting the client's buffer overflow.
  const { Zibrato } = await import('../dist/index.js');
  const total = Number(process.argv[3]);
  const z = new Zibrato({ broker: process.argv[4], maxBufferedRecords: 2_000_000 });
  if (!(await z.ready({ levels: ['info'], timeoutMs: 10_000 }))) throw new Error('publisher: no subscriber within 10 s');
  const c = z.counterHandle({ name: 'bench.curve', level: 'info' });
  process.stdout.write(`start ${Date.now()}\n`);
  for (let sent = 0; sent < total; ) {
    for (let i = 0; i < 10_000 && sent < total; i++, sent++) c.inc();
    while (z.stats().buffered > 500_000) await sleep(1);
  }
  await z.close({ timeoutMs: 30_000 });
  const s = z.stats();
  process.stdout.write(`done sent=${s.sent} dropped=${s.dropped}\n`);
  process.exit(0);
}

const quick = isQuick();
const RECORDS = quick ? 10_000_000 : 40_000_000;
const ROUNDS = quick ? 1 : 3;
/** Every trial is bounded: past this the subscriber stops waiting and the trial reports what arrived. */
const TRIAL_LIMIT_MS = quick ? 30_000 : 90_000;

async function trial(curve) {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-bench-curve-'));
  const pub = `tcp://127.0.0.1:${await freeTcpPort()}`;
  const sub = `tcp://127.0.0.1:${await freeTcpPort()}`;
  const server = zmq.curveKeyPair();
  const app = zmq.curveKeyPair();
  const reader = zmq.curveKeyPair();
  const env = {};
  const brokerArgs = ['broker', '--publish', pub, '--subscribe', sub, '--stats-interval', '0'];
  if (curve) {
    writeFileSync(join(dir, 'broker.key'), `public-key = ${server.publicKey}\nsecret-key = ${server.secretKey}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'pub.allow'), `${app.publicKey}\n`);
    writeFileSync(join(dir, 'sub.allow'), `${reader.publicKey}\n`);
    brokerArgs.push('--curve-key-file', join(dir, 'broker.key'), '--allow-publishers-file', join(dir, 'pub.allow'), '--allow-subscribers-file', join(dir, 'sub.allow'));
    Object.assign(env, { ZIBRATO_CURVE_SERVER_KEY: server.publicKey, ZIBRATO_CURVE_PUBLIC_KEY: app.publicKey, ZIBRATO_CURVE_SECRET_KEY: app.secretKey });
  }
  const broker = zibrato(brokerArgs, 'broker');
  await broker.waitFor(/broker up/);
  const subscriber = countingSubscriber(sub, RECORDS, curve ? { curveServerKey: server.publicKey, curvePublicKey: reader.publicKey, curveSecretKey: reader.secretKey } : {});
  const { count } = subscriber;
  // CPU time is steadier than wall time on a shared machine: the broker's is the cost of encryption there.
  const brokerCpu0 = cpuSecondsOf(broker.pid);
  // The publisher reads its keys from the environment, the way a deployed app would.
  const p = new Child(process.execPath, [SELF, '--publisher', String(RECORDS), pub], { label: 'publisher', env });
  const startLine = await p.waitFor(/^start \d+/, 20_000);
  const startAt = Number(startLine.split(' ')[1]);
  let peakBrokerRss = 0;
  const until = Date.now() + TRIAL_LIMIT_MS;
  while (count.received < RECORDS && Date.now() < until) {
    peakBrokerRss = Math.max(peakBrokerRss, rssOf(broker.pid));
    await sleep(50);
  }
  const brokerCpuS = cpuSecondsOf(broker.pid) - brokerCpu0;
  const doneLine = await p.waitFor(/^done /, 30_000).catch(() => 'done (not reported)');
  await subscriber.close();
  await p.stop();
  await broker.stop();
  const { received, lastAt } = count;
  const seconds = (lastAt - startAt) / 1000;
  return { curve, records: RECORDS, received, seconds, recordsPerSecond: Math.round(received / seconds), brokerCpuNsPerRecord: Math.round((brokerCpuS * 1e9) / Math.max(1, received)), publisher: doneLine, peakBrokerRssMiB: Math.round(peakBrokerRss / 1048576) };
}

runBench('curve', async () => {
  const trials = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const curve of [false, true]) {
      const t = await trial(curve);
      trials.push(t);
      process.stderr.write(`curve ${curve ? 'on ' : 'off'}: ${t.received}/${t.records} records in ${t.seconds.toFixed(2)} s = ${t.recordsPerSecond.toLocaleString('en-US')}/s, broker CPU ${t.brokerCpuNsPerRecord} ns/record (${t.publisher})\n`);
    }
  }
  const rate = (curve) => median(trials.filter((t) => t.curve === curve).map((t) => t.recordsPerSecond));
  const off = rate(false);
  const on = rate(true);
  const cpu = (curve) => median(trials.filter((t) => t.curve === curve).map((t) => t.brokerCpuNsPerRecord));
  const summary = { recordsPerTrial: RECORDS, rounds: ROUNDS, plainRecordsPerSecond: off, curveRecordsPerSecond: on, curveCostPercent: Math.round((1 - on / off) * 1000) / 10, plainBrokerCpuNsPerRecord: cpu(false), curveBrokerCpuNsPerRecord: cpu(true), trials };
  process.stdout.write(`CURVE off ${off.toLocaleString('en-US')}/s, on ${on.toLocaleString('en-US')}/s (${summary.curveCostPercent} % slower); broker CPU ${cpu(false)} vs ${cpu(true)} ns/record\n`);
  emitResult(summary);
});
