import { monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import type { Level } from '../levels.js';
import type { Tags } from '../wire/series-encoding.js';
import type { CounterHandle, GaugeHandle, MetricOptions, TimerHandle } from './zibrato.js';

/** Options of {@link Zibrato.collectDefaultMetrics}. */
export interface DefaultMetricsOptions {
  /** Level of every default metric. Default: the client's level. */
  level?: Level;
  /** Put in front of every name (prom-client's `prefix`), e.g. `myapp.`. Default none. */
  prefix?: string;
  /** Tags on every default metric, merged over the client's. */
  tags?: Tags;
}

/** What the sampler needs from the client: its handle factories (so names, levels and tags are checked the usual way). */
interface HandleFactory {
  gaugeHandle(o: MetricOptions): GaugeHandle;
  counterHandle(o: MetricOptions): CounterHandle;
  timerHandle(o: MetricOptions): TimerHandle;
}

/** Node's numeric GC kinds (`PerformanceEntry.detail.kind`) as prom-client names them. */
const GC_KINDS: Readonly<Record<number, string>> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };

/** Resolution of the event-loop delay histogram: prom-client's default (10 ms) is coarse for a lag that is usually below it. */
const EVENT_LOOP_RESOLUTION_MS = 10;

const NS_PER_S = 1e9;
const US_PER_S = 1e6;

/**
 * The process metrics prom-client's `collectDefaultMetrics` gives, read on the
 * client's collect timer (docs/default-metrics.md lists names, types, units and
 * prom-client's name for each). Every handle is resolved once here; a sample is
 * a few `process`/`perf_hooks` calls and one store per metric.
 */
export class DefaultMetrics {
  private readonly loopDelay: IntervalHistogram;
  private elu: EventLoopUtilization;
  private cpu: NodeJS.CpuUsage;
  private readonly gc: PerformanceObserver | undefined;
  private readonly g: Record<'lagMean' | 'lagMax' | 'lagP50' | 'lagP99' | 'elu' | 'heapUsed' | 'heapTotal' | 'external' | 'rss' | 'startTime', GaugeHandle>;
  private readonly cpuUser: CounterHandle;
  private readonly cpuSystem: CounterHandle;
  private readonly resources: (type: string) => GaugeHandle;
  /** Resource types reported last time: a type that vanished is set to 0 once, so its gauge does not stick at the old count. */
  private lastTypes = new Set<string>();

  constructor(z: HandleFactory, options: DefaultMetricsOptions) {
    const prefix = options.prefix ?? '';
    const base = { level: options.level, tags: options.tags };
    const gauge = (name: string, unit: string, description: string) => z.gaugeHandle({ ...base, name: prefix + name, unit, description });
    this.g = {
      lagMean: gauge('nodejs.eventloop.lag', 'seconds', 'Mean event-loop delay over the collect interval'),
      lagMax: gauge('nodejs.eventloop.lag_max', 'seconds', 'Largest event-loop delay over the collect interval'),
      lagP50: gauge('nodejs.eventloop.lag_p50', 'seconds', 'Median event-loop delay over the collect interval'),
      lagP99: gauge('nodejs.eventloop.lag_p99', 'seconds', '99th percentile event-loop delay over the collect interval'),
      elu: gauge('nodejs.eventloop.utilization', 'ratio', 'Fraction of the collect interval the event loop was busy (0 to 1)'),
      heapUsed: gauge('nodejs.heap_size_used', 'bytes', 'V8 heap in use'),
      heapTotal: gauge('nodejs.heap_size_total', 'bytes', 'V8 heap allocated'),
      external: gauge('nodejs.external_memory', 'bytes', 'Memory of C++ objects bound to JavaScript objects'),
      rss: gauge('process.resident_memory', 'bytes', 'Resident set size'),
      startTime: gauge('process.start_time', 'seconds', 'Process start time since the Unix epoch'),
    };
    this.cpuUser = z.counterHandle({ ...base, name: prefix + 'process.cpu.user', unit: 'seconds', description: 'User CPU time spent' });
    this.cpuSystem = z.counterHandle({ ...base, name: prefix + 'process.cpu.system', unit: 'seconds', description: 'System CPU time spent' });
    this.resources = (type) => z.gaugeHandle({ ...base, tags: { ...options.tags, type }, name: prefix + 'nodejs.active_resources', description: 'Resources keeping the event loop alive (handles and requests), by type' });
    this.loopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    this.loopDelay.enable();
    this.elu = performance.eventLoopUtilization();
    this.cpu = process.cpuUsage();
    const gcTimers = new Map<string, TimerHandle>();
    const gcTimer = (kind: string) => {
      let t = gcTimers.get(kind);
      if (t === undefined) gcTimers.set(kind, (t = z.timerHandle({ ...base, tags: { ...options.tags, kind }, name: prefix + 'nodejs.gc.duration', description: 'Garbage collection pauses by kind' })));
      return t;
    };
    try {
      // Node hands GC entries over in batches after the pause, off the app's calls.
      this.gc = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) gcTimer(GC_KINDS[(e as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'unknown').record(e.duration);
      });
      this.gc.observe({ entryTypes: ['gc'] });
    } catch {
      this.gc = undefined; // a runtime without GC entries: the other metrics still work
    }
    this.startTimeS = Math.round((Date.now() - process.uptime() * 1000) / 10) / 100;
  }

  /** Sent on every sample, not once: backends forget a series idle for 5 minutes. */
  private readonly startTimeS: number;

  /** One reading of everything but GC (reported as it happens). */
  sample(): void {
    this.g.startTime.set(this.startTimeS);
    const h = this.loopDelay;
    if (h.count > 0) {
      this.g.lagMean.set(h.mean / NS_PER_S);
      this.g.lagMax.set(h.max / NS_PER_S);
      this.g.lagP50.set(h.percentile(50) / NS_PER_S);
      this.g.lagP99.set(h.percentile(99) / NS_PER_S);
    }
    h.reset();
    const elu = performance.eventLoopUtilization();
    this.g.elu.set(performance.eventLoopUtilization(elu, this.elu).utilization);
    this.elu = elu;
    const cpu = process.cpuUsage();
    this.cpuUser.inc((cpu.user - this.cpu.user) / US_PER_S);
    this.cpuSystem.inc((cpu.system - this.cpu.system) / US_PER_S);
    this.cpu = cpu;
    const mem = process.memoryUsage();
    this.g.heapUsed.set(mem.heapUsed);
    this.g.heapTotal.set(mem.heapTotal);
    this.g.external.set(mem.external);
    this.g.rss.set(mem.rss);
    const counts = new Map<string, number>();
    for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
    for (const type of this.lastTypes) if (!counts.has(type)) this.resources(type).set(0);
    for (const [type, n] of counts) this.resources(type).set(n);
    this.lastTypes = new Set(counts.keys());
  }

  stop(): void {
    this.loopDelay.disable();
    this.gc?.disconnect();
  }
}
