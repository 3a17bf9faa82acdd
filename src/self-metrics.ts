import { levelIndex, type Level } from './levels.js';
import { BatchWriter, newPublisherId, stampSequence } from './wire/batch-writer.js';
import { MetricKind } from './wire/constants.js';
import { encodeSeries } from './wire/series-encoding.js';
import { LEVEL_TOPICS } from './wire/topic.js';

/**
 * Builds native batches of a component's own health metrics (`zibrato.<component>.*`),
 * so they travel the same bus as everything else and land in every backend
 * that subscribes to their level.
 */
export class SelfMetrics {
  /** A publisher like any other: its own id and a sequence per level, so receivers account for these batches too. */
  private readonly writer = new BatchWriter(4096, 4096, newPublisherId());
  private readonly sequences = [0, 0, 0, 0, 0];
  private readonly series = new Map<string, Uint8Array>();

  constructor(
    private readonly prefix: string,
    private readonly source: string,
  ) {}

  private add(kind: MetricKind, name: string, value: number): void {
    const key = `${kind}:${name}`;
    let enc = this.series.get(key);
    if (!enc) {
      enc = encodeSeries(kind, `${this.prefix}.${name}`, this.source, undefined);
      this.series.set(key, enc);
    }
    this.writer.append(this.writer.addSeries(enc), value);
  }

  /** Adds a counter increment (skipped when zero). */
  counter(name: string, value: number): void {
    if (value !== 0) this.add(MetricKind.counter, name, value);
  }

  /** Adds a gauge value. */
  gauge(name: string, value: number): void {
    this.add(MetricKind.gauge, name, value);
  }

  /** The two frames of a message holding what was added, or undefined when nothing was. */
  seal(level: Level): Buffer[] | undefined {
    if (this.writer.isEmpty) {
      this.writer.reset();
      return undefined;
    }
    const l = levelIndex(level);
    const records = this.writer.recordCount;
    const frame = this.writer.seal(Date.now());
    stampSequence(frame, this.sequences[l]!);
    this.sequences[l]! += records;
    return [LEVEL_TOPICS[l]!, frame];
  }
}
