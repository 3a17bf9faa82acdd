import type { OtlpBuckets, OtlpExponentialHistogramDataPoint, OtlpExportRequest, OtlpKeyValue, OtlpNumberDataPoint, OtlpSummaryDataPoint } from './otlp-model.js';
import { ProtoWriter } from './protobuf-writer.js';

/*
 * Field numbers from opentelemetry/proto (collector/metrics/v1/metrics_service.proto,
 * metrics/v1/metrics.proto, resource/v1/resource.proto, common/v1/common.proto).
 * The otlp tests decode our bytes with the official generated schema.
 */

function keyValue(w: ProtoWriter, field: number, kv: OtlpKeyValue): void {
  // KeyValue { string key = 1; AnyValue value = 2; }  AnyValue { string string_value = 1; ... }
  w.message(field, (m) => m.string(1, kv.key).message(2, (v) => v.string(1, kv.value.stringValue)));
}

function numberPoint(w: ProtoWriter, p: OtlpNumberDataPoint): void {
  // NumberDataPoint { fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; double as_double = 4; repeated KeyValue attributes = 7; }
  if (p.startTimeUnixNano !== undefined) w.fixed64(2, BigInt(p.startTimeUnixNano));
  w.fixed64(3, BigInt(p.timeUnixNano));
  w.double(4, p.asDouble);
  for (const a of p.attributes ?? []) keyValue(w, 7, a);
}

function summaryPoint(w: ProtoWriter, p: OtlpSummaryDataPoint): void {
  // SummaryDataPoint { fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; fixed64 count = 4;
  //   double sum = 5; repeated ValueAtQuantile quantile_values = 6; repeated KeyValue attributes = 7; }
  w.fixed64(2, BigInt(p.startTimeUnixNano));
  w.fixed64(3, BigInt(p.timeUnixNano));
  w.fixed64(4, BigInt(p.count));
  w.double(5, p.sum);
  for (const q of p.quantileValues) w.message(6, (v) => v.double(1, q.quantile).double(2, q.value));
  for (const a of p.attributes ?? []) keyValue(w, 7, a);
}

function buckets(w: ProtoWriter, field: number, b: OtlpBuckets): void {
  // Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2 [packed]; }
  w.message(field, (bw) => bw.sint(1, b.offset).packedUint(2, (b.bucketCounts ?? []).map(Number)));
}

function exponentialPoint(w: ProtoWriter, p: OtlpExponentialHistogramDataPoint): void {
  // ExponentialHistogramDataPoint { repeated KeyValue attributes = 1; fixed64 start_time_unix_nano = 2;
  //   fixed64 time_unix_nano = 3; fixed64 count = 4; optional double sum = 5; sint32 scale = 6;
  //   fixed64 zero_count = 7; Buckets positive = 8; Buckets negative = 9; optional double min = 12;
  //   optional double max = 13; double zero_threshold = 14; }
  for (const a of p.attributes ?? []) keyValue(w, 1, a);
  w.fixed64(2, BigInt(p.startTimeUnixNano));
  w.fixed64(3, BigInt(p.timeUnixNano));
  w.fixed64(4, BigInt(p.count));
  w.double(5, p.sum);
  w.sint(6, p.scale);
  w.fixed64(7, BigInt(p.zeroCount));
  buckets(w, 8, p.positive);
  buckets(w, 9, p.negative);
  if (p.min !== undefined) w.double(12, p.min);
  if (p.max !== undefined) w.double(13, p.max);
  w.double(14, p.zeroThreshold);
}

/** Encodes an ExportMetricsServiceRequest in the protobuf binary format. */
export function encodeOtlpProtobuf(req: OtlpExportRequest): Buffer {
  const w = new ProtoWriter();
  // ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
  for (const rm of req.resourceMetrics) {
    // ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
    w.message(1, (r) => {
      r.message(1, (res) => {
        for (const a of rm.resource.attributes) keyValue(res, 1, a);
      });
      for (const sm of rm.scopeMetrics) {
        // ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; }
        r.message(2, (s) => {
          s.message(1, (scope) => scope.string(1, sm.scope.name).string(2, sm.scope.version));
          for (const m of sm.metrics) {
            // Metric { string name = 1; string description = 2; string unit = 3; Gauge gauge = 5; Sum sum = 7; Summary summary = 11; }
            s.message(2, (mw) => {
              mw.string(1, m.name);
              if (m.description) mw.string(2, m.description);
              if (m.unit) mw.string(3, m.unit);
              if (m.gauge) mw.message(5, (g) => m.gauge!.dataPoints.forEach((p) => g.message(1, (pw) => numberPoint(pw, p))));
              if (m.sum) {
                // Sum { repeated NumberDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; bool is_monotonic = 3; }
                mw.message(7, (sw) => {
                  m.sum!.dataPoints.forEach((p) => sw.message(1, (pw) => numberPoint(pw, p)));
                  sw.uint(2, m.sum!.aggregationTemporality);
                  if (m.sum!.isMonotonic) sw.bool(3, true);
                });
              }
              if (m.summary) mw.message(11, (sw) => m.summary!.dataPoints.forEach((p) => sw.message(1, (pw) => summaryPoint(pw, p))));
              if (m.exponentialHistogram) {
                // ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; AggregationTemporality aggregation_temporality = 2; }
                mw.message(10, (hw) => {
                  m.exponentialHistogram!.dataPoints.forEach((p) => hw.message(1, (pw) => exponentialPoint(pw, p)));
                  hw.uint(2, m.exponentialHistogram!.aggregationTemporality);
                });
              }
            });
          }
        });
      }
    });
  }
  return w.finish();
}
