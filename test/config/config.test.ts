import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG_TEXT, parseConfig } from '../../src/config/config.ts';
import { childSpecs } from '../../src/cli/up-command.ts';
import { parseLevels } from '../../src/levels.ts';
import { parseCount, parseDurationMs } from '../../src/cli/duration.ts';
import fc from 'fast-check';

const rejects = (text: string, re: RegExp) => assert.throws(() => parseConfig(text), (e: Error & { code?: string }) => e.code === 'ZIB_ERR_INVALID_CONFIG' && re.test(e.message));

describe('config', () => {
  test('the embedded defaults: broker on 5550/5551, console at info+, file and store at debug+', () => {
    const c = parseConfig(DEFAULT_CONFIG_TEXT);
    assert.deepEqual(c.broker, { publish: ['tcp://127.0.0.1:5550'], subscribe: ['tcp://127.0.0.1:5551'] });
    assert.deepEqual(c.backends.map((b) => [b.name, b.sink, b.levels.join(','), b.flushIntervalMs]), [
      ['console', 'console', 'info,warn,error,crit', 10_000],
      ['file', 'file', 'debug,info,warn,error,crit', 10_000],
      ['store', 'store', 'debug,info,warn,error,crit', 10_000],
    ]);
    assert.equal(c.backends[1]!.options.path, './zibrato-data/metrics.jsonl');
    assert.deepEqual(c.backends[2]!.options, { path: './zibrato-data', host: '127.0.0.1', port: 5580, retentionRaw: '2d', retention1m: '30d', retention1h: '1y', source: 'store', sourceUrl: 'http://127.0.0.1:9090', sourceNamespace: '', recentRowsMiB: 32 });
  });
  test('a store backend on a non-loopback address without a token is refused when the config is read', () => {
    rejects('backends:\n  - sink: store\n    options: { host: 0.0.0.0 }', /backends\[0\]\.options.*ZIB_ERR_TOKEN_REQUIRED|token/);
    assert.equal(parseConfig('backends:\n  - sink: store\n    options: { host: 0.0.0.0, token: s3cret }').backends[0]!.options.host, '0.0.0.0');
    rejects('backends:\n  - sink: store\n    options: { retentionRaw: forever }', /backends\[0\]\.options.*retentionRaw/);
  });
  test('JSON works as well as YAML', () => {
    const c = parseConfig(JSON.stringify({ backends: [{ sink: 'console', levels: ['warn', 'crit'], flush: '500ms' }] }));
    assert.deepEqual(c.backends[0]!.levels, ['warn', 'crit']);
    assert.equal(c.backends[0]!.flushIntervalMs, 500);
  });
  test('errors name the bad key', () => {
    rejects('brokr: {}', /config \(root\)\.brokr: unknown key/);
    rejects('backends:\n  - sink: nowhere', /backends\[0\]\.sink: .*unknown sink "nowhere"/);
    rejects('backends:\n  - sink: file\n    levels: loud', /backends\[0\]\.levels: .*"loud" is not a level/);
    rejects('backends:\n  - sink: file\n    options: { pth: x }', /backends\[0\]\.options\.pth: unknown option for sink "file"/);
    rejects('backends:\n  - sink: file\n  - sink: file', /backends\[1\]\.name: "file" is used by another backend/);
    rejects('broker:\n  publish: localhost:5550', /broker\.publish\[0\]: "localhost:5550" is not a ZeroMQ endpoint/);
    rejects('ingest:\n  - type: statsd\n    port: 99999', /ingest\[0\]\.port: must be a port number/);
    rejects('backends: [ {', /not valid YAML or JSON/);
    rejects('backends:\n  - sink: statsd\n    options: { protocol: sctp }', /backends\[0\]\.options\.protocol: expected one of udp, tcp, got "sctp"/);
  });
  test('an error says its key path once (not "backends[0].flush: flush:" nor "backends[0].options: backends[0].options.keep:")', () => {
    rejects('backends:\n  - sink: console\n    flush: 10', /^config backends\[0\]\.flush: "10" is not a duration/);
    rejects('backends:\n  - sink: file\n    options: { keep: x }', /^config backends\[0\]\.options\.keep: expected a number, got "x"$/);
    rejects('backends:\n  - sink: console\n    levels: loud', /^config backends\[0\]\.levels: "loud" is not a level/);
    rejects('backends:\n  - sink: graphite\n    options: { port: 0 }', /^config backends\[0\]\.options\.port: "0" is not a whole number/);
    rejects('restart: { maxDelay: 5 }', /^config restart\.maxDelay: "5" is not a duration/);
  });
  test('levels of the wrong type (a number, a mapping, a list of numbers) are a config error naming the key, not a TypeError', () => {
    rejects('backends:\n  - sink: console\n    levels: 5', /backends\[0\]\.levels: 5 is not a level list/);
    rejects('backends:\n  - sink: console\n    levels: { info: true }', /backends\[0\]\.levels: an object is not a level list/);
    rejects('backends:\n  - sink: console\n    levels: [info, 3]', /backends\[0\]\.levels: an array is not a level list/);
  });
  test('publish and subscribe on the same endpoint are refused', () => {
    rejects('broker:\n  publish: tcp://127.0.0.1:7000\n  subscribe: tcp://127.0.0.1:7000', /broker\.subscribe\[0\]: "tcp:\/\/127\.0\.0\.1:7000" is also a publish endpoint/);
  });
  test('broker.upstream makes zibrato up run a host broker forwarding to that central broker, and must be one endpoint', () => {
    const specs = childSpecs(parseConfig('broker:\n  upstream: tcp://10.0.0.9:5550\n'));
    assert.deepEqual(specs[0]!.args, ['broker', '--publish', 'tcp://127.0.0.1:5550', '--subscribe', 'tcp://127.0.0.1:5551', '--upstream', 'tcp://10.0.0.9:5550']);
    rejects('broker:\n  upstream: [tcp://a:1, tcp://b:1]', /broker\.upstream: must be one endpoint/);
    rejects('broker:\n  upstream: central:5550', /broker\.upstream\[0\]: "central:5550" is not a ZeroMQ endpoint/);
  });
  test('two backends writing one file are refused', () => {
    rejects('backends:\n  - { name: a, sink: file, options: { path: ./x.jsonl } }\n  - { name: b, sink: file, options: { path: x.jsonl } }', /backends\[1\]\.options\.path: "x\.jsonl" is also written by backend "a"/);
  });
  test("a sink's numeric option is a whole number within its bounds", () => {
    rejects('backends:\n  - sink: graphite\n    options: { port: -5 }', /backends\[0\]\.options\.port: .*"-5" is not a whole number from 1 to 65535/);
    rejects('backends:\n  - sink: statsd\n    options: { mtu: 1.5 }', /backends\[0\]\.options\.mtu: .*"1\.5" is not a whole number ≥ 0/);
    assert.equal(parseConfig('backends:\n  - sink: graphite\n    options: { port: 2004 }').backends[0]!.options.port, 2004);
  });
  test('port 0 (any free port) is accepted for a sink that listens (store, prometheus), not for one that connects (graphite)', () => {
    assert.equal(parseConfig('backends:\n  - sink: store\n    options: { port: 0 }').backends[0]!.options.port, 0);
    assert.equal(parseConfig('backends:\n  - sink: prometheus\n    options: { port: 0 }').backends[0]!.options.port, 0);
    rejects('backends:\n  - sink: graphite\n    options: { port: 0 }', /backends\[0\]\.options\.port: .*"0" is not a whole number from 1 to 65535/);
  });
  test('restart delays out of order are refused', () => {
    rejects('restart: { initialDelay: 1m, maxDelay: 1s }', /config restart: initialDelay \(60000 ms\) is longer than maxDelay \(1000 ms\)/);
  });
  test('a flush given as a bare number is refused, naming the missing unit', () => {
    rejects('backends:\n  - sink: console\n    flush: 10', /backends\[0\]\.flush: .*a bare number is not a duration: write 10s or 10ms/);
    rejects('backends:\n  - sink: console\n    flush: 5ms', /backends\[0\]\.flush: .*too short; the least is 10 ms/);
  });
  test('zibrato up turns a config into child processes, secrets not on the command line', () => {
    const c = parseConfig('backends:\n  - sink: file\n    levels: warn+\n    flush: 2s\n    options: { path: /tmp/x.jsonl }\ningest:\n  - type: statsd\n    port: 8125\n');
    const specs = childSpecs(c);
    assert.deepEqual(specs.map((s) => s.name), ['broker', 'backend:file', 'ingest:statsd']);
    assert.deepEqual(specs[1]!.args, ['backend', 'file', '--name', 'file', '--levels', 'warn,error,crit', '--flush', '2000ms', '--broker', 'tcp://127.0.0.1:5551', '--path', '/tmp/x.jsonl', '--max-bytes', '104857600', '--max-age-ms', '86400000', '--keep', '7']);
  });
});

