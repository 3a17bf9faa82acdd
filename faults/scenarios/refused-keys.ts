import { join } from 'node:path';
import type { Scenario } from '../scenario.ts';
import { ROOT, program, stopAll, zibrato, type Proc } from '../../test/helpers/processes.ts';
import { counterTotal, readRows } from '../../test/helpers/jsonl.ts';
import { CURVE_ENV, keyPairFileText, newKeyPair, publicKeyFileText, type CurveServerKeys } from '../../src/security/keys.ts';
import { writePrivateFileSync } from '../../src/security/files.ts';
import { backendCounts, eventually, finish, METRIC, publisherResult, RssSampler, setup, toResult } from '../lib/delivery.ts';

/** The unlisted publisher's source, so any record of it that got through would show in the listed backend's file. */
const INTRUDER_SOURCE = 'intruder';

/** A rate publisher (faults/lib/rate-publisher.mjs) whose client reads its CURVE keys from the environment, as a deployed app would. */
function keyedPublisher(endpoint: string, rate: number, durationMs: number, keys: CurveServerKeys, serverKey: string, source: string): Proc {
  const env = { [CURVE_ENV.serverKey]: serverKey, [CURVE_ENV.publicKey]: keys.publicKey, [CURVE_ENV.secretKey]: keys.secretKey };
  return program(process.execPath, [join(ROOT, 'faults/lib/rate-publisher.mjs'), endpoint, METRIC, String(rate), String(durationMs), '', source], source, env);
}

function keyedBackend(subscribe: string, path: string, name: string, keyFile: string, serverPubFile: string): Proc {
  return zibrato(['backend', 'file', '--name', name, '--levels', 'info', '--flush', '1s', '--broker', subscribe, '--path', path, '--curve-key-file', keyFile, '--curve-server-key-file', serverPubFile], { label: name });
}


const scenario: Scenario = {
  name: 'refused-keys',
  description: 'A broker with CURVE and allow-lists; beside a listed publisher and subscriber, an unlisted publisher and an unlisted subscriber (each with a key pair of its own and the broker\'s public key) run for the whole time.',
  async run({ quick }) {
    const rate = quick ? 10_000 : 100_000;
    const durationMs = quick ? 5000 : 60_000;
    const ep = await setup('refused-keys');
    const file = (n: string) => join(ep.dir, `${n}.jsonl`);
    const keys = { broker: newKeyPair(), app: newKeyPair(), backend: newKeyPair(), intruder: newKeyPair(), spy: newKeyPair() };
    const keyFile = (n: keyof typeof keys) => join(ep.dir, `${n}.key`);
    for (const n of Object.keys(keys) as (keyof typeof keys)[]) writePrivateFileSync(keyFile(n), keyPairFileText(keys[n]), 'exclusive');
    writePrivateFileSync(join(ep.dir, 'broker.pub'), publicKeyFileText(keys.broker.publicKey), 'exclusive');
    writePrivateFileSync(join(ep.dir, 'publishers.allow'), publicKeyFileText(keys.app.publicKey), 'exclusive');
    writePrivateFileSync(join(ep.dir, 'subscribers.allow'), publicKeyFileText(keys.backend.publicKey), 'exclusive');
    try {
      const broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe, '--curve-key-file', keyFile('broker'), '--allow-publishers-file', join(ep.dir, 'publishers.allow'), '--allow-subscribers-file', join(ep.dir, 'subscribers.allow')], { label: 'broker' });
      await broker.waitFor(/broker up/);
      const listed = keyedBackend(ep.subscribe, file('listed'), 'listed', keyFile('backend'), join(ep.dir, 'broker.pub'));
      const spy = keyedBackend(ep.subscribe, file('spy'), 'spy', keyFile('spy'), join(ep.dir, 'broker.pub'));
      await listed.waitFor(/subscribed/);
      await broker.waitFor(/ZIB_BROKER_REFUSED: refused a subscriber/);
      const rss = new RssSampler(() => [broker.pid, listed.pid]);
      const intruder = keyedPublisher(ep.publish, rate, durationMs, keys.intruder, keys.broker.publicKey, INTRUDER_SOURCE);
      const pub = keyedPublisher(ep.publish, rate, durationMs, keys.app, keys.broker.publicKey, 'fault-publisher');
      await broker.waitFor(/ZIB_BROKER_REFUSED: refused a publisher/);
      const intruded = await publisherResult(intruder, durationMs + 60_000);
      const a = await finish(pub, durationMs + 60_000, [file('listed')], [listed, spy], rss);
      await broker.stop('SIGTERM');
      const refusals = broker.lines.filter((l) => /ZIB_BROKER_REFUSED/.test(l)).length;

      const listedRows = readRows(file('listed'));
      const accepted = counterTotal(listedRows, METRIC, INTRUDER_SOURCE);
      const delivered = counterTotal(readRows(file('spy')), METRIC);
      const refusedCounted = counterTotal(listedRows, 'zibrato.broker.refused');
      if (accepted !== 0) throw new Error(`${accepted} records of the unlisted publisher were accepted`);
      if (delivered !== 0) throw new Error(`${delivered} records were delivered to the unlisted subscriber`);
      if (a.received !== a.made || a.silentlyLost !== 0) throw new Error(`the listed publisher made ${a.made}, the listed backend received ${a.received} (silently lost ${a.silentlyLost})`);
      if (backendCounts(file('listed')).received !== a.made) throw new Error('the listed backend holds records that are not the listed publisher\'s');
      return toResult(a, null, `unlisted publisher made ${intruded.made}: 0 accepted (its client, refused at the handshake, never heard a subscription; its own count: sent ${intruded.stats.sent}, dropped ${intruded.stats.dropped}, unsubscribed ${intruded.stats.unsubscribed}); unlisted subscriber received 0; broker logged ${refusals} refusal lines, zibrato.broker.refused at the listed backend ${refusedCounted}; CURVE on every connection`);
    } finally {
      await stopAll();
    }
  },
};

export default scenario;
