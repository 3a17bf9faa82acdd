import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Zibrato } from '../../src/client/zibrato.ts';
import { ZibratoError } from '../../src/errors.ts';
import type { CounterPoint, MetricPoint } from '../../src/sinks/sink.ts';
import { inProcessPipeline } from '../helpers/in-process.ts';
import { freeTcpPort } from '../helpers/ports.ts';

/**
 * A client whose broker never answers: every level stays buffered, so each
 * call either buffers a record or is counted, and nothing leaves the process.
 */
async function unconnectedClient(lines: string[] = []): Promise<Zibrato> {
  return new Zibrato({ broker: `tcp://127.0.0.1:${await freeTcpPort()}`, log: (l) => lines.push(l) });
}

/** Runs `call` and returns how much `stats().invalid` grew; fails the test if the call throws. */
function invalidCountOf(z: Zibrato, call: () => unknown): number {
  const before = z.stats().invalid;
  assert.doesNotThrow(call);
  return z.stats().invalid - before;
}

const coded = (code: string) => (e: unknown) => e instanceof ZibratoError && e.code === code;

describe('client calls never throw into the app', () => {
  let z: Zibrato;
  before(async () => {
    z = await unconnectedClient();
  });
  after(() => z.close({ timeoutMs: 10 }));

  test('a Symbol value is counted as invalid', () => {
    assert.equal(invalidCountOf(z, () => z.count({ name: 'x', value: Symbol('v') as never })), 1);
    assert.equal(invalidCountOf(z, () => z.counterHandle({ name: 'x' }).inc(Symbol('v') as never)), 1);
  });

  test('a value whose valueOf throws is counted as invalid without calling it', () => {
    let called = false;
    const evil = {
      valueOf() {
        called = true;
        throw new Error('valueOf');
      },
      toString() {
        throw new Error('toString');
      },
    };
    assert.equal(invalidCountOf(z, () => z.gauge({ name: 'x', value: evil as never })), 1);
    assert.equal(called, false);
  });

  test('count({ name: undefined }) on a fresh client is counted as invalid', async () => {
    const fresh = await unconnectedClient();
    assert.equal(invalidCountOf(fresh, () => fresh.count({ name: undefined as never })), 1);
    await fresh.close({ timeoutMs: 10 });
  });

  test('a Symbol or number name is counted as invalid', () => {
    assert.equal(invalidCountOf(z, () => z.count({ name: Symbol('n') as never })), 1);
    assert.equal(invalidCountOf(z, () => z.emit('info', 'counter', Symbol('n') as never, 1)), 1);
    assert.equal(invalidCountOf(z, () => z.timing({ name: 42 as never, ms: 1 })), 1);
  });

  test('emit with null options is counted as invalid', () => {
    assert.equal(invalidCountOf(z, () => z.emit('info', 'counter', 'x', 1, null as never)), 1);
  });

  test('emit with an unknown kind, inherited property names included, is counted as invalid', () => {
    for (const kind of ['histogram', 'toString', '__proto__', 'constructor']) assert.equal(invalidCountOf(z, () => z.emit('info', kind as never, 'x', 1)), 1, kind);
  });

  test('a sample rate outside (0, 1] or NaN is counted as invalid', () => {
    for (const sampleRate of [0, -0.5, 2, 1.0001, NaN, Infinity, '0.5']) {
      assert.equal(invalidCountOf(z, () => z.emit('info', 'counter', 'x', 1, { sampleRate: sampleRate as never })), 1, String(sampleRate));
    }
    assert.equal(invalidCountOf(z, () => z.emit('info', 'counter', 'x', 1, { sampleRate: 0.5 })), 0);
  });

  test('ready(null) and ready with bad levels resolve and count the call as invalid', async () => {
    const before = z.stats().invalid;
    const results = await Promise.all([z.ready(null as never), z.ready({ levels: 'info' as never, timeoutMs: 1 }), z.ready({ levels: ['loud' as never], timeoutMs: 1 })]);
    for (const r of results) assert.equal(typeof r, 'boolean');
    assert.equal(z.stats().invalid - before, 3);
  });

  test('timed and time with a non-function count the call as invalid and do nothing', () => {
    let wrapped: () => unknown = () => 'unset';
    assert.equal(invalidCountOf(z, () => (wrapped = z.timed({ name: 't' }, 'not a function' as never))), 1);
    assert.equal(invalidCountOf(z, () => assert.equal(wrapped(), undefined)), 1, 'each call of the returned function is counted');
    assert.equal(invalidCountOf(z, () => z.time({ name: 't' }, null as never)), 1);
    assert.equal(invalidCountOf(z, () => z.counted({ name: 't' }, 42 as never)), 1);
  });

  test("time() still lets the function's own exception reach the caller", () => {
    assert.throws(() => z.time({ name: 't' }, () => { throw new Error('app error'); }), /app error/);
  });

  test('a tag value that is an object, array, Symbol, null, undefined or NaN is counted as invalid', () => {
    for (const v of [{}, [], Symbol('s'), null, undefined, NaN, Infinity, 10n]) {
      assert.equal(invalidCountOf(z, () => z.count({ name: 'tagged', tags: { k: v as never } })), 1, typeof v);
    }
  });

  test('repeated invalid calls give one diagnostic line naming the problem', async () => {
    const own: string[] = [];
    const fresh = await unconnectedClient(own);
    for (let i = 0; i < 100; i++) fresh.count({ name: 'tagged', tags: { k: {} as never } });
    assert.equal(fresh.stats().invalid, 100);
    const matching = own.filter((l) => /ZIB_ERR_INVALID_ARGUMENT/.test(l));
    assert.equal(matching.length, 1);
    assert.match(matching[0]!, /tagged.*tag values must be strings/);
    await fresh.close({ timeoutMs: 10 });
  });

  test('tags given as a string or an array are counted as invalid', () => {
    assert.equal(invalidCountOf(z, () => z.count({ name: 'tagged', tags: 'ab' as never })), 1);
    assert.equal(invalidCountOf(z, () => z.count({ name: 'tagged', tags: ['a'] as never })), 1);
  });

  test('a getter that throws in the options is counted as invalid', () => {
    const options = {
      get name(): string {
        throw new Error('getter');
      },
    };
    assert.equal(invalidCountOf(z, () => z.count(options)), 1);
    assert.equal(invalidCountOf(z, () => z.count({ name: 'x', tags: new Proxy({}, { ownKeys: () => { throw new Error('proxy'); } }) })), 1);
  });

  test('every record written to a handle made from invalid options is counted as invalid', () => {
    const h = z.counterHandle({ name: '' });
    assert.equal(invalidCountOf(z, () => h.inc()), 1);
    assert.equal(invalidCountOf(z, () => z.timed({ name: '' }, () => 1)()), 2, 'once for the options, once for the record');
    assert.equal(invalidCountOf(z, () => z.timer({ name: '' }).stop()), 2);
  });

  test('a log function that throws does not reach the app', async () => {
    const loud = new Zibrato({
      broker: `tcp://127.0.0.1:${await freeTcpPort()}`,
      log: () => {
        throw new Error('log');
      },
    });
    assert.equal(invalidCountOf(loud, () => loud.count({ name: '' })), 1);
    await loud.close({ timeoutMs: 10 });
  });
});

