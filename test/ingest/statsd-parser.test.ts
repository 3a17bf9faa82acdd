import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { hashSetMember } from '../../src/wire/set-member.js';
import {
  parseStatsdLine,
  parseStatsdPacket,
  resolveStatsdParserOptions,
  type StatsdSample,
} from '../../src/ingest/statsd-parser.js';

/** Parses one line that must be accepted; returns its samples. */
function ok(line: string, options = resolveStatsdParserOptions()): StatsdSample[] {
  const out: StatsdSample[] = [];
  const reason = parseStatsdLine(line, out, options);
  assert.equal(reason, null, `"${line}" was rejected: ${reason}`);
  return out;
}
/** Parses one line that must be rejected; returns the reason. */
function bad(line: string, options = resolveStatsdParserOptions()): string {
  const out: StatsdSample[] = [];
  const reason = parseStatsdLine(line, out, options);
  assert.notEqual(reason, null, `"${line}" was accepted`);
  assert.equal(out.length, 0, 'a rejected line adds no samples');
  return reason!;
}
const one = (line: string): StatsdSample => {
  const s = ok(line);
  assert.equal(s.length, 1);
  return s[0]!;
};

describe('metric types', () => {
  test('c is a counter', () => {
    assert.deepEqual(one('requests:1|c'), { level: 'info', kind: 'counter', name: 'requests', value: 1, sampleRate: 1, tags: {}, source: undefined, timestampMs: undefined });
  });
  test('counter values may be negative, fractional or in exponent notation', () => {
    assert.equal(one('a:-3|c').value, -3);
    assert.equal(one('a:0.25|c').value, 0.25);
    assert.equal(one('a:1e3|c').value, 1000);
    assert.equal(one('a:.5|c').value, 0.5);
    assert.equal(one('a:+2|c').value, 2);
  });
  test('g without a sign is a gauge', () => {
    const s = one('queue:42.5|g');
    assert.equal(s.kind, 'gauge');
    assert.equal(s.value, 42.5);
  });
  test('g with + or - is a gauge delta with that sign', () => {
    assert.deepEqual([one('pool:+5|g'), one('pool:-2|g'), one('pool:-0.5|g')].map((s) => [s.kind, s.value]), [
      ['gaugeDelta', 5],
      ['gaugeDelta', -2],
      ['gaugeDelta', -0.5],
    ]);
  });
  test('ms, h and d are timers in milliseconds', () => {
    for (const t of ['ms', 'h', 'd']) {
      const s = one(`db.query:12.5|${t}`);
      assert.equal(s.kind, 'timer');
      assert.equal(s.value, 12.5);
    }
  });
  test('s is a set whose value is hashSetMember(member)', () => {
    const s = one('users:alice|s');
    assert.equal(s.kind, 'set');
    assert.equal(s.value, hashSetMember('alice'));
  });
  test('a set member may contain ":" (the whole value is one member)', () => {
    assert.equal(one('peers:10.0.0.1:8080|s').value, hashSetMember('10.0.0.1:8080'));
    assert.equal(one('peers:::1|s').value, hashSetMember('::1'));
  });
  test('a set member may look like a number; it is still hashed', () => {
    assert.equal(one('ids:42|s').value, hashSetMember('42'));
  });
  test('names are kept as sent, including UTF-8 and punctuation', () => {
    assert.equal(one('café.requêtes/total-1:1|c').name, 'café.requêtes/total-1');
    assert.equal(one('a b:1|c').name, 'a b');
  });
});

