import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreSink, type StoreSinkOptions } from '../../src/store/store-sink.ts';
import type { FlushBatch, MetricPoint } from '../../src/sinks/sink.ts';

/** A fresh temporary directory for a store database. */
export function tempStoreDir(label = 'store'): string {
  return mkdtempSync(join(tmpdir(), `zibrato-${label}-`));
}

/** A StoreSink (not started) in a temporary directory on a free loopback port (port 0), logging into `logs`. */
export function storeSink(options: Partial<StoreSinkOptions> = {}, logs: string[] = []): StoreSink {
  return new StoreSink({
    dir: options.dir ?? tempStoreDir(),
    host: '127.0.0.1',
    port: 0,
    retention: { raw: '2d', m1: '30d', h1: '1y' },
    log: (l) => logs.push(l),
    ...options,
  });
}

/** A started {@link storeSink}; `url` is its API base without a trailing slash. */
export async function startStoreSink(options: Partial<StoreSinkOptions> = {}): Promise<{ sink: StoreSink; url: string; logs: string[] }> {
  const logs: string[] = [];
  const sink = storeSink(options, logs);
  await sink.start();
  return { sink, url: sink.http ? sink.http.url.replace(/\/$/, '') : '', logs };
}

/** GET (or another method) and parse JSON; returns status and body. */
export async function api(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A flush batch of the given points ending at `timeMs`. */
export function batch(timeMs: number, intervalMs: number, points: MetricPoint[]): FlushBatch {
  return { timeMs, intervalMs, points };
}
