/**
 * Shared pieces of the series scenarios (series-overflow, series-churn): the
 * tag-explosion scenario's publisher (one new `user` tag value per record),
 * and totals read back from the file sink's output.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Proc, ROOT } from '../../test/helpers/processes.ts';
import { silentlyLost, type ScenarioResult } from '../scenario.ts';

/** The metric the publisher counts under. */
export const NAME = 'fault.tags';
const PUBLISHER = join(ROOT, 'faults/scenarios/tag-explosion.ts');

export interface PublisherReport {
  made: number;
  dropped: number;
  invalid: number;
  unsubscribed: number;
}

/** Starts the publisher: `values` records, each of a new series, over `durationMs`; resolves with its report. */
export async function publishDistinctSeries(endpoint: string, values: number, durationMs: number): Promise<PublisherReport> {
  const app = new Proc(
    spawn(process.execPath, ['--import', 'tsx', PUBLISHER], {
      cwd: ROOT,
      env: { ...process.env, ZIBRATO_TAG_EXPLOSION_PUBLISHER: JSON.stringify({ endpoint, values, durationMs }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    'publisher',
  );
  try {
    const line = await app.waitFor(/^done /, durationMs + 120_000);
    return JSON.parse(line.slice('done '.length)) as PublisherReport;
  } finally {
    await app.stop('SIGKILL', 5000);
  }
}

export interface SeriesTotals {
  /** Sum of `NAME` over all its series. */
  total: number;
  /** The part of it in the overflow series. */
  overflow: number;
  /** Distinct series of `NAME` written. */
  series: number;
  dropped: number;
  lost: number;
  /** The `zibrato.backend.series` gauge, in file order (one per flush). */
  seriesGauge: number[];
}

/** Reads the file sink's rows as a stream (a full run writes about a million). */
export async function seriesTotals(path: string): Promise<SeriesTotals> {
  const out: SeriesTotals = { total: 0, overflow: 0, series: 0, dropped: 0, lost: 0, seriesGauge: [] };
  const seen = new Set<string>();
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line) continue;
    const row = JSON.parse(line) as { type: string; name: string; value?: number; tags: Record<string, string> };
    if (row.type === 'gauge' && row.name === 'zibrato.backend.series') out.seriesGauge.push(row.value ?? 0);
    if (row.type !== 'counter') continue;
    if (row.name === 'zibrato.backend.dropped') out.dropped += row.value ?? 0;
    else if (row.name === 'zibrato.backend.lost') out.lost += row.value ?? 0;
    if (row.name !== NAME) continue;
    out.total += row.value ?? 0;
    if (row.tags['zibrato.overflow'] === 'true') out.overflow += row.value ?? 0;
    // Only the count matters; the set holds at most the series written, which the caller bounds.
    if (seen.size < 5_000_000) seen.add(row.tags.user ?? '');
  }
  out.series = seen.size;
  return out;
}

/** The scenario result: every record of `NAME` the publisher made is owed to the file, over all its series. */
export function seriesResult(pub: PublisherReport, t: SeriesTotals, peakRssMiB: number, notes: string): ScenarioResult {
  const counted = { 'client.dropped': pub.dropped, 'client.invalid': pub.invalid, 'client.unsubscribed': pub.unsubscribed, 'backend.dropped': t.dropped, 'backend.lost': t.lost };
  return { made: pub.made, received: t.total, counted, silentlyLost: silentlyLost(pub.made, t.total, counted), recoverMs: null, peakRssMiB, notes };
}