describe('multi-value lines', () => {
  test('name:1:2:3|ms gives three timer samples sharing tags', () => {
    const s = ok('lat:1:2:3|ms|#a:b');
    assert.deepEqual(s.map((x) => x.value), [1, 2, 3]);
    assert.ok(s.every((x) => x.kind === 'timer' && x.tags === s[0]!.tags && x.tags['a'] === 'b'));
  });
  test('each gauge value decides on its own whether it is a delta', () => {
    assert.deepEqual(ok('g:10:+1:-2|g').map((x) => [x.kind, x.value]), [['gauge', 10], ['gaugeDelta', 1], ['gaugeDelta', -2]]);
  });
  test('one bad value rejects the whole line', () => {
    assert.match(bad('lat:1:x:3|ms'), /value "x" is not a number/);
    assert.match(bad('lat:1::3|ms'), /value "" is not a number/);
  });
});

describe('sample rates', () => {
  test('a counter keeps its rate (receivers add value / rate)', () => {
    const s = one('requests:1|c|@0.1');
    assert.equal(s.value, 1);
    assert.equal(s.sampleRate, 0.1);
  });
  test('a timer keeps its rate (receivers weigh it 1 / rate)', () => {
    assert.equal(one('t:5|ms|@0.25').sampleRate, 0.25);
    assert.equal(one('t:5|h|@0.5').sampleRate, 0.5);
  });
  test('a rate of 1 is no sampling', () => {
    assert.equal(one('a:1|c|@1').sampleRate, 1);
    assert.equal(one('a:1|c|@1.0').sampleRate, 1);
  });
  test('gauges and sets ignore the rate, as StatsD does', () => {
    assert.equal(one('g:5|g|@0.5').sampleRate, 1);
    assert.equal(one('g:+5|g|@0.5').sampleRate, 1);
    assert.equal(one('s:x|s|@0.5').sampleRate, 1);
  });
  test('a rate outside (0, 1] or not a number rejects the line', () => {
    assert.match(bad('a:1|c|@0'), /sample rate 0 is outside \(0, 1\]/);
    assert.match(bad('a:1|c|@1.5'), /outside \(0, 1\]/);
    assert.match(bad('a:1|c|@-0.5'), /outside \(0, 1\]/);
    assert.match(bad('a:1|c|@'), /sample rate "" is not a number/);
    assert.match(bad('a:1|c|@abc'), /sample rate "abc" is not a number/);
  });
});

describe('DogStatsD tags', () => {
  test('#k:v,k2:v2 become tags', () => {
    assert.deepEqual(one('a:1|c|#env:prod,region:eu').tags, { env: 'prod', region: 'eu' });
  });
  test('a tag without a value has the value ""', () => {
    assert.deepEqual(one('a:1|c|#canary,env:prod').tags, { canary: '', env: 'prod' });
  });
  test('a tag value may contain ":" (split at the first one)', () => {
    assert.deepEqual(one('a:1|c|#url:http://x:80/').tags, { url: 'http://x:80/' });
  });
  test('a repeated key keeps the last value', () => {
    assert.deepEqual(one('a:1|c|#k:1,k:2').tags, { k: '2' });
  });
  test('empty items between commas are ignored', () => {
    assert.deepEqual(one('a:1|c|#a:1,,b:2,').tags, { a: '1', b: '2' });
    assert.deepEqual(one('a:1|c|#').tags, {});
  });
  test('an empty tag key rejects the line', () => {
    assert.match(bad('a:1|c|#:v'), /tag ":v" has an empty key/);
  });
  test('level:<name> sets the level and is removed from the tags', () => {
    const s = one('a:1|c|#level:warn,env:prod');
    assert.equal(s.level, 'warn');
    assert.deepEqual(s.tags, { env: 'prod' });
    assert.equal(one('a:1|c|#level:CRIT').level, 'crit');
  });
  test('without a level tag the level is the configured default', () => {
    assert.equal(one('a:1|c').level, 'info');
    assert.equal(ok('a:1|c', resolveStatsdParserOptions({ defaultLevel: 'debug' }))[0]!.level, 'debug');
  });
  test('a level tag that names no level rejects the line', () => {
    assert.match(bad('a:1|c|#level:verbose'), /tag level:verbose is not a level \(expected one of debug, info, warn, error, crit\)/);
    assert.match(bad('a:1|c|#level'), /tag level: is not a level/);
  });
  test('source:<x> sets the source and is removed from the tags', () => {
    const s = one('a:1|c|#source:web-1,env:prod');
    assert.equal(s.source, 'web-1');
    assert.deepEqual(s.tags, { env: 'prod' });
  });
  test('the level and source tag keys are configurable; "" turns the source tag off', () => {
    const opts = resolveStatsdParserOptions({ levelTag: 'zlevel', sourceTag: '' });
    const [s] = ok('a:1|c|#zlevel:error,level:x,source:web-1', opts);
    assert.equal(s!.level, 'error');
    assert.equal(s!.source, undefined);
    assert.deepEqual(s!.tags, { level: 'x', source: 'web-1' });
  });
  test('more than 64 tags rejects the line', () => {
    const tags = Array.from({ length: 65 }, (_, i) => `t${i}:v`).join(',');
    assert.match(bad(`a:1|c|#${tags}`), /65 tags; a series may carry at most 64/);
    assert.equal(Object.keys(one(`a:1|c|#${tags.split(',').slice(0, 64).join(',')}`).tags).length, 64);
  });
  test('a tag key, value or source longer than 255 bytes rejects the line', () => {
    assert.match(bad(`a:1|c|#${'k'.repeat(256)}:v`), /tag key is longer than 255 bytes/);
    assert.match(bad(`a:1|c|#k:${'é'.repeat(128)}`), /tag "k" value is longer than 255 bytes/);
    assert.match(bad(`a:1|c|#source:${'s'.repeat(256)}`), /source is longer than 255 bytes/);
  });
});

