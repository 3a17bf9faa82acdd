// The same four measurements per request, taken five ways (issue 10):
//   - a timer tagged with route, method and status,
//   - a request counter,
//   - an in-flight gauge,
//   - a per-user counter whose tag takes 10,000 distinct values.
// Each variant is written the way its library's documentation suggests, so the
// benchmark measures what a user would actually pay.
//
// Each variant imports only its own library, so the uninstrumented service loads none
// of them and every service starts as fast as it can.

/**
 * The variants the benchmark compares; `none2` is a second, identical uninstrumented service (a′);
 * `hooks` has the fastify hooks every instrumented variant uses, computing the same arguments, and records nothing (a″).
 */
export const VARIANTS = ['none', 'none2', 'hooks', 'zibrato', 'prom', 'otel', 'hotshots'] as const;
export type Variant = (typeof VARIANTS)[number];

/** Where each variant sends its measurements (only the one it uses is set). */
export interface PeerEndpoints {
  zibratoBroker?: string;
  statsdPort?: number;
  otlpUrl?: string;
  /** Identifies this service process to the OTLP receiver (resource attribute service.instance.id). */
  instanceId?: string;
}

/** What the service calls around every request of the instrumented routes. */
export interface Instrumentation {
  requestStarted(): void;
  requestEnded(route: string, method: string, status: string, ms: number, user: string): void;
  /** Text for GET /metrics (prom-client only). */
  metricsText?(): Promise<string>;
  /** Sends what is buffered and releases the library's resources. */
  close(): Promise<void>;
}

/** Names shared by every variant, so the correctness check reads one counter per system. */
export const METRIC = {
  timer: 'app.request',
  requests: 'app.requests',
  inflight: 'app.inflight',
  user: 'app.user.requests',
} as const;

/** The instrumentation for `variant`, connected and ready to record (undefined for the uninstrumented ones). */
export async function createInstrumentation(variant: Variant, peers: PeerEndpoints): Promise<Instrumentation | undefined> {
  switch (variant) {
    case 'none':
    case 'none2':
      return undefined;
    case 'hooks':
      return hooksOnly();
    case 'zibrato':
      return zibrato(peers);
    case 'prom':
      return prom();
    case 'otel':
      return otel(peers);
    case 'hotshots':
      return hotshots(peers);
  }
}

/**
 * Records nothing, but is called from the same hooks with the same arguments as
 * the libraries: what instrumenting costs in fastify before any library runs
 * (two hooks per request, the route, status and elapsed time read), so the
 * report can tell the library's share from the hooks'.
 */
function hooksOnly(): Instrumentation {
  let inFlight = 0;
  let sink = 0;
  return {
    requestStarted() {
      inFlight++;
    },
    requestEnded(route, method, status, ms, user) {
      inFlight--;
      // Touch the arguments so nothing the libraries are given goes unread.
      sink = (sink + route.length + method.length + status.length + user.length + ms) % 1024;
    },
    async close() {
      process.stdout.write(`@@hooks ${inFlight} ${sink}\n`);
    },
  };
}

async function zibrato(peers: PeerEndpoints): Promise<Instrumentation> {
  const { Zibrato } = await import('../../dist/index.js');
  const z = new Zibrato({ broker: peers.zibratoBroker, source: 'bench-app', level: 'info' });
  // Records made before a backend subscribes are discarded (nobody listens); wait so every request counts.
  if (!(await z.ready({ levels: ['info'], timeoutMs: 15_000 }))) throw new Error('zibrato: no backend subscribed to info within 15 s');
  const requests = z.counterHandle({ name: METRIC.requests });
  const inflight = z.gaugeHandle({ name: METRIC.inflight });
  let inFlight = 0;
  return {
    requestStarted() {
      inflight.set(++inFlight);
    },
    requestEnded(route, method, status, ms, user) {
      inflight.set(--inFlight);
      z.timing({ name: METRIC.timer, tags: { route, method, status }, ms });
      requests.inc();
      z.count({ name: METRIC.user, tags: { user } });
    },
    async close() {
      await z.close({ timeoutMs: 5000 });
      const s = z.stats();
      process.stdout.write(`@@zibrato-stats ${JSON.stringify(s)}\n`);
    },
  };
}

async function prom(): Promise<Instrumentation> {
  const { default: client } = await import('prom-client');
  const register = new client.Registry();
  const duration = new client.Histogram({ name: 'app_request_duration_seconds', help: 'request duration', labelNames: ['route', 'method', 'status'], registers: [register] });
  const requests = new client.Counter({ name: 'app_requests_total', help: 'requests', registers: [register] });
  const inflight = new client.Gauge({ name: 'app_inflight', help: 'requests in flight', registers: [register] });
  const users = new client.Counter({ name: 'app_user_requests_total', help: 'requests per user', labelNames: ['user'], registers: [register] });
  return {
    requestStarted() {
      inflight.inc();
    },
    requestEnded(route, method, status, ms, user) {
      inflight.dec();
      duration.observe({ route, method, status }, ms / 1000);
      requests.inc();
      users.inc({ user });
    },
    metricsText: () => register.metrics(),
    async close() {},
  };
}

async function otel(peers: PeerEndpoints): Promise<Instrumentation> {
  const { MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
  const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-proto');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const reader = new PeriodicExportingMetricReader({
    // Types come from the exporter's own copy of sdk-metrics (2.12.0 beside our 2.12.1): same interface.
    exporter: new OTLPMetricExporter({ url: peers.otlpUrl }) as never,
    exportIntervalMillis: 1000,
  });
  const provider = new MeterProvider({
    readers: [reader],
    // The default limit (2,000 series per instrument) would fold 8,000 of the users into one
    // overflow series; raise it so OTel records the same 10,000 series as the others.
    views: [{ instrumentName: METRIC.user, aggregationCardinalityLimit: 20_000 }],
    resource: resourceFromAttributes({ 'service.name': 'bench-app', 'service.instance.id': peers.instanceId ?? 'bench-app' }),
  });
  const meter = provider.getMeter('bench-app');
  const duration = meter.createHistogram(METRIC.timer, { unit: 'ms' });
  const requests = meter.createCounter(METRIC.requests);
  const inflight = meter.createUpDownCounter(METRIC.inflight);
  const users = meter.createCounter(METRIC.user);
  return {
    requestStarted() {
      inflight.add(1);
    },
    requestEnded(route, method, status, ms, user) {
      inflight.add(-1);
      duration.record(ms, { route, method, status });
      requests.add(1);
      users.add(1, { user });
    },
    async close() {
      await provider.shutdown(); // a final export
    },
  };
}

async function hotshots(peers: PeerEndpoints): Promise<Instrumentation> {
  const { default: StatsD } = await import('hot-shots');
  const c = new StatsD({ host: '127.0.0.1', port: peers.statsdPort, errorHandler: () => {} });
  let inFlight = 0;
  return {
    requestStarted() {
      c.gauge(METRIC.inflight, ++inFlight);
    },
    requestEnded(route, method, status, ms, user) {
      c.gauge(METRIC.inflight, --inFlight);
      c.timing(METRIC.timer, ms, { route, method, status });
      c.increment(METRIC.requests);
      c.increment(METRIC.user, { user });
    },
    close() {
      return new Promise((resolve) => c.close(() => resolve()));
    },
  };
}
