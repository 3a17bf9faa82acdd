import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, program, ROOT, stopAll, zibrato } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';

after(stopAll);

interface Key {
  keyFile: string;
  pubFile: string;
  publicKey: string;
}

/** `zibrato keygen dir/name`: returns the key pair file and the public key it printed. */
async function keygen(dir: string, name: string): Promise<Key> {
  const p = zibrato(['keygen', join(dir, name)]);
  const { code } = await p.exited;
  assert.equal(code, 0, p.lines.join('\n'));
  return { keyFile: join(dir, `${name}.key`), pubFile: join(dir, `${name}.pub`), publicKey: p.lines.find((l) => /^\S{40}$/.test(l))! };
}

function keyArgs(keyFile: string, serverPub: string): string[] {
  return ['--curve-key-file', keyFile, '--curve-server-key-file', serverPub];
}

test('zibrato keygen writes the key pair file with mode 0600 and prints the public key it holds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-keygen-'));
  const k = await keygen(dir, 'app');
  assert.equal(statSync(k.keyFile).mode & 0o777, 0o600);
  assert.match(readFileSync(k.keyFile, 'utf8'), new RegExp(`public-key = ${k.publicKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\nsecret-key = \\S{40}`));
  const again = zibrato(['keygen', join(dir, 'app')]);
  assert.equal((await again.exited).code, 2, 'an existing key is not overwritten without --force');
});

test('zibrato keygen keys/broker makes the missing keys/ directory (0700), as its --help example does in a fresh checkout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-keygen-dir-'));
  const k = await keygen(join(dir, 'keys'), 'broker');
  assert.equal(statSync(join(dir, 'keys')).mode & 0o777, 0o700);
  assert.equal(statSync(k.keyFile).mode & 0o777, 0o600);
  const inFile = zibrato(['keygen', join(k.keyFile, 'x')]);
  assert.equal((await inFile.exited).code, 2);
  assert.match(inFile.lines.join('\n'), /ZIB_ERR_INVALID_OPTION: <name> .*broker\.key\/x: cannot write its key files: /);
});

/** A broker with keys whose lists admit `app` (publisher) and `backend` (subscriber), and a keyed file backend. */
async function keyedPipeline() {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-curve-'));
  const [broker, app, backend, intruder, spy] = (await Promise.all(['broker', 'app', 'backend', 'intruder', 'spy'].map((n) => keygen(dir, n)))) as [Key, Key, Key, Key, Key];
  writeFileSync(join(dir, 'publishers.allow'), `${readFileSync(app.pubFile, 'utf8')}`);
  writeFileSync(join(dir, 'subscribers.allow'), `${readFileSync(backend.pubFile, 'utf8')}`);
  const ep = await tcpBrokerEndpoints();
  const b = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe, '--stats-interval', '200ms', '--curve-key-file', broker.keyFile, '--allow-publishers-file', join(dir, 'publishers.allow'), '--allow-subscribers-file', join(dir, 'subscribers.allow')]);
  await b.waitFor(/broker up/);
  const good = join(dir, 'good.jsonl');
  const goodBackend = zibrato(['backend', 'file', '--levels', 'info', '--flush', '200ms', '--broker', ep.subscribe, '--path', good, ...keyArgs(backend.keyFile, broker.pubFile)]);
  return { dir, ep, b, good, goodBackend, broker, app, intruder, spy };
}

