// The OTLP/HTTP receiver for the OpenTelemetry variant, in its own process:
//   node --import tsx bench/app/otlp-receiver.ts
// It reuses the test receiver (test/helpers/peers/otlp-receiver.ts: every body
// is decoded through the official schema) and, instead of keeping every
// request, prints for each export the cumulative value of the request counter
// per service instance: `@@otlp {"instance":"…","requests":N,"points":N}`.
import { OtlpReceiver } from '../../test/helpers/peers/otlp-receiver.js';

interface KeyValue { key: string; value?: { stringValue?: string } }
interface NumberPoint { asInt?: string; asDouble?: number }
interface Metric { name: string; sum?: { dataPoints?: NumberPoint[] }; histogram?: { dataPoints?: unknown[] } }
interface ResourceMetrics { resource?: { attributes?: KeyValue[] }; scopeMetrics?: { metrics?: Metric[] }[] }

const requestsMetric = process.argv[2] ?? 'app.requests';
const receiver = new OtlpReceiver();
await receiver.start(0);
process.stdout.write(`@@listening ${receiver.port}\n`);

// Drained often: with 10,000 user series per export, keeping every request would grow without bound.
setInterval(() => {
  const batch = receiver.received.splice(0);
  for (const r of batch) {
    for (const rm of (r.request.resourceMetrics ?? []) as ResourceMetrics[]) {
      const instance = rm.resource?.attributes?.find((a) => a.key === 'service.instance.id')?.value?.stringValue ?? '?';
      let requests: number | undefined;
      let points = 0;
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          points += m.sum?.dataPoints?.length ?? m.histogram?.dataPoints?.length ?? 0;
          if (m.name === requestsMetric) {
            const p = m.sum?.dataPoints?.[0];
            requests = p ? Number(p.asInt ?? p.asDouble ?? 0) : 0;
          }
        }
      }
      process.stdout.write(`@@otlp ${JSON.stringify({ instance, requests: requests ?? null, points })}\n`);
    }
  }
}, 100);

process.on('SIGTERM', () => {
  void receiver.stop().then(() => process.exit(0));
});
