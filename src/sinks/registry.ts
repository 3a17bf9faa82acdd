import { InvalidOptionError } from '../errors.js';
import type { Sink } from './sink.js';
import { consoleSinkSpec } from './console-sink.js';
import { fileSinkSpec } from './file-sink.js';
import { memorySinkSpec } from './memory-sink.js';
import { graphiteSinkSpec } from './graphite-sink.js';
import { statsdSinkSpec } from './statsd-sink.js';
import { prometheusSinkSpec } from './prometheus-sink.js';
import { prometheusRemoteWriteSinkSpec } from './prometheus-remote-write-sink.js';
import { otlpSinkSpec } from './otlp-sink.js';
import { libratoSinkSpec } from './librato-sink.js';
import { appOpticsSinkSpec } from './appoptics-sink.js';
import { storeSinkSpec } from '../store/store-sink.js';

/** One option a sink takes, as a CLI flag and as a config key. */
export interface SinkOptionSpec {
  /** Config key, camelCase (e.g. `path`, `flushBytes`). The CLI flag is its kebab-case form. */
  key: string;
  description: string;
  type: 'string' | 'number' | 'boolean';
  default?: string | number | boolean;
  /** Environment variable read when the option is not given (for credentials). */
  env?: string;
  /** Never print this option's value (tokens, passwords). */
  secret?: boolean;
  /** The only values a string option accepts; checked when options are resolved. */
  choices?: readonly string[];
}

/** How to build one kind of sink. A new destination is one file exporting a `SinkSpec`, listed below. */
export interface SinkSpec {
  /** The name used in `zibrato backend <name>` and `sink:` in config. */
  name: string;
  description: string;
  options: SinkOptionSpec[];
  /** Its `path` option names a directory it keeps files in, not a file (so `up --check` does not flag an existing directory). */
  pathIsDirectory?: boolean;
  /** It listens on its `host`/`port` options (the store API, Prometheus /metrics), so `up --check` checks that port is free. */
  listens?: boolean;
  /** Checks that concern several options at once, when options are resolved (so `zibrato up` refuses a bad config before starting anything). */
  validate?(options: Record<string, string | number | boolean | undefined>, where: string): void;
  create(options: Record<string, string | number | boolean | undefined>, context: SinkContext): Sink;
}

/** What a sink gets from the backend that runs it. */
export interface SinkContext {
  /** The backend's name, used for spool directories and logs. */
  backendName: string;
  /** Writes one log line (already prefixed). */
  log(message: string): void;
}

const SPECS: SinkSpec[] = [consoleSinkSpec, fileSinkSpec, memorySinkSpec, graphiteSinkSpec, statsdSinkSpec, prometheusSinkSpec, prometheusRemoteWriteSinkSpec, otlpSinkSpec, libratoSinkSpec, appOpticsSinkSpec, storeSinkSpec];

/** Every sink kind, in the order `--help` lists them. */
export function sinkSpecs(): readonly SinkSpec[] {
  return SPECS;
}

/** The spec of a sink kind; throws a coded error listing the known kinds. */
export function sinkSpec(name: string): SinkSpec {
  const spec = SPECS.find((s) => s.name === name);
  if (!spec) throw new InvalidOptionError(`unknown sink "${name}"; known sinks: ${SPECS.map((s) => s.name).join(', ')}`, 'ZIB_ERR_UNKNOWN_SINK');
  return spec;
}

/**
 * Resolves a sink's options from what was given, the environment and the
 * defaults, checking types. Unknown keys are an error naming the key.
 */
export function resolveSinkOptions(spec: SinkSpec, given: Record<string, unknown>, where: string): Record<string, string | number | boolean | undefined> {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const key of Object.keys(given)) {
    if (given[key] !== undefined && !spec.options.some((o) => o.key === key)) {
      throw new InvalidOptionError(`${where}.${key}: unknown option for sink "${spec.name}"; known: ${spec.options.map((o) => o.key).join(', ') || '(none)'}`, 'ZIB_ERR_INVALID_CONFIG');
    }
  }
  for (const opt of spec.options) {
    let v: unknown = given[opt.key];
    if (v === undefined && opt.env && process.env[opt.env] !== undefined) v = process.env[opt.env];
    if (v === undefined) v = opt.default;
    if (v === undefined) continue;
    if (opt.type === 'number') {
      const n = typeof v === 'number' ? v : Number(v);
      if (!Number.isFinite(n)) throw new InvalidOptionError(`${where}.${opt.key}: expected a number, got ${JSON.stringify(opt.secret ? '***' : v)}`, 'ZIB_ERR_INVALID_CONFIG');
      out[opt.key] = n;
    } else if (opt.type === 'boolean') {
      if (typeof v === 'boolean') out[opt.key] = v;
      else if (v === 'true' || v === '1') out[opt.key] = true;
      else if (v === 'false' || v === '0') out[opt.key] = false;
      else throw new InvalidOptionError(`${where}.${opt.key}: expected true or false, got ${JSON.stringify(v)}`, 'ZIB_ERR_INVALID_CONFIG');
    } else {
      if (typeof v !== 'string' && typeof v !== 'number') throw new InvalidOptionError(`${where}.${opt.key}: expected a string`, 'ZIB_ERR_INVALID_CONFIG');
      if (opt.choices && !opt.choices.includes(String(v))) {
        throw new InvalidOptionError(`${where}.${opt.key}: expected one of ${opt.choices.join(', ')}, got ${JSON.stringify(v)}`, 'ZIB_ERR_INVALID_CONFIG');
      }
      out[opt.key] = String(v);
    }
  }
  spec.validate?.(out, where);
  return out;
}
