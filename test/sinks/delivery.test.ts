import assert from 'node:assert/strict';
import { readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { backoffDelayMs, parseRetryAfterMs } from '../../src/sinks/delivery/backoff.js';
import { DeliveringSink } from '../../src/sinks/delivery/delivering-sink.js';
import { DeliveryError } from '../../src/sinks/delivery/delivery-error.js';
import type { DeliveryOptions } from '../../src/sinks/delivery/delivery-options.js';
import { deliveryOptionsFrom } from '../../src/sinks/delivery/delivery-options.js';
import { Redactor } from '../../src/sinks/delivery/redact.js';
import { DiskSpool } from '../../src/sinks/delivery/spool.js';
import { tcpSend } from '../../src/sinks/delivery/tcp-send.js';
import type { DeliveryPayload, EncodedBatch, Transport } from '../../src/sinks/delivery/transport.js';
import type { FlushBatch } from '../../src/sinks/sink.js';
import { mountTinyDisk } from '../helpers/peers/tmpfs.js';
import { waitFor } from '../helpers/peers/process.js';
import { listenLocal } from '../helpers/peers/http-server.js';
import { batchAt, gauge, tempDir } from './fixtures.js';

/** A transport whose answers the test scripts: 'ok', 'down' (retryable) or 'reject' (permanent). */
class ScriptedTransport implements Transport {
  readonly name = 'scripted';
  mode: 'ok' | 'down' | 'reject' | 'busy' = 'ok';
  readonly delivered: string[] = [];
  attempts = 0;
  /** How long each send takes. */
  delayMs = 0;
  encode(batch: FlushBatch): EncodedBatch {
    return { payloads: batch.points.map((p) => ({ points: 1, body: Buffer.from(p.name.padEnd(100, '.')) })), rejected: [] };
  }
  async send(payload: DeliveryPayload): Promise<void> {
    this.attempts++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.mode === 'busy') throw new DeliveryError('answered 429', { retryable: true, retryAfterMs: 60_000 });
    if (this.mode === 'down') throw new DeliveryError('connect ECONNREFUSED', { retryable: true });
    if (this.mode === 'reject') throw new DeliveryError('answered 400: nope', { retryable: false });
    this.delivered.push(payload.body.toString().replace(/\.+$/, ''));
  }
}

function options(dir: string, over: Partial<DeliveryOptions> = {}): DeliveryOptions {
  return { spoolDir: dir, spoolMaxBytes: 64 * 1024, quickRetries: 1, retryInitialDelayMs: 10, retryMaxDelayMs: 50, exportBudgetMs: 1000, stopBudgetMs: 1000, requestTimeoutMs: 1000, ...over };
}

