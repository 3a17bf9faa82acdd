import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Zibrato } from '../../src/client/zibrato.ts';
import { ZibratoError } from '../../src/errors.ts';
import type { CounterPoint, GaugePoint, MetricPoint, TimerPoint } from '../../src/sinks/sink.ts';
import { inProcessPipeline } from '../helpers/in-process.ts';
import { eventually } from '../helpers/processes.ts';

const find = <T extends MetricPoint>(points: MetricPoint[], name: string, type: T['type']) => points.filter((p): p is T => p.name === name && p.type === type);

describe('the in-app API against a real broker and backend', () => {
  let pipe: Awaited<ReturnType<typeof inProcessPipeline>>;
  let z: Zibrato;
  const diagnostics: string[] = [];

  before(async () => {
    pipe = await inProcessPipeline();
    z = new Zibrato({ broker: pipe.publish, source: 'checkout-svc', level: 'info', tags: { region: 'eu' }, log: (l) => diagnostics.push(l) });
    assert.equal(await z.ready({ levels: ['debug', 'info', 'crit'] }), true);
  });
  after(async () => {
    await z.close();
    await pipe.stop();
  });

  test('count, gauge and timing send what they say, with the client source and tags', async () => {
    z.count({ level: 'info', name: 'jobs.done', value: 5 });
    z.count({ name: 'jobs.done' }); // value defaults to 1, level to info
    z.gauge({ level: 'crit', name: 'queue.depth', value: 123 });
    z.timing({ level: 'debug', name: 'db.query', ms: 12.5 });
    z.count({ name: 'jobs.done', source: 'other', tags: { region: 'us', shard: '1' } });
    z.flush();
    const points = await pipe.points(z);
    const jobs = find<CounterPoint>(points, 'jobs.done', 'counter');
    assert.deepEqual(jobs.find((p) => p.source === 'checkout-svc')?.value, 6);
    assert.deepEqual(jobs.find((p) => p.source === 'checkout-svc')?.tags, { region: 'eu' });
    assert.deepEqual(jobs.find((p) => p.source === 'other')?.tags, { region: 'us', shard: '1' });
    assert.equal(find<GaugePoint>(points, 'queue.depth', 'gauge')[0]?.value, 123);
    assert.equal(find<TimerPoint>(points, 'db.query', 'timer')[0]?.p50, 12.5);
  });

  test('decorators time and count methods, also when they throw or reject', async () => {
    class Repo {
      @z.timeMe({ level: 'debug', name: 'repo.load' })
      async load(fail: boolean): Promise<string> {
        await Promise.resolve();
        if (fail) throw new Error('boom');
        return 'loaded';
      }
      @z.countMe({ level: 'info', name: 'repo.save' })
      save(fail: boolean): number {
        if (fail) throw new Error('nope');
        return 42;
      }
    }
    const repo = new Repo();
    assert.equal(await repo.load(false), 'loaded');
    await assert.rejects(repo.load(true), /boom/);
    assert.equal(repo.save(false), 42);
    assert.throws(() => repo.save(true), /nope/);
    z.flush();
    const points = await pipe.points(z);
    assert.equal(find<TimerPoint>(points, 'repo.load', 'timer').at(-1)?.count, 2);
    assert.equal(find<CounterPoint>(points, 'repo.save', 'counter').at(-1)?.value, 2);
  });

  test('a timed async method is recorded when its promise settles, not when it returns the promise', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class Job {
      @z.timeMe({ name: 'job.gated' })
      async run(): Promise<void> {
        await gate;
      }
    }
    // Every record the client was given, wherever it is now; no timer can fire between two synchronous reads.
    const made = () => {
      const s = z.stats();
      return s.sent + s.buffered + s.dropped + s.invalid + s.unsubscribed;
    };
    const before = made();
    const running = new Job().run();
    assert.equal(made(), before, 'nothing recorded while the promise is pending');
    release();
    await running;
    assert.equal(made(), before + 1, 'one record once it settled');
  });

  test('using scopes time and count on scope exit, and timed/time wrap functions', async () => {
    for (let i = 0; i < 3; i++) {
      using _t = z.timer({ level: 'debug', name: 'block' });
      using _c = z.counter({ level: 'info', name: 'block.runs' });
    }
    const add = z.timed({ name: 'fetch' }, (a: number, b: number) => a + b);
    assert.equal(add(2, 3), 5);
    const asyncJob = z.timed({ name: 'fetch.async' }, async (x: number) => x * 2);
    assert.equal(await asyncJob(21), 42);
    assert.equal(await z.time({ name: 'job' }, async () => 'done'), 'done');
    assert.equal(z.time({ name: 'job.sync' }, () => 7), 7);
    z.flush();
    const points = await pipe.points(z);
    assert.equal(find<TimerPoint>(points, 'block', 'timer').at(-1)?.count, 3);
    assert.equal(find<CounterPoint>(points, 'block.runs', 'counter').at(-1)?.value, 3);
    for (const name of ['fetch', 'fetch.async', 'job', 'job.sync']) assert.equal(find<TimerPoint>(points, name, 'timer').at(-1)?.count, 1, name);
  });

  test('timed and time record a call that throws, and let the exception reach the caller', async () => {
    const failing = z.timed({ name: 'timed.throws' }, () => {
      throw new Error('sync failure');
    });
    assert.throws(() => failing(), /sync failure/);
    assert.throws(() => z.time({ name: 'time.throws' }, () => { throw new Error('sync failure'); }), /sync failure/);
    z.flush();
    const points = await pipe.points(z);
    assert.equal(find<TimerPoint>(points, 'timed.throws', 'timer').at(-1)?.count, 1);
    assert.equal(find<TimerPoint>(points, 'time.throws', 'timer').at(-1)?.count, 1);
  });

  test('counted counts a call whose promise rejects, and passes the rejection on', async () => {
    const rejecting = z.counted({ name: 'counted.rejects' }, async () => {
      throw new Error('async failure');
    });
    await assert.rejects(rejecting(), /async failure/);
    z.flush();
    assert.equal(find<CounterPoint>(await pipe.points(z), 'counted.rejects', 'counter').at(-1)?.value, 1);
  });

  test('a counter scope disposed twice counts once', async () => {
    const scope = z.counter({ name: 'scope.twice' });
    scope[Symbol.dispose]();
    scope[Symbol.dispose]();
    z.flush();
    assert.equal(find<CounterPoint>(await pipe.points(z), 'scope.twice', 'counter').at(-1)?.value, 1);
  });

  test('bad input is counted as invalid with a diagnostic, never thrown', () => {
    const before = z.stats().invalid;
    assert.doesNotThrow(() => {
      z.count({ name: 'x', value: NaN });
      z.gauge({ name: 'x', value: Infinity });
      z.timing({ name: '', ms: 1 });
      z.count({ name: 'y'.repeat(300) });
      z.count({ name: 'x', level: 'loud' as never });
      z.count(null as never);
      z.counterHandle({ name: 'h' }).inc('3' as never);
    });
    assert.equal(z.stats().invalid - before, 7);
    assert.ok(diagnostics.some((l) => /ZIB_ERR_INVALID_VALUE/.test(l) && /not a finite number/.test(l)));
    assert.ok(diagnostics.some((l) => /ZIB_ERR_INVALID_NAME/.test(l) && /name is empty/.test(l)));
  });

  test('a bad constructor option throws a coded error at once', () => {
    assert.throws(() => new Zibrato({ broker: 'localhost:5550' }), (e: unknown) => e instanceof ZibratoError && e.code === 'ZIB_ERR_INVALID_OPTION' && /broker/.test(e.message));
    assert.throws(() => new Zibrato({ level: 'loud' as never }), (e: unknown) => e instanceof ZibratoError && e.code === 'ZIB_ERR_INVALID_LEVEL');
    assert.throws(() => new Zibrato({ flushIntervalMs: -1 }), /flushIntervalMs/);
  });

  test('stats() counts what was sent', async () => {
    const before = z.stats().sent;
    const c = z.counterHandle({ name: 'stats.check' });
    for (let i = 0; i < 1000; i++) c.inc();
    z.flush();
    await eventually(() => z.stats().buffered === 0, 'the client to hand its buffer to the socket', 5000, 10);
    assert.equal(z.stats().sent - before, 1000);
  });
});

describe('when the broker is away', () => {
  test('records past the buffer bound are dropped and counted, and close() returns', async () => {
    const lines: string[] = [];
    const z = new Zibrato({ broker: 'tcp://127.0.0.1:9', maxBufferedRecords: 1000, batchBytes: 1024, log: (l) => lines.push(l) });
    const c = z.counterHandle({ name: 'nowhere' });
    for (let i = 0; i < 5000; i++) c.inc();
    const s = z.stats();
    assert.equal(s.sent + s.dropped + s.buffered, 5000, 'every record is sent, buffered or counted as dropped');
    assert.ok(s.dropped >= 3900, `dropped ${s.dropped}`);
    await z.close({ timeoutMs: 200 });
    const end = z.stats();
    assert.equal(end.sent, 0);
    assert.equal(end.buffered, 0);
    // 5000 app records, plus the client's own zibrato.client.dropped record, which could not leave either.
    assert.ok(end.dropped >= 5000, 'what close() could not send is counted as dropped');
    assert.ok(lines.some((l) => /buffer full/.test(l)), 'a diagnostic says so');
  });
});
