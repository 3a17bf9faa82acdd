import { Backend } from '../../src/backend/backend.ts';
import { Broker } from '../../src/broker/broker.ts';
import { MemorySink } from '../../src/sinks/memory-sink.ts';
import type { Level } from '../../src/levels.ts';
import type { MetricPoint } from '../../src/sinks/sink.ts';
import { tcpBrokerEndpoints } from './ports.ts';

/** A real broker and a backend with a MemorySink, in this process, on fresh tcp ports. */
export async function inProcessPipeline(levels: Level[] = ['debug', 'info', 'warn', 'error', 'crit'], options: { selfMetrics?: boolean; log?: (line: string) => void } = {}) {
  const ep = await tcpBrokerEndpoints();
  const broker = new Broker({ publishEndpoints: [ep.publish], subscribeEndpoints: [ep.subscribe], selfMetricsIntervalMs: 0 });
  await broker.start();
  const sink = new MemorySink();
  const backend = new Backend({ name: 'test', broker: ep.subscribe, levels, flushIntervalMs: 60_000, sink, selfMetrics: options.selfMetrics ?? false, log: options.log ?? (() => undefined) });
  await backend.start();
  return {
    ...ep,
    broker,
    backend,
    sink,
    /** Flushes the backend after records in flight arrived, and returns every point so far. */
    async points(): Promise<MetricPoint[]> {
      await new Promise((r) => setTimeout(r, 150));
      await backend.flush();
      return sink.batches.flatMap((b) => b.points);
    },
    async stop() {
      await backend.stop();
      await broker.stop();
    },
  };
}
