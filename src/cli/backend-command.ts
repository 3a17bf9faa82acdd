import { join } from 'node:path';
import { validateEndpoint } from '../config/config.js';
import { Command, Option } from 'commander';
import { Backend } from '../backend/backend.js';
import { DEFAULT_WAL_MAX_BYTES } from '../backend/wal/wal.js';
import { DEFAULT_MAX_SERIES_PER_METRIC } from '../backend/series-store.js';
import { stderrLogger } from '../diagnostics.js';
import { DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_MAX_SERIES, DEFAULT_SUBSCRIBE_ENDPOINT, MIN_FLUSH_INTERVAL_MS } from '../defaults.js';
import { parseLevels } from '../levels.js';
import { parseShard, type ShardSpec } from '../wire/shard.js';
import { resolveSinkOptions, sinkSpecs, type SinkSpec } from '../sinks/registry.js';
import { parseCount, parseDurationMs, sinkNumberLimits } from './duration.js';
import { withEndpoint } from './endpoint-error.js';
import { onShutdown } from './signals.js';
import { addClientKeyOptions, clientKeysOf, type ClientKeyOptions } from './curve-options.js';

/** `flushBytes` → `--flush-bytes`; a unit is one word: `recentRowsMiB` → `--recent-rows-mib` (not `--recent-rows-mi-b`). */
export function flagOf(key: string): string {
  return '--' + key.replace(/MiB/g, 'Mib').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** The property commander stores a flag's value under (`--recent-rows-mib` → `recentRowsMib`), which need not be the sink's option key. */
function attributeOf(key: string): string {
  return new Option(flagOf(key)).attributeName();
}

const MIB = 1024 * 1024;
const DAY_MS = 86_400_000;

/**
 * A sink option's default as --help shows it: sizes and times also in the units
 * people think in (`104857600 = 100 MiB`, `86400000 = 1 day`), the number first
 * because it is what the flag takes.
 */
export function defaultShown(key: string, value: unknown): string | undefined {
  if (typeof value !== 'number' || value <= 0) return undefined;
  if (/Bytes$/.test(key) && value >= MIB && value % MIB === 0) return `${value} = ${value / MIB} MiB`;
  if (/Ms$/.test(key) && value >= 1000) {
    const unit = value % DAY_MS === 0 ? ['day', DAY_MS] : value % 3_600_000 === 0 ? ['hour', 3_600_000] : value % 60_000 === 0 ? ['minute', 60_000] : value % 1000 === 0 ? ['second', 1000] : undefined;
    if (unit) {
      const n = value / (unit[1] as number);
      return `${value} = ${n} ${unit[0]}${n === 1 ? '' : 's'}`;
    }
  }
  return undefined;
}

interface CommonOptions {
  levels: string;
  flush: number;
  broker: string;
  name?: string;
  maxSeries: number;
  maxSeriesPerMetric: number;
  seriesIdleFlushes?: number;
  selfMetrics: boolean;
  walDir?: string;
  wal: boolean;
  walMaxBytes: number;
  shard?: ShardSpec;
}


async function runBackend(spec: SinkSpec, opts: CommonOptions & ClientKeyOptions & Record<string, unknown>): Promise<void> {
  const name = opts.name ?? spec.name;
  const log = stderrLogger(`backend ${name}`);
  validateEndpoint(opts.broker, '--broker');
  const given: Record<string, unknown> = {};
  for (const o of spec.options) given[o.key] = opts[attributeOf(o.key)];
  const sink = spec.create(resolveSinkOptions(spec, given, `backend ${spec.name}`), { backendName: name, log });
  const backend = new Backend({
    name,
    broker: opts.broker,
    levels: parseLevels(opts.levels, '--levels'),
    shard: opts.shard,
    flushIntervalMs: opts.flush,
    maxSeries: opts.maxSeries,
    maxSeriesPerMetric: opts.maxSeriesPerMetric,
    seriesIdleFlushes: opts.seriesIdleFlushes,
    selfMetrics: opts.selfMetrics,
    curve: clientKeysOf(opts),
    // Each backend logs under a directory of its own name, so backends can share one --wal-dir.
    wal: opts.walDir === undefined ? undefined : { dir: join(opts.walDir, name), enabled: opts.wal, maxBytes: opts.walMaxBytes },
    sink,
    log,
  });
  await withEndpoint('connect', '--broker', opts.broker, () => backend.start());
  onShutdown(() => backend.stop(), log);
}

export function registerBackendCommand(program: Command): void {
  const backend = program
    .command('backend')
    .description('Run a backend: subscribe to levels, aggregate, and flush to a sink on a schedule.')
    .addHelpText(
      'after',
      `
Each sink is a subcommand with its own options: zibrato backend <sink> --help

Aggregation per series (name + source + tags), reset every flush:
  counter → value (sum) and rate (per second)
  gauge   → last value
  timer   → count, sum, min, max, mean, stddev, p50, p90, p95, p99 (ms; sketch, ≤ 1 % error)
  set     → distinct members

Example:
  zibrato backend file --levels info,warn --flush 10s --path ./metrics.jsonl

Sharded: two backends share the info level by series, a third sees it all:
  zibrato backend file --levels info --shard 1/2 --name shard-1 --path ./s1.jsonl
  zibrato backend file --levels info --shard 2/2 --name shard-2 --path ./s2.jsonl
  zibrato backend file --levels info --name all --path ./all.jsonl
See docs/delivery.md, "Sharded backends".`,
    );
  for (const spec of sinkSpecs()) {
    const cmd = new Command(spec.name).description(spec.description);
    cmd
      .option('--levels <levels>', 'levels to subscribe to: a list (info,warn), a floor (info+) or all', 'info+')
      .addOption(
        new Option('--shard <K/N>', 'receive only shard K of N of each level (e.g. 1/2 and 2/2 on two backends); clients split series among the N shards (env ZIBRATO_BACKEND_SHARD; default: every shard)').argParser((v) =>
          parseShard(v, '--shard'),
        ),
      )
      .addOption(
        new Option('--flush <duration>', 'flush interval, aligned to wall-clock multiples (500ms, 10s, 1m; at least 10ms)')
          .argParser((v) => parseDurationMs(v, '--flush', { min: MIN_FLUSH_INTERVAL_MS }))
          .default(DEFAULT_FLUSH_INTERVAL_MS, `${DEFAULT_FLUSH_INTERVAL_MS / 1000}s`),
      )
      .option('--broker <endpoint>', "the broker's subscriber endpoint", DEFAULT_SUBSCRIBE_ENDPOINT)
      .option('--name <name>', 'backend name in logs, spool paths and self-metrics (default: the sink name)')
      .addOption(
        new Option('--max-series <n>', 'most series held at once; past it new series fold into their metric\'s overflow series (zibrato.overflow=true)')
          .argParser((v) => parseCount(v, '--max-series'))
          .default(DEFAULT_MAX_SERIES, DEFAULT_MAX_SERIES.toLocaleString('en-US')),
      )
      .addOption(
        new Option('--max-series-per-metric <n>', 'most series of one metric; past it new ones fold into its overflow series, so totals stay exact')
          .argParser((v) => parseCount(v, '--max-series-per-metric'))
          .default(DEFAULT_MAX_SERIES_PER_METRIC, DEFAULT_MAX_SERIES_PER_METRIC.toLocaleString('en-US')),
      )
      .addOption(
        new Option('--series-idle-flushes <n>', 'forget a series of any kind after this many flushes without a record (default: 5 minutes\' worth)').argParser((v) =>
          parseCount(v, '--series-idle-flushes', { min: 1 }),
        ),
      )
      .option('--no-self-metrics', 'do not add zibrato.backend.* health points to each flush')
      .option('--wal-dir <dir>', 'keep a write-ahead log of what is not flushed yet under <dir>/<name>, replayed after a crash')
      .option('--no-wal', 'no write-ahead log even with --wal-dir')
      .addOption(
        new Option('--wal-max-bytes <n>', 'bound on the write-ahead log; past it records are aggregated but not logged (counted)')
          .argParser((v) => parseCount(v, '--wal-max-bytes', { min: 1024 }))
          .default(DEFAULT_WAL_MAX_BYTES, `${DEFAULT_WAL_MAX_BYTES / 1024 / 1024} MiB`),
      );
    addClientKeyOptions(cmd);
    for (const o of spec.options) {
      const flag = o.type === 'boolean' ? flagOf(o.key) : `${flagOf(o.key)} <${o.type === 'number' ? 'n' : 'value'}>`;
      // Some descriptions already name their env variable or their default in words; say each once.
      const opt = new Option(flag, o.description + (o.env && !o.description.includes(`env ${o.env}`) ? ` (env ${o.env})` : ''));
      if (o.type === 'number') opt.argParser((v) => parseCount(v, flagOf(o.key), sinkNumberLimits(o.key, spec)));
      // Left unset, the default still applies: resolveSinkOptions fills in every option not given.
      if (o.default !== undefined && !o.secret && !o.description.includes('(default')) opt.default(o.default, defaultShown(o.key, o.default));
      if (o.choices) opt.choices(o.choices);
      cmd.addOption(opt);
    }
    cmd.action((opts: CommonOptions & Record<string, unknown>) => runBackend(spec, opts));
    backend.addCommand(cmd);
  }
}