describe('other DogStatsD fields', () => {
  test('|T<unix> is a timestamp in seconds, returned in ms', () => {
    assert.equal(one('a:1|c|T1700000000').timestampMs, 1_700_000_000_000);
    assert.match(bad('a:1|c|Tsoon'), /timestamp "soon" is not a number/);
    assert.match(bad('a:1|c|T-1'), /timestamp -1 is not a unix time/);
  });
  test('fields after the type may come in any order', () => {
    const s = one('a:2|c|T1700000000|#env:prod,level:error|@0.5');
    assert.deepEqual([s.sampleRate, s.tags, s.level, s.timestampMs], [0.5, { env: 'prod' }, 'error', 1_700_000_000_000]);
  });
  test('container id, external data and cardinality fields are accepted and ignored', () => {
    assert.deepEqual(one('a:1|c|#env:prod|c:abc123|e:it-false,cn-x|card:high').tags, { env: 'prod' });
  });
  test('an unknown field rejects the line', () => {
    assert.match(bad('a:1|c|x:1'), /unknown field "\|x:1"/);
    assert.match(bad('a:1|c||#a:b'), /empty field/);
  });
  test('events and service checks are rejected with a reason that says so', () => {
    assert.match(bad('_e{5,4}:title|text'), /events and service checks are not metrics/);
    assert.match(bad('_sc|my.check|0'), /events and service checks/);
  });
});

describe('malformed lines', () => {
  const cases: Array<[string, RegExp]> = [
    ['requests', /no ":" between name and value/],
    ['requests|c', /no ":" between name and value/],
    ['a|b:1|c', /no ":" between name and value/],
    [':1|c', /empty metric name/],
    ['requests:1', /no "\|type" after the value/],
    ['requests:|c', /empty value/],
    ['users:|s', /empty set member/],
    ['requests:1|', /unknown metric type ""/],
    ['requests:1|x', /unknown metric type "x"/],
    ['requests:1|C', /unknown metric type "C"/],
    ['requests:1|kv', /unknown metric type "kv"/],
    ['requests:one|c', /value "one" is not a number/],
    ['requests:NaN|c', /value "NaN" is not a number/],
    ['requests:Infinity|g', /value "Infinity" is not a number/],
    ['requests:0x10|c', /value "0x10" is not a number/],
    ['requests: 1|c', /value " 1" is not a number/],
    ['requests:1e999|c', /value "1e999" is not finite/],
    ['requests:++1|g', /value "\+\+1" is not a number/],
    [`${'n'.repeat(256)}:1|c`, /metric name is longer than 255 bytes/],
    [`${'é'.repeat(128)}:1|c`, /metric name is longer than 255 bytes/],
  ];
  for (const [line, reason] of cases) {
    test(`rejected with a reason: ${JSON.stringify(line.length > 40 ? line.slice(0, 20) + '…' : line)}`, () => {
      assert.match(bad(line), reason);
    });
  }
  test('a name of exactly 255 bytes is accepted', () => {
    assert.equal(one(`${'n'.repeat(255)}:1|c`).name.length, 255);
  });
});