describe('delivery: retry, spool, replay, redaction', () => {
  const tmp = tempDir('delivery');
  after(() => tmp.remove());

  test('backoff doubles from the initial delay, stays within [base/2, base] and respects the cap', () => {
    const p = { initialDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelayMs(p, 0, () => 0), 50);
    assert.equal(backoffDelayMs(p, 0, () => 1), 100);
    assert.equal(backoffDelayMs(p, 3, () => 1), 800);
    assert.equal(backoffDelayMs(p, 10, () => 1), 1000);
    assert.equal(backoffDelayMs(p, 10, () => 0), 500);
  });

  test('Retry-After is read as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfterMs('3'), 3000);
    assert.equal(parseRetryAfterMs(new Date(10_000).toUTCString(), 4_000), 6_000);
    assert.equal(parseRetryAfterMs('soon'), undefined);
    assert.equal(parseRetryAfterMs(null), undefined);
  });

  test('the redactor removes secrets, their Basic-auth form and URL userinfo', () => {
    const r = new Redactor(['tok-123456'], [['me@x.com', 'tok-123456']]);
    const basic = Buffer.from('me@x.com:tok-123456').toString('base64');
    assert.equal(r.redact(`token tok-123456 header Basic ${basic} url https://me:pw@host/x`), 'token *** header Basic *** url https://***@host/x');
  });

  test('the default spool directory is ./zibrato-data/spool/<backend>-<sink>/', () => {
    const o = deliveryOptionsFrom({}, { backendName: 'prod', log: () => undefined }, 'graphite');
    assert.equal(o.spoolDir, join('zibrato-data', 'spool', 'prod-graphite'));
    assert.equal(o.spoolMaxBytes, 64 * 1024 * 1024);
  });

  test('the spool keeps order across instances and drops the oldest past its cap', async () => {
    const dir = join(tmp.dir, 'spool-cap');
    const a = new DiskSpool(dir, 1000);
    let dropped = 0;
    for (let i = 0; i < 12; i++) dropped += (await a.append({ points: 2, body: Buffer.alloc(100, 48 + (i % 10)) })).droppedPoints;
    assert.ok(a.bytes <= 1000);
    assert.equal(a.points + dropped, 24);
    assert.ok(dropped > 0);
    const b = new DiskSpool(dir, 1000);
    await b.open();
    assert.equal(b.points, a.points);
    const first = await b.peek();
    // The survivors are the newest entries, oldest first.
    assert.equal(first!.payload.body[0], 48 + ((12 - b.size) % 10));
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0);
  });

  test('a permanent rejection is dropped after one attempt and never spooled', async () => {
    const t = new ScriptedTransport();
    t.mode = 'reject';
    const logs: string[] = [];
    const sink = new DeliveringSink(t, options(join(tmp.dir, 'reject')), (m) => logs.push(m), new Redactor([]));
    await sink.export(batchAt([gauge('a', 1)]));
    await sink.stop();
    assert.equal(t.attempts, 1);
    assert.deepEqual({ ...sink.status(), lastError: undefined }, { sent: 0, failed: 1, spooled: 0, dropped: 1, lastError: undefined });
    assert.match(logs.join('\n'), /rejected 1 points: answered 400: nope/);
  });

  test('export resolves with the batch spooled when the destination stays down; the backlog replays before newer data', async () => {
    const t = new ScriptedTransport();
    t.mode = 'down';
    const sink = new DeliveringSink(t, options(join(tmp.dir, 'order')), () => undefined, new Redactor([]));
    await sink.export(batchAt([gauge('a', 1), gauge('b', 1)]));
    assert.equal(sink.status().spooled, 2);
    t.mode = 'ok';
    await sink.export(batchAt([gauge('c', 1)]));
    await waitFor('replay', () => sink.status().spooled === 0, 5_000);
    await sink.stop();
    assert.deepEqual(t.delivered, ['a', 'b', 'c']);
    assert.equal(sink.status().sent, 3);
  });

  test('stop() makes one bounded attempt and leaves the rest in the spool for the next process', async () => {
    const dir = join(tmp.dir, 'stop');
    const t = new ScriptedTransport();
    t.mode = 'down';
    const sink = new DeliveringSink(t, options(dir, { stopBudgetMs: 100 }), () => undefined, new Redactor([]));
    await sink.export(batchAt([gauge('a', 1)]));
    await sink.stop();
    assert.equal(sink.status().spooled, 1);

    const t2 = new ScriptedTransport();
    const next = new DeliveringSink(t2, options(dir), () => undefined, new Redactor([]));
    await next.start();
    assert.equal(next.status().spooled, 1);
    await next.stop();
    assert.deepEqual(t2.delivered, ['a']);
    assert.equal(next.status().spooled, 0);
  });

  test('past the spool cap the oldest points are dropped and counted', async () => {
    const t = new ScriptedTransport();
    t.mode = 'down';
    const sink = new DeliveringSink(t, options(join(tmp.dir, 'cap'), { spoolMaxBytes: 1024, quickRetries: 0 }), () => undefined, new Redactor([]));
    for (let i = 0; i < 20; i++) await sink.export(batchAt([gauge(`g${i}`, 1)]));
    const s = sink.status();
    assert.ok(s.dropped > 0);
    assert.equal(s.spooled + s.dropped, 20);
    t.mode = 'ok';
    await sink.stop();
    // What survived is the newest data, in order.
    assert.deepEqual(t.delivered, Array.from({ length: 20 }, (_, i) => `g${i}`).slice(20 - t.delivered.length));
  });

  test('an unusable spool directory does not stop live delivery; what cannot be spooled is dropped and counted', async () => {
    const file = join(tmp.dir, 'not-a-dir');
    writeFileSync(file, 'x');
    const t = new ScriptedTransport();
    const logs: string[] = [];
    const sink = new DeliveringSink(t, options(join(file, 'spool'), { quickRetries: 0 }), (m) => logs.push(m), new Redactor([]));
    await sink.start();
    await sink.export(batchAt([gauge('live', 1)]));
    t.mode = 'down';
    await sink.export(batchAt([gauge('lost', 1)]));
    await sink.stop();
    assert.deepEqual(t.delivered, ['live']);
    assert.deepEqual({ ...sink.status(), lastError: undefined }, { sent: 1, failed: 1, spooled: 0, dropped: 1, lastError: undefined });
    assert.match(logs.join('\n'), /spool .* unusable/);
  });

  test('a slow destination does not hold a flush past its budget: the rest is spooled and replayed in order', async () => {
    const t = new ScriptedTransport();
    t.delayMs = 150;
    const sink = new DeliveringSink(t, options(join(tmp.dir, 'budget'), { exportBudgetMs: 200 }), () => undefined, new Redactor([]));
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    await sink.export(batchAt(names.map((n) => gauge(n, 1))));
    assert.ok(sink.status().spooled > 0, 'some payloads left for the background');
    await waitFor('replay', () => sink.status().spooled === 0, 10_000);
    await sink.stop();
    assert.deepEqual(t.delivered, names);
  });

  test('a Retry-After holds back later flushes, the replay and the final attempt at stop', async () => {
    const t = new ScriptedTransport();
    t.mode = 'busy';
    const sink = new DeliveringSink(t, options(join(tmp.dir, 'retry-after'), { retryMaxDelayMs: 120_000 }), () => undefined, new Redactor([]));
    await sink.export(batchAt([gauge('a', 1)]));
    assert.equal(t.attempts, 1, 'no quick retry inside the Retry-After window');
    await sink.export(batchAt([gauge('b', 1)]));
    await sink.stop();
    assert.equal(t.attempts, 1);
    assert.equal(sink.status().spooled, 2);
  });

  test('a TCP destination that accepts but never reads is a failed delivery, not a delivered one', async () => {
    const held: Socket[] = [];
    const server = createServer((c) => {
      held.push(c);
      c.pause();
    });
    const port = await listenLocal(server as unknown as import('node:http').Server, 0);
    try {
      // Longer than the 2 s the old code waited before assuming delivery.
      await assert.rejects(tcpSend('127.0.0.1', port, Buffer.from('hung.metric 1 1700000000\n'), 2_500), (e: unknown) => e instanceof DeliveryError && e.retryable);
    } finally {
      for (const c of held) c.destroy();
      server.close();
    }
  });

  test('a TCP destination that reads and closes is a delivery', async () => {
    const got: Buffer[] = [];
    const server = createServer((c) => c.on('data', (d: Buffer) => got.push(d)));
    const port = await listenLocal(server as unknown as import('node:http').Server, 0);
    try {
      await tcpSend('127.0.0.1', port, Buffer.from('ok.metric 1 1700000000\n'), 2_000);
      assert.equal(Buffer.concat(got).toString(), 'ok.metric 1 1700000000\n');
    } finally {
      server.close();
    }
  });

  test('an outage is logged once when it starts and once when the destination is back', async () => {
    const t = new ScriptedTransport();
    t.mode = 'down';
    const logs: string[] = [];
    const sink = new DeliveringSink(t, options(join(tmp.dir, 'down-up')), (m) => logs.push(m), new Redactor([]));
    await sink.export(batchAt([gauge('a', 1)]));
    await sink.export(batchAt([gauge('b', 1)]));
    assert.ok(t.attempts >= 2);
    assert.equal(logs.filter((l) => /destination down: connect ECONNREFUSED/.test(l)).length, 1, logs.join('\n'));
    assert.equal(sink.status().dropped, 0);
    t.mode = 'ok';
    await sink.export(batchAt([gauge('c', 1)]));
    await waitFor('replay', () => sink.status().spooled === 0, 5_000);
    await sink.stop();
    assert.equal(logs.filter((l) => /destination is back after/.test(l)).length, 1, logs.join('\n'));
  });

  test('a spool file that cannot be read back is counted as dropped, not forgotten', async () => {
    const dir = join(tmp.dir, 'spool-lost');
    const t = new ScriptedTransport();
    t.mode = 'down';
    const logs: string[] = [];
    const sink = new DeliveringSink(t, options(dir, { quickRetries: 0, retryInitialDelayMs: 60_000, retryMaxDelayMs: 60_000 }), (m) => logs.push(m), new Redactor([]));
    await sink.export(batchAt([gauge('a', 1), gauge('b', 1)]));
    assert.equal(sink.status().spooled, 2);
    unlinkSync(join(dir, readdirSync(dir).sort()[0]!));
    t.mode = 'ok';
    await sink.stop();
    assert.deepEqual(t.delivered, ['b']);
    assert.equal(sink.status().dropped, 1);
    assert.equal(sink.status().sent + sink.status().dropped, 2);
    assert.match(logs.join('\n'), /dropped 1 spooled points whose spool file could not be read back/);
  });

  test('spooled points the destination rejects when the backlog is replayed are counted as dropped', async () => {
    const t = new ScriptedTransport();
    t.mode = 'down';
    const logs: string[] = [];
    const sink = new DeliveringSink(t, options(join(tmp.dir, 'replay-reject'), { quickRetries: 0 }), (m) => logs.push(m), new Redactor([]));
    await sink.export(batchAt([gauge('a', 1), gauge('b', 1)]));
    assert.equal(sink.status().spooled, 2);
    t.mode = 'reject';
    await waitFor('the replay to empty the spool', () => sink.status().spooled === 0, 5_000);
    assert.deepEqual({ sent: sink.status().sent, dropped: sink.status().dropped }, { sent: 0, dropped: 2 });
    await sink.stop();
    assert.match(logs.join('\n'), /answered 400: nope/);
  });

  test('spooled points the destination rejects in the final attempt at stop are counted as dropped', async () => {
    const t = new ScriptedTransport();
    t.mode = 'down';
    // A retry delay far past the test: only stop() replays.
    const sink = new DeliveringSink(t, options(join(tmp.dir, 'stop-reject'), { quickRetries: 0, retryInitialDelayMs: 60_000, retryMaxDelayMs: 60_000 }), () => undefined, new Redactor([]));
    await sink.export(batchAt([gauge('a', 1), gauge('b', 1)]));
    assert.equal(sink.status().spooled, 2);
    t.mode = 'reject';
    await sink.stop();
    assert.deepEqual({ sent: sink.status().sent, spooled: sink.status().spooled, dropped: sink.status().dropped }, { sent: 0, spooled: 0, dropped: 2 });
  });

  test('a spool write that fails on a full disk leaves no temporary file behind', async () => {
    const disk = mountTinyDisk(16 * 1024);
    try {
      const spool = new DiskSpool(disk.dir, 1024 * 1024);
      await assert.rejects(spool.append({ points: 1, body: Buffer.alloc(64 * 1024, 65) }));
      assert.deepEqual(readdirSync(disk.dir).filter((f) => f.endsWith('.tmp')), []);
      assert.equal(spool.size, 0);
    } finally {
      disk.unmount();
    }
  });

  test('a temporary file left by a crash is removed when the spool opens, never replayed', async () => {
    const dir = join(tmp.dir, 'spool-crash');
    const a = new DiskSpool(dir, 64 * 1024);
    await a.open();
    writeFileSync(join(dir, '0000000000000007.zspool.tmp'), '{"v":1,"points":3}\npartial');
    const b = new DiskSpool(dir, 64 * 1024);
    await b.open();
    assert.equal(b.size, 0);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('a token in a URL query string and escaped echoes of a header token are redacted', () => {
    const url = 'https://api.example/v1/write?db=main&api_key=s3cr3t-Key&x=1';
    const r = new Redactor(['tok/with"quote', ...Redactor.urlSecrets(url)]);
    assert.equal(
      r.redact(`POST ${url} failed; body: {"error":"bad token tok\\/with\\"quote"} echo tok%2Fwith%22quote and s3cr3t-Key`),
      'POST https://api.example/v1/write?db=main&api_key=***&x=1 failed; body: {"error":"bad token ***"} echo *** and ***',
    );
    assert.equal(new Redactor([]).redact('GET http://h/x?access_token=abc123&page=2'), 'GET http://h/x?access_token=***&page=2');
  });
});
