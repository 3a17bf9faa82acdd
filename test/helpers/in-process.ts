import { Backend } from '../../src/backend/backend.ts';
import { Broker } from '../../src/broker/broker.ts';
import { Zibrato } from '../../src/client/zibrato.ts';
import type { ZibratoOptions } from '../../src/client/options.ts';
import { MemorySink } from '../../src/sinks/memory-sink.ts';
import type { Level } from '../../src/levels.ts';
import type { MetricPoint, Sink } from '../../src/sinks/sink.ts';
import { tcpBrokerEndpoints } from './ports.ts';
import { eventually } from './processes.ts';

/** A real broker and a backend with a MemorySink (and, if given, `extraSink` beside it), in this process, on fresh tcp ports. */
export async function inProcessPipeline(levels: Level[] = ['debug', 'info', 'warn', 'error', 'crit'], options: { selfMetrics?: boolean; log?: (line: string) => void; extraSink?: Sink } = {}) {
  const ep = await tcpBrokerEndpoints();
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0 });
  await broker.start();
  const sink = new MemorySink();
  const backend = new Backend({ name: 'test', broker: ep.subscribe, levels, flushIntervalMs: 60_000, sink: options.extraSink ? teeSink(sink, options.extraSink) : sink, selfMetrics: options.selfMetrics ?? false, log: options.log ?? (() => undefined) });
  await backend.start();
  return {
    ...ep,
    broker,
    backend,
    sink,
    /**
     * Flushes the backend once the records in flight arrived, and returns every point so far.
     * Given the publishing client, "arrived" is exact: nothing left in its buffer and the backend
     * received all it sent. Without one (a child process published), it waits until the backend
     * has received something and the count holds still across a few polls.
     */
    async points(sentBy?: { stats(): { sent: number; buffered: number } }): Promise<MetricPoint[]> {
      if (sentBy) {
        await eventually(() => sentBy.stats().buffered === 0 && backend.status().received >= sentBy.stats().sent, 'the backend to receive what the client sent', 20_000, 10);
      } else {
        let last = -1;
        let still = 0;
        await eventually(() => {
          const now = backend.status().received;
          still = now > 0 && now === last ? still + 1 : 0;
          last = now;
          return still >= 3;
        }, 'the backend to receive records and then nothing more', 20_000, 100);
      }
      await backend.flush();
      return sink.batches.flatMap((b) => b.points);
    },
    async stop() {
      await backend.stop();
      await broker.stop();
    },
  };
}

type Pipeline = Awaited<ReturnType<typeof inProcessPipeline>>;

/**
 * An in-process pipeline at `levels` and a client connected to it (diagnostics
 * silenced), ready for those levels before `fn` runs; both are stopped after.
 */
export async function withReadyClient(levels: Level[], options: ZibratoOptions, fn: (pipe: Pipeline, z: Zibrato) => Promise<void>): Promise<void> {
  const pipe = await inProcessPipeline(levels);
  const z = new Zibrato({ log: () => undefined, ...options, broker: pipe.publish });
  try {
    if (!(await z.ready({ levels }))) throw new Error(`the client was not ready for ${levels.join(', ')}`);
    await fn(pipe, z);
  } finally {
    await z.close({ timeoutMs: 0 });
    await pipe.stop();
  }
}

/** One sink that hands every flush to two. */
function teeSink(a: Sink, b: Sink): Sink {
  return {
    name: b.name,
    async start() {
      await a.start?.();
      await b.start?.();
    },
    async export(batch) {
      await Promise.all([a.export(batch), b.export(batch)]);
    },
    async stop() {
      await a.stop();
      await b.stop();
    },
    status: () => b.status(),
  };
}