test('a backend\'s shard key becomes its --shard, and a bad one is a config error naming the key', () => {
  const c = parseConfig('backends:\n  - sink: console\n    name: s1\n    shard: 1/2\n  - sink: console\n    name: s2\n    shard: 2/2\n  - sink: console\n    name: all\n');
  assert.deepEqual(c.backends.map((b) => b.shard), ['1/2', '2/2', undefined]);
  const args = childSpecs(c).map((s) => s.args);
  assert.deepEqual(args[1]!.slice(args[1]!.indexOf('--shard'), args[1]!.indexOf('--shard') + 2), ['--shard', '1/2']);
  assert.ok(!args[3]!.includes('--shard'));
  rejects('backends:\n  - sink: console\n    shard: 3/2', /backends\[0\]\.shard: .*K must be 1…2/);
  rejects('backends:\n  - sink: console\n    shard: 2', /backends\[0\]\.shard: .*expected K\/N/);
});

describe('levels and durations', () => {
  test('a list, a floor with +, or all', () => {
    assert.deepEqual(parseLevels('info,warn'), ['info', 'warn']);
    assert.deepEqual(parseLevels('error+'), ['error', 'crit']);
    assert.deepEqual(parseLevels('all'), ['debug', 'info', 'warn', 'error', 'crit']);
    assert.throws(() => parseLevels('information'), /"information" is not a level/);
  });
  test('durations with units', () => {
    assert.equal(parseDurationMs('10s', 'x'), 10_000);
    assert.equal(parseDurationMs('250ms', 'x'), 250);
    assert.equal(parseDurationMs('1m', 'x'), 60_000);
    assert.throws(() => parseDurationMs('soon', 'flush'), /flush: "soon" is not a duration/);
  });
  test('a duration is a number with a unit; only 0 may go without one', () => {
    assert.equal(parseDurationMs('0', 'x'), 0);
    assert.equal(parseDurationMs('1.5s', 'x'), 1500);
    assert.throws(() => parseDurationMs('10', '--flush'), /--flush: "10" is not a duration; a bare number is not a duration/);
    assert.throws(() => parseDurationMs(10, 'flush'), /a bare number is not a duration/);
    assert.throws(() => parseDurationMs('-1s', 'x'), /is not a duration/);
  });
  test('every duration written with a unit parses back to its milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom(['ms', 1], ['s', 1000], ['m', 60_000], ['h', 3_600_000], ['d', 86_400_000], ['w', 604_800_000], ['y', 31_536_000_000]), (n, [unit, ms]) => parseDurationMs(`${n}${unit}`, 'x') === n * ms),
    );
  });
  test('any text that is not digits and a unit is refused with a coded error, never NaN', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        if (/^\s*(0|\d+(\.\d+)?\s*(ms|s|m|h|d|w|y))\s*$/.test(s)) return true;
        try {
          parseDurationMs(s, 'x');
          return false;
        } catch (err) {
          return (err as { code?: string }).code === 'ZIB_ERR_INVALID_OPTION';
        }
      }),
    );
  });
  test('a count is a whole number within its bounds', () => {
    assert.equal(parseCount('100000', '--max-series'), 100_000);
    for (const bad of ['abc', '-1', '0', '1.5', '1e3', '']) assert.throws(() => parseCount(bad, '--max-series'), /--max-series: ".*" is not a whole number ≥ 1/);
    fc.assert(fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => parseCount(String(n), 'x') === n));
    fc.assert(fc.property(fc.string(), (s) => /^\s*\d+\s*$/.test(s) || (() => { try { parseCount(s, 'x'); return false; } catch { return true; } })()));
  });
});

test('a value whose own toString is not callable is named, not called, in a coded config error (found by fuzzing)', () => {
  rejects('{"broker":{"subscribe":{"toString":""}}}', /broker\.subscribe\[0\]: an object is not a ZeroMQ endpoint/);
  rejects('{"ingest":[{"type":{"toString":""}}]}', /ingest\[0\]\.type: an object is not a known gateway/);
});
