import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSinkOptions, type SinkSpec } from '../../src/sinks/registry.js';
import { withBackendTotals } from '../../src/backend/temporality.js';
import type { CounterPoint, FlushBatch, GaugePoint, MetricPoint, SetPoint, Sink, TimerPoint } from '../../src/sinks/sink.js';

/** A fresh temporary directory and its remover. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `zibrato-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function counter(name: string, value: number, opts: Partial<CounterPoint> = {}): CounterPoint {
  return { type: 'counter', name, source: '', tags: {}, value, rate: value / 10, ...opts };
}

export function gauge(name: string, value: number, opts: Partial<GaugePoint> = {}): GaugePoint {
  return { type: 'gauge', name, source: '', tags: {}, value, ...opts };
}

export function set(name: string, value: number, opts: Partial<SetPoint> = {}): SetPoint {
  return { type: 'set', name, source: '', tags: {}, value, ...opts };
}

export function timer(name: string, opts: Partial<TimerPoint> = {}): TimerPoint {
  return {
    type: 'timer', name, source: '', tags: {},
    count: 10, sum: 123.5, min: 1.5, max: 40, mean: 12.35, stddev: 5.25, sumSquares: 3001.25,
    p50: 10, p90: 30.5, p95: 35, p99: 39.75,
    ...opts,
  };
}

/** A batch ending at `timeMs` (default: now, on a whole second), 10 s interval. */
export function batchAt(points: MetricPoint[], timeMs: number = Math.floor(Date.now() / 1000) * 1000): FlushBatch {
  return { timeMs, intervalMs: 10_000, points };
}

/**
 * Builds a sink through its spec the way the backend does (options resolved
 * and checked); a sink that wants cumulative values gets the backend's
 * totals, as under a real backend.
 */
export function makeSink(spec: SinkSpec, options: Record<string, unknown>, logs: string[] = []): Sink {
  const resolved = resolveSinkOptions(spec, options, 'test');
  return withBackendTotals(spec.create(resolved, { backendName: 'test', log: (m) => logs.push(m) }));
}

/** Options that make delivery fast enough for tests: short backoffs, one quick retry. */
export const FAST_DELIVERY = { quickRetries: 1, retryInitialDelayMs: 50, retryMaxDelayMs: 300, requestTimeoutMs: 2_000, exportBudgetMs: 2_000, stopBudgetMs: 3_000 };