describe('datagrams', () => {
  test('several lines per datagram, newline separated, with a trailing newline', () => {
    const p = parseStatsdPacket('a:1|c\nb:2|g\nc:3|ms\n');
    assert.equal(p.lines, 3);
    assert.deepEqual(p.samples.map((s) => [s.name, s.kind, s.value]), [['a', 'counter', 1], ['b', 'gauge', 2], ['c', 'timer', 3]]);
    assert.deepEqual(p.malformed, []);
  });
  test('CRLF line endings and blank lines are accepted', () => {
    const p = parseStatsdPacket('a:1|c\r\n\r\n\nb:2|c\r\n');
    assert.equal(p.lines, 2);
    assert.deepEqual(p.samples.map((s) => s.value), [1, 2]);
    assert.deepEqual(p.malformed, []);
  });
  test('a malformed line is reported with its reason and the other lines are still used', () => {
    const p = parseStatsdPacket(Buffer.from('a:1|c\ngarbage\nb:2|c|@2\nc:3|c'));
    assert.deepEqual(p.samples.map((s) => s.name), ['a', 'c']);
    assert.deepEqual(p.malformed.map((m) => m.line), ['garbage', 'b:2|c|@2']);
    assert.match(p.malformed[0]!.reason, /no ":"/);
    assert.match(p.malformed[1]!.reason, /outside/);
    assert.equal(p.lines, 4);
  });
  test('bytes that are not UTF-8 make only their own line malformed', () => {
    const p = parseStatsdPacket(Buffer.concat([Buffer.from('a:1|c\n'), Buffer.from([0x62, 0xff, 0x3a, 0x31, 0x7c, 0x63]), Buffer.from('\nc:é|s\n')]));
    assert.deepEqual(p.samples.map((s) => s.name), ['a', 'c']);
    assert.deepEqual(p.malformed.map((m) => m.reason), ['line is not valid UTF-8']);
    assert.equal(p.lines, 3);
  });
  test('an empty datagram has no lines', () => {
    assert.deepEqual(parseStatsdPacket(Buffer.alloc(0)), { samples: [], malformed: [], lines: 0 });
    assert.deepEqual(parseStatsdPacket('\n\n'), { samples: [], malformed: [], lines: 0 });
  });
  test('a very long malformed line is cut in the report', () => {
    const p = parseStatsdPacket('x'.repeat(10_000));
    assert.ok(p.malformed[0]!.line.length <= 201);
  });
  test('what hot-shots sends with maxBufferSize parses whole', () => {
    const datagram = [
      'my_app.requests:1|c|#env:test',
      'my_app.queue:5|g|#env:test',
      'my_app.latency:12|ms|#env:test,route:/home',
      'my_app.size:300|h|#env:test',
      'my_app.users:u1|s|#env:test',
      'my_app.dist:7|d|#env:test',
    ].join('\n');
    const p = parseStatsdPacket(datagram);
    assert.deepEqual(p.malformed, []);
    assert.deepEqual(p.samples.map((s) => s.kind), ['counter', 'gauge', 'timer', 'timer', 'set', 'timer']);
    assert.deepEqual(p.samples[2]!.tags, { env: 'test', route: '/home' });
  });
});