describe('bad constructor options throw a coded error at once', () => {
  test('global tags with more than 64 keys', () => {
    const tags = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    assert.throws(() => new Zibrato({ tags }), coded('ZIB_ERR_INVALID_OPTION'));
  });

  test('a global tag key or value over 255 bytes', () => {
    assert.throws(() => new Zibrato({ tags: { k: 'v'.repeat(256) } }), coded('ZIB_ERR_INVALID_OPTION'));
    assert.throws(() => new Zibrato({ tags: { ['k'.repeat(256)]: 'v' } }), coded('ZIB_ERR_INVALID_OPTION'));
    assert.throws(() => new Zibrato({ tags: { k: {} as never } }), coded('ZIB_ERR_INVALID_OPTION'));
  });

  test('batchBytes of 1e12', () => {
    assert.throws(() => new Zibrato({ batchBytes: 1e12 }), coded('ZIB_ERR_INVALID_OPTION'));
  });

  test('the 341st client of a process', async () => {
    const clients: Zibrato[] = [];
    const port = await freeTcpPort();
    let failure: unknown;
    try {
      // libzmq allows 1,023 sockets per context and a client uses 3.
      for (let i = 0; i < 400; i++) clients.push(new Zibrato({ broker: `tcp://127.0.0.1:${port}`, log: () => undefined }));
    } catch (err) {
      failure = err;
    } finally {
      await Promise.all(clients.map((c) => c.close({ timeoutMs: 0 })));
    }
    assert.ok(coded('ZIB_ERR_CLIENT_SOCKET')(failure), `got ${String(failure)} after ${clients.length} clients`);
  });
});

describe('series the client sends', () => {
  let pipe: Awaited<ReturnType<typeof inProcessPipeline>>;
  let z: Zibrato;
  before(async () => {
    pipe = await inProcessPipeline();
    z = new Zibrato({ broker: pipe.publish, log: () => undefined });
    assert.equal(await z.ready({ levels: ['info'] }), true);
  });
  after(async () => {
    await z.close();
    await pipe.stop();
  });
  const counters = (points: MetricPoint[], name: string) => points.filter((p): p is CounterPoint => p.name === name && p.type === 'counter');

  test('a counter sampled at 0.25 after a gauge delta of the same name stays a counter', async () => {
    z.emit('info', 'gaugeDelta', 'sampled.collide', 1);
    z.emit('info', 'counter', 'sampled.collide', 1, { sampleRate: 0.25 });
    z.flush();
    const c = counters(await pipe.points(z), 'sampled.collide');
    assert.equal(c.at(-1)?.value, 4, 'one event at rate 0.25 counts 4');
  });

  test('a tags getter that changes its answer never files one series under another tag value', async () => {
    let reads = 0;
    const flipping = {
      get user(): string {
        return reads++ % 2 === 0 ? 'a' : 'b';
      },
    };
    z.count({ name: 'flipping.tags', tags: flipping });
    z.count({ name: 'flipping.tags', tags: { user: 'a' } });
    z.count({ name: 'flipping.tags', tags: { user: 'b' } });
    z.flush();
    const c = counters(await pipe.points(z), 'flipping.tags');
    const total = (user: string) => c.filter((p) => p.tags.user === user).reduce((n, p) => n + p.value, 0);
    // The getter call is recorded under whichever value was encoded; the two literal calls each under their own.
    assert.equal(total('a') + total('b'), 3);
    assert.ok(total('a') >= 1 && total('b') >= 1, `a ${total('a')}, b ${total('b')}`);
  });

  test('number and boolean tag values are sent as their string form, one series with the string', async () => {
    z.count({ name: 'typed.tags', tags: { status: 200, ok: true } as never });
    z.count({ name: 'typed.tags', tags: { status: '200', ok: 'true' } });
    z.flush();
    const c = counters(await pipe.points(z), 'typed.tags');
    assert.deepEqual(c.at(-1)?.tags, { status: '200', ok: 'true' });
    assert.equal(c.at(-1)?.value, 2);
  });
});
