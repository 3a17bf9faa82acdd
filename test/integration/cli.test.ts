import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdTcpPort, tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, stopAll, zibrato } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';

after(stopAll);

async function run(args: string[], env?: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const p = zibrato(args, { env });
  const { code } = await p.exited;
  return { code, out: p.lines.join('\n') };
}

test('--help explains every subcommand and shows defaults', async () => {
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['up', 'broker', 'backend', 'ingest', 'tail', 'send']) assert.match(top.out, new RegExp(`\\n  ${cmd}\\b`), `${cmd} listed`);
  const broker = await run(['broker', '--help']);
  assert.match(broker.out, /tcp:\/\/127\.0\.0\.1:5550/);
  assert.match(broker.out, /High-water marks/);
  const file = await run(['backend', 'file', '--help']);
  assert.match(file.out, /--levels <levels>.*\n?.*default: "info\+"/s);
  assert.match(file.out, /--path <value>[\s\S]*default:\s+"\.\/zibrato-data\/metrics\.jsonl"/);
  const up = await run(['up', '--help']);
  assert.match(up.out, /Embedded defaults/);
});

test("every sink's --help names each option's env variable and default once", async () => {
  const sinks = ['console', 'file', 'memory', 'graphite', 'statsd', 'prometheus', 'prometheus-remote-write', 'otlp', 'librato', 'appoptics', 'store'];
  const helps = await Promise.all(sinks.map((s) => run(['backend', s, '--help'])));
  for (const [i, h] of helps.entries()) {
    assert.equal(h.code, 0, h.out);
    const flat = h.out.replace(/\s+/g, ' ');
    assert.doesNotMatch(flat, /\(env (\w+)\) \(env \1\)/, `${sinks[i]}: an env variable named twice`);
    assert.doesNotMatch(flat, /\(default[^)]*\) \(default/, `${sinks[i]}: two defaults for one option`);
  }
  // Sizes and times in bytes and ms are also shown in the units people think in.
  const file = helps[sinks.indexOf('file')]!.out.replace(/\s+/g, ' ');
  assert.match(file, /--max-bytes <n> .*\(default: 104857600 = 100 MiB\)/);
  assert.match(file, /--max-age-ms <n> .*\(default: 86400000 = 1 day\)/);
  assert.match(file, /--keep <n> .*\(default: 7\)/);
});

test('zibrato send delivers one record, and fails loudly when nobody listens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-send-'));
  const ep = await tcpBrokerEndpoints();
  const file = join(dir, 'm.jsonl');
  const broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe]);
  await broker.waitFor(/broker up/);
  const backend = zibrato(['backend', 'file', '--levels', 'info', '--flush', '1s', '--broker', ep.subscribe, '--path', file]);
  await backend.waitFor(/subscribed/);

  const sent = await run(['send', '--broker', ep.publish, '--level', 'info', '--type', 'counter', '--name', 'backups.done', '--value', '3', '--source', 'cron', '--tag', 'host=db1']);
  assert.equal(sent.code, 0, sent.out);
  await eventually(() => counterTotal(readRows(file), 'backups.done', 'cron') === 3, 'the sent record');
  assert.deepEqual(readRows(file).find((r) => r.name === 'backups.done')?.tags, { host: 'db1' });

  const nobody = await run(['send', '--broker', ep.publish, '--level', 'crit', '--name', 'x', '--timeout', '1s']);
  assert.equal(nobody.code, 1);
  assert.match(nobody.out, /no subscriber for level crit .*\(no backend or tail listens to crit\)/);

  const bad = await run(['send', '--broker', ep.publish, '--name', 'x', '--value', 'NaN']);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /ZIB_ERR_INVALID_VALUE: --value: "NaN" is not a finite number/);
});

test('a sink option with a unit in its key (recentRowsMiB) is the flag --recent-rows-mib, and its value reaches the sink', async () => {
  const ep = await tcpBrokerEndpoints();
  const store = zibrato(['backend', 'store', '--broker', ep.subscribe, '--port', '0', '--recent-rows-mib', '1', '--path', mkdtempSync(join(tmpdir(), 'zibrato-store-mib-'))]);
  const url = /web UI and API on (http:\S+)/.exec(await store.waitFor(/web UI and API on http:\S+/))![1]!;
  const status = (await (await fetch(new URL('api/status', url))).json()) as { store: { memory: { recentRowsBudgetBytes: number } } };
  // The store gives raw rows a quarter of the 1-minute rows' budget on top (src/store/store.ts).
  assert.equal(status.store.memory.recentRowsBudgetBytes, 1.25 * 1024 * 1024);
  await store.stop();
});

