import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CONFIG_TEXT, parseConfig } from '../../src/config/config.ts';
import { childSpecs } from '../../src/cli/up-command.ts';
import { parseLevels } from '../../src/levels.ts';
import { parseDurationMs } from '../../src/cli/duration.ts';

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
    assert.deepEqual(c.backends[2]!.options, { path: './zibrato-data', host: '127.0.0.1', port: 5580, retentionRaw: '2d', retention1m: '30d', retention1h: '1y' });
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
  test('zibrato up turns a config into child processes, secrets not on the command line', () => {
    const c = parseConfig('backends:\n  - sink: file\n    levels: warn+\n    flush: 2s\n    options: { path: /tmp/x.jsonl }\ningest:\n  - type: statsd\n    port: 8125\n');
    const specs = childSpecs(c);
    assert.deepEqual(specs.map((s) => s.name), ['broker', 'backend:file', 'ingest:statsd']);
    assert.deepEqual(specs[1]!.args, ['backend', 'file', '--name', 'file', '--levels', 'warn,error,crit', '--flush', '2000ms', '--broker', 'tcp://127.0.0.1:5551', '--path', '/tmp/x.jsonl']);
  });
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
});