test('a keyed publisher delivers to a keyed backend, and unlisted publishers and subscribers get nothing in or out', async () => {
  const { dir, ep, b, good, goodBackend, broker, app, intruder, spy } = await keyedPipeline();
  // The spy holds a key pair of its own and knows the broker's public key, but is not on the subscriber list.
  const spied = join(dir, 'spied.jsonl');
  const spyBackend = zibrato(['backend', 'file', '--levels', 'info', '--flush', '200ms', '--broker', ep.subscribe, '--path', spied, ...keyArgs(spy.keyFile, broker.pubFile)]);
  await b.waitFor(/ZIB_BROKER_REFUSED: refused a subscriber from 127\.0\.0\.1 with public key/);
  await goodBackend.waitFor(/subscribed/);

  const sent = zibrato(['send', '--broker', ep.publish, '--name', 'orders', '--value', '3', '--source', 'shop', ...keyArgs(app.keyFile, broker.pubFile)]);
  assert.equal((await sent.exited).code, 0, sent.lines.join('\n'));
  // The intruder is refused at the handshake: it never hears a subscription, so it finds nobody listening.
  const injected = zibrato(['send', '--broker', ep.publish, '--name', 'orders', '--value', '1000000', '--source', 'shop', '--timeout', '2s', ...keyArgs(intruder.keyFile, broker.pubFile)]);
  assert.equal((await injected.exited).code, 1, injected.lines.join('\n'));
  // A publisher without keys fails the CURVE handshake the same way.
  const plain = zibrato(['send', '--broker', ep.publish, '--name', 'orders', '--value', '1000000', '--source', 'shop', '--timeout', '2s']);
  assert.equal((await plain.exited).code, 1, plain.lines.join('\n'));

  await eventually(() => counterTotal(readRows(good), 'orders', 'shop') === 3, 'the listed publisher\'s record at the listed backend');
  await b.waitFor(/ZIB_BROKER_REFUSED: refused a publisher from 127\.0\.0\.1 with public key/);
  // Refusals are counted in the broker's self-metrics, which reach the listed backend.
  await eventually(() => counterTotal(readRows(good), 'zibrato.broker.refused') >= 2, 'zibrato.broker.refused at the listed backend');
  assert.equal(counterTotal(readRows(good), 'orders', 'shop'), 3, 'nothing from unlisted publishers was accepted');
  assert.equal(readRows(spied).filter((r) => r.name === 'orders' || r.name.startsWith('zibrato.broker')).length, 0, 'nothing was delivered to the unlisted subscriber');
  assert.ok(spyBackend.lines.every((l) => !/ZIB_LOST/.test(l)));
});