test('backend prometheus says where it serves /metrics, so --port 0 (any free port) can be scraped', async () => {
  const ep = await tcpBrokerEndpoints();
  const prometheus = zibrato(['backend', 'prometheus', '--broker', ep.subscribe, '--port', '0']);
  const url = /serving \/metrics on (http:\S+)/.exec(await prometheus.waitFor(/serving \/metrics on http:\S+/))![1]!;
  const res = await fetch(url);
  assert.equal(res.status, 200);
  await res.text();
  await prometheus.stop();
});

test('zibrato tail says on stderr whether a broker answered at its endpoint, and keeps trying when none did', async () => {
  const ep = await tcpBrokerEndpoints();
  const tail = zibrato(['tail', '--broker', ep.subscribe], { label: 'tail-nowhere' });
  await tail.waitFor(new RegExp(`no broker has answered at ${ep.subscribe} yet .*; still trying`));
  const broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe]);
  await tail.waitFor(new RegExp(`the broker at ${ep.subscribe} answered`));
  // A broker already running answers within the connect itself: the notice must not miss that handshake.
  const second = zibrato(['tail', '--broker', ep.subscribe], { label: 'tail-second' });
  await second.waitFor(new RegExp(`the broker at ${ep.subscribe} answered`));
  await Promise.all([tail.stop(), second.stop(), broker.stop()]);
});

test('a backend says when the broker answered, and that none has while there is none (it keeps trying)', async () => {
  const ep = await tcpBrokerEndpoints();
  const backend = zibrato(['backend', 'console', '--broker', ep.subscribe], { label: 'backend-nowhere' });
  await backend.waitFor(new RegExp(`no broker has answered at ${ep.subscribe} yet .*; still trying`));
  const broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe]);
  await backend.waitFor(new RegExp(`the broker at ${ep.subscribe} answered`));
  await Promise.all([backend.stop(), broker.stop()]);
});

test('zibrato send with no broker at its endpoint says no broker answered, not that nobody subscribes, and exits 1', async () => {
  const nowhere = (await tcpBrokerEndpoints()).publish;
  const r = await run(['send', '--broker', nowhere, '--name', 'x', '--timeout', '500ms']);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, new RegExp(`no broker answered at ${nowhere} within 500 ms \\(is \`zibrato up\` or \`zibrato broker\` running\?`));
});

test('numeric and duration options are validated, every subcommand exiting 2 with the option named', async () => {
  const cases: [string[], RegExp][] = [
    [['backend', 'file', '--max-series', 'abc'], /--max-series: "abc" is not a whole number/],
    [['backend', 'file', '--max-series', '-1'], /--max-series: "-1" is not a whole number/],
    [['backend', 'console', '--flush', '10'], /--flush: "10" is not a duration; a bare number is not a duration: write 10s or 10ms/],
    [['tail', '--count', 'abc'], /--count: "abc" is not a whole number/],
    [['send', '--name', 'x', '--timeout', '3000'], /--timeout: "3000" is not a duration/],
    [['broker', '--stats-interval', '5'], /--stats-interval: "5" is not a duration/],
    [['backend', 'graphite', '--port', '-5'], /--port: "-5" is not a whole number from 1 to 65535/],
    [['backend', 'file', '--no-such-option'], /unknown option '--no-such-option'/],
    [['backend', 'console', '--shard', '3/2'], /ZIB_ERR_INVALID_SHARD: --shard: the shard K must be 1…2, got 3/],
    [['broker', '--publish', 'localhost:5550'], /ZIB_ERR_INVALID_OPTION: --publish\[0\]: "localhost:5550" is not a ZeroMQ endpoint such as tcp:\/\/127\.0\.0\.1:5550/],
    // The same typo in every command that connects to the broker: named as --broker, before anything connects.
    [['send', '--name', 'x', '--broker', 'localhost:5550'], /ZIB_ERR_INVALID_OPTION: --broker: "localhost:5550" is not a ZeroMQ endpoint/],
    [['tail', '--broker', 'localhost:5551'], /ZIB_ERR_INVALID_OPTION: --broker: "localhost:5551" is not a ZeroMQ endpoint/],
    [['backend', 'console', '--broker', 'localhost:5551'], /ZIB_ERR_INVALID_OPTION: --broker: "localhost:5551" is not a ZeroMQ endpoint/],
    [['ingest', 'statsd', '--port', '0', '--broker', 'localhost:5550'], /ZIB_ERR_INVALID_OPTION: --broker: "localhost:5550" is not a ZeroMQ endpoint/],
  ];
  for (const [args, re] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.out, re);
  }
});

