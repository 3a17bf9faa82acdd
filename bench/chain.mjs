// End-to-end throughput through one broker and through a chain of two (a host
// broker with --upstream → a central broker), side by side in the same run:
// a publisher process (the Zibrato client, as fast as it goes without
// dropping: bench/curve.mjs's publisher mode), the broker(s), and a raw
// subscriber here at the (central) broker that counts records from the batch
// headers. Modes alternate (one, chain, one, chain…) so machine noise hits
// both alike. Reports records/s and each broker's CPU per record, and from
// that the ceiling of each broker (one core's worth of records/s). Figures on
// a shared machine are noisy; compare the columns.
// usage: node bench/chain.mjs [--quick]
import { Child, countingSubscriber, cpuSecondsOf, emitResult, freeTcpPort, isQuick, median, rssOf, runBench, sleep, zibrato } from './lib/common.mjs';

const PUBLISHER = new URL('./curve.mjs', import.meta.url).pathname;
const quick = isQuick();
const RECORDS = quick ? 10_000_000 : 40_000_000;
const ROUNDS = quick ? 1 : 3;
/** Every trial is bounded: past this the subscriber stops waiting and the trial reports what arrived. */
const TRIAL_LIMIT_MS = quick ? 30_000 : 90_000;

async function endpoints() {
  return { pub: `tcp://127.0.0.1:${await freeTcpPort()}`, sub: `tcp://127.0.0.1:${await freeTcpPort()}` };
}

async function trial(chain) {
  const central = await endpoints();
  const centralBroker = zibrato(['broker', '--publish', central.pub, '--subscribe', central.sub, '--stats-interval', '0'], 'central broker');
  await centralBroker.waitFor(/broker up/);
  let hostBroker = null;
  let publishTo = central.pub;
  if (chain) {
    const host = await endpoints();
    hostBroker = zibrato(['broker', '--publish', host.pub, '--subscribe', host.sub, '--stats-interval', '0', '--upstream', central.pub], 'host broker');
    await hostBroker.waitFor(/broker up/);
    publishTo = host.pub;
  }
  const subscriber = countingSubscriber(central.sub, RECORDS);
  const { count } = subscriber;
  if (hostBroker) await hostBroker.waitFor(/learned the central broker's subscriptions/, 20_000);
  // CPU time is steadier than wall time on a shared machine.
  const cpu0 = { central: cpuSecondsOf(centralBroker.pid), host: hostBroker ? cpuSecondsOf(hostBroker.pid) : 0 };
  const p = new Child(process.execPath, [PUBLISHER, '--publisher', String(RECORDS), publishTo], { label: 'publisher' });
  const startAt = Number((await p.waitFor(/^start \d+/, 20_000)).split(' ')[1]);
  let peakRss = 0;
  const until = Date.now() + TRIAL_LIMIT_MS;
  while (count.received < RECORDS && Date.now() < until) {
    peakRss = Math.max(peakRss, rssOf(centralBroker.pid), hostBroker ? rssOf(hostBroker.pid) : 0);
    await sleep(50);
  }
  const centralCpuS = cpuSecondsOf(centralBroker.pid) - cpu0.central;
  const hostCpuS = hostBroker ? cpuSecondsOf(hostBroker.pid) - cpu0.host : null;
  const doneLine = await p.waitFor(/^done /, 30_000).catch(() => 'done (not reported)');
  await subscriber.close();
  await p.stop();
  await hostBroker?.stop();
  await centralBroker.stop();
  const { received, lastAt } = count;
  const seconds = (lastAt - startAt) / 1000;
  const perRecord = (s) => (s === null ? null : Math.round((s * 1e9) / Math.max(1, received)));
  return {
    chain,
    records: RECORDS,
    received,
    seconds,
    recordsPerSecond: Math.round(received / seconds),
    centralCpuNsPerRecord: perRecord(centralCpuS),
    hostCpuNsPerRecord: perRecord(hostCpuS),
    publisher: doneLine,
    peakBrokerRssMiB: Math.round(peakRss / 1048576),
  };
}

runBench('chain', async () => {
  const trials = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const chain of [false, true]) {
      const t = await trial(chain);
      trials.push(t);
      process.stderr.write(`${chain ? 'chain of two' : 'one broker  '}: ${t.received}/${t.records} records in ${t.seconds.toFixed(2)} s = ${t.recordsPerSecond.toLocaleString('en-US')}/s, central broker CPU ${t.centralCpuNsPerRecord} ns/record${chain ? `, host broker ${t.hostCpuNsPerRecord} ns/record` : ''} (${t.publisher})\n`);
    }
  }
  const med = (chain, key) => median(trials.filter((t) => t.chain === chain).map((t) => t[key]));
  /** Records/s one broker process could carry with a whole core: its single forwarding thread is the limit. */
  const ceiling = (ns) => (ns ? Math.round(1e9 / ns) : null);
  const one = { recordsPerSecond: med(false, 'recordsPerSecond'), brokerCpuNsPerRecord: med(false, 'centralCpuNsPerRecord') };
  const two = { recordsPerSecond: med(true, 'recordsPerSecond'), centralCpuNsPerRecord: med(true, 'centralCpuNsPerRecord'), hostCpuNsPerRecord: med(true, 'hostCpuNsPerRecord') };
  const summary = {
    recordsPerTrial: RECORDS,
    rounds: ROUNDS,
    one: { ...one, brokerCeilingRecordsPerSecond: ceiling(one.brokerCpuNsPerRecord) },
    chain: { ...two, centralCeilingRecordsPerSecond: ceiling(two.centralCpuNsPerRecord), hostCeilingRecordsPerSecond: ceiling(two.hostCpuNsPerRecord) },
    chainCostPercent: Math.round((1 - two.recordsPerSecond / one.recordsPerSecond) * 1000) / 10,
    trials,
  };
  process.stdout.write(`one broker ${one.recordsPerSecond.toLocaleString('en-US')}/s (${one.brokerCpuNsPerRecord} ns/record); chain ${two.recordsPerSecond.toLocaleString('en-US')}/s (host ${two.hostCpuNsPerRecord}, central ${two.centralCpuNsPerRecord} ns/record)\n`);
  emitResult(summary);
});