test('a host broker forwards to a keyed central broker with a listed key pair, and one with an unlisted key pair is refused', async () => {
  const { b, ep, good, goodBackend, broker, app, intruder } = await keyedPipeline();
  await goodBackend.waitFor(/subscribed/);
  const host = await tcpBrokerEndpoints();
  const hostBroker = zibrato(['broker', '--publish', host.publish, '--subscribe', host.subscribe, '--upstream', ep.publish, '--upstream-server-key-file', broker.pubFile, '--upstream-key-file', app.keyFile], { label: 'host' });
  await hostBroker.waitFor(/learned the central broker's subscriptions/);
  const sent = zibrato(['send', '--broker', host.publish, '--name', 'via.host', '--value', '5', '--source', 'shop']);
  assert.equal((await sent.exited).code, 0, sent.lines.join('\n'));
  await eventually(() => counterTotal(readRows(good), 'via.host', 'shop') === 5, 'the record sent through the keyed upstream');

  const rogue = await tcpBrokerEndpoints();
  const rogueBroker = zibrato(['broker', '--publish', rogue.publish, '--subscribe', rogue.subscribe, '--upstream', ep.publish, '--upstream-server-key-file', broker.pubFile, '--upstream-key-file', intruder.keyFile], { label: 'rogue host' });
  await rogueBroker.waitFor(/broker up/);
  await b.waitFor(new RegExp(`ZIB_BROKER_REFUSED: refused a publisher from 127\\.0\\.0\\.1 with public key ${intruder.publicKey.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.ok(!rogueBroker.lines.some((l) => l.includes("learned the central broker's subscriptions")), 'a refused host broker never hears the central broker');
});

test('the Python example publishes with listed keys, and nothing of it is accepted with unlisted ones', async () => {
  const { ep, b, good, goodBackend, broker, app, intruder } = await keyedPipeline();
  await goodBackend.waitFor(/subscribed/);
  const python = (keyFile: string, value: string) => program('/usr/bin/python3', [join(ROOT, 'examples/python/publish_native.py'), '--broker', ep.publish, '--name', 'py.curve', '--value', value, '--count', '4', '--source', 'py', '--wait-ms', '3000', '--curve-key-file', keyFile, '--curve-server-key-file', broker.pubFile], 'publish_native.py');
  const listed = python(app.keyFile, '2');
  assert.equal((await listed.exited).code, 0, listed.lines.join('\n'));
  const unlisted = python(intruder.keyFile, '1000');
  await unlisted.exited;
  assert.match(unlisted.lines.join('\n'), /no subscriber for level info/);
  await eventually(() => counterTotal(readRows(good), 'py.curve', 'py') === 8, 'the listed Python publisher\'s 4 × 2');
  await b.waitFor(/ZIB_BROKER_REFUSED: refused a publisher from 127\.0\.0\.1/);
  assert.equal(counterTotal(readRows(good), 'py.curve', 'py'), 8, 'nothing from the unlisted Python publisher');
});


test('zibrato up with security key files runs a keyed broker and backend, and a listed app delivers through them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-up-curve-'));
  const [broker, backends, app] = (await Promise.all(['broker', 'backends', 'app'].map((n) => keygen(dir, n)))) as [Key, Key, Key];
  writeFileSync(join(dir, 'publishers.allow'), readFileSync(app.pubFile, 'utf8'));
  writeFileSync(join(dir, 'subscribers.allow'), readFileSync(backends.pubFile, 'utf8'));
  const ep = await tcpBrokerEndpoints();
  const file = join(dir, 'm.jsonl');
  const config = join(dir, 'z.yaml');
  writeFileSync(
    config,
    `broker:\n  publish: [${ep.publish}]\n  subscribe: [${ep.subscribe}]\nbackends:\n  - { name: file, sink: file, levels: info, flush: 200ms, options: { path: ${file} } }\n` +
      `security:\n  brokerKeyFile: ${broker.keyFile}\n  clientKeyFile: ${backends.keyFile}\n  allowPublishersFile: ${join(dir, 'publishers.allow')}\n  allowSubscribersFile: ${join(dir, 'subscribers.allow')}\n`,
  );
  // The children's command lines (what ps shows) name key files, never a key.
  const check = zibrato(['up', '-c', config, '--check']);
  assert.equal((await check.exited).code, 0, check.lines.join('\n'));
  const commandLines = check.lines.join('\n');
  assert.match(commandLines, /broker: zibrato broker .*--curve-key-file \S+broker\.key --allow-publishers-file/);
  assert.match(commandLines, /backend:file: zibrato backend file .*--curve-key-file \S+backends\.key/);
  for (const k of [broker, backends]) assert.ok(!commandLines.includes(readFileSync(k.keyFile, 'utf8').split('secret-key = ')[1]!.trim()));
  const up = zibrato(['up', '-c', config], { groupLeader: true });
  await up.waitFor(/CURVE on: 1 publisher keys, 1 subscriber keys allowed/);
  await up.waitFor(/\[backend:file\].*subscribed/);
  const sent = zibrato(['send', '--broker', ep.publish, '--name', 'up.curve', '--value', '5', '--source', 'app', ...keyArgs(app.keyFile, broker.pubFile)]);
  assert.equal((await sent.exited).code, 0, sent.lines.join('\n'));
  await eventually(() => counterTotal(readRows(file), 'up.curve', 'app') === 5, 'the record in the file backend under up');
  await up.stop('SIGTERM', 15_000);
});

test('a key added to an allow-list is admitted after SIGHUP, beside the one already listed (rotation), and tail reads with it', async () => {
  const { dir, ep, b, broker, app } = await keyedPipeline();
  const reader = await keygen(dir, 'reader');
  const tailArgs = ['tail', '--levels', 'info', '--json', '--broker', ep.subscribe, ...keyArgs(reader.keyFile, broker.pubFile)];
  const before = zibrato(tailArgs);
  await b.waitFor(/ZIB_BROKER_REFUSED: refused a subscriber .*public key \S+/);
  await before.stop('SIGTERM', 5000);
  writeFileSync(join(dir, 'subscribers.allow'), readFileSync(reader.pubFile, 'utf8'), { flag: 'a' });
  process.kill(b.pid, 'SIGHUP');
  await b.waitFor(/allow-lists reread: 1 publisher keys, 2 subscriber keys/);
  const tail = zibrato(tailArgs);
  const sent = zibrato(['send', '--broker', ep.publish, '--name', 'rotated', '--value', '7', ...keyArgs(app.keyFile, broker.pubFile)]);
  assert.equal((await sent.exited).code, 0, sent.lines.join('\n'));
  await tail.waitFor(/"name":"rotated","value":7/);
});