test('ZIBRATO_BACKEND_SHARD gives a backend its shard when --shard is not given, and --shard wins over it', async () => {
  const ep = await tcpBrokerEndpoints();
  const fromEnv = zibrato(['backend', 'console', '--levels', 'info,warn', '--broker', ep.subscribe], { env: { ZIBRATO_BACKEND_SHARD: '2/3' }, label: 'shard-from-env' });
  await fromEnv.waitFor(/subscribed to info,warn shard 2\/3 at/);
  const fromFlag = zibrato(['backend', 'console', '--levels', 'info', '--shard', '1/2', '--broker', ep.subscribe], { env: { ZIBRATO_BACKEND_SHARD: '2/3' }, label: 'shard-from-flag' });
  await fromFlag.waitFor(/subscribed to info shard 1\/2 at/);
  await Promise.all([fromEnv.stop(), fromFlag.stop()]);
});

test('a bad ZIBRATO_BACKEND_SHARD is refused like a bad --shard, naming the variable', async () => {
  const r = await run(['backend', 'console'], { ZIBRATO_BACKEND_SHARD: '1/1' });
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /ZIB_ERR_INVALID_SHARD: ZIBRATO_BACKEND_SHARD: the shard count N must be 2…256/);
});

test('a bind error names the endpoint and the option, and exits 3', async () => {
  const ep = await tcpBrokerEndpoints();
  const first = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe]);
  await first.waitFor(/broker up/);
  const second = await run(['broker', '--publish', (await tcpBrokerEndpoints()).publish, '--subscribe', ep.subscribe]);
  assert.equal(second.code, 3, second.out);
  assert.match(second.out, new RegExp(`ZIB_ERR_ENDPOINT: --subscribe ${ep.subscribe}: cannot bind: EADDRINUSE`));
  const held = await holdTcpPort((await tcpBrokerEndpoints()).publish);
  try {
    const port = held.port;
    const statsd = await run(['ingest', 'statsd', '--port', String(port), '--broker', ep.publish]);
    assert.equal(statsd.code, 3, statsd.out);
    assert.match(statsd.out, new RegExp(`ZIB_ERR_ENDPOINT: --host/--port 127\\.0\\.0\\.1:${port}: cannot bind: EADDRINUSE`));
  } finally {
    held.close();
  }
  // An endpoint of the right shape that libzmq refuses to connect to (a udp:// one is refused earlier, as an option: exit 2).
  const badConnect = await run(['tail', '--broker', 'tcp://127.0.0.1:notaport']);
  assert.equal(badConnect.code, 3, badConnect.out);
  assert.match(badConnect.out, /ZIB_ERR_ENDPOINT: --broker tcp:\/\/127\.0\.0\.1:notaport: cannot connect: EINVAL/);
});

test('a backend whose sink cannot listen on its port (store API, prometheus) exits 3 with ZIB_ERR_ENDPOINT, so zibrato up does not restart it', async () => {
  const ep = await tcpBrokerEndpoints();
  const held = await holdTcpPort((await tcpBrokerEndpoints()).publish);
  try {
    const store = await run(['backend', 'store', '--broker', ep.subscribe, '--port', String(held.port), '--path', mkdtempSync(join(tmpdir(), 'zibrato-store-port-'))]);
    assert.equal(store.code, 3, store.out);
    assert.match(store.out, new RegExp(`ZIB_ERR_ENDPOINT: --host/--port 127\\.0\\.0\\.1:${held.port}: store API cannot listen: EADDRINUSE`));
    const prometheus = await run(['backend', 'prometheus', '--broker', ep.subscribe, '--port', String(held.port)]);
    assert.equal(prometheus.code, 3, prometheus.out);
    assert.match(prometheus.out, new RegExp(`ZIB_ERR_ENDPOINT: --host/--port 127\\.0\\.0\\.1:${held.port}: prometheus cannot listen: EADDRINUSE`));
  } finally {
    held.close();
  }
});
