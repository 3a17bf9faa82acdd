import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_FILE_SINK_PATH, DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_PUBLISH_ENDPOINT, DEFAULT_STATSD_PORT, DEFAULT_STORE_DIR, DEFAULT_STORE_PORT, DEFAULT_SUBSCRIBE_ENDPOINT, MIN_FLUSH_INTERVAL_MS } from '../defaults.js';
import { DEFAULT_RETENTION } from '../store/store.js';
import { InvalidOptionError } from '../errors.js';
import { FILE_SINK_DEFAULTS } from '../sinks/file-sink.js';
import { describeValue, plainText } from '../describe-value.js';
import { parseLevels, type Level } from '../levels.js';
import { parseShard } from '../wire/shard.js';
import { parseCount, parseDurationMs, sinkNumberLimits } from '../cli/duration.js';
import { resolveSinkOptions, sinkSpec } from '../sinks/registry.js';

/** One backend of `zibrato up`. */
export interface BackendConfig {
  name: string;
  sink: string;
  levels: Level[];
  flushIntervalMs: number;
  /** `K/N`: the backend receives only that shard of its levels (`--shard`). */
  shard?: string;
  options: Record<string, string | number | boolean | undefined>;
}

/** One protocol gateway of `zibrato up`. */
export interface IngestConfig {
  type: 'statsd';
  port: number;
  host: string;
  defaultLevel: Level;
}

/** CURVE key files of `zibrato up` (docs/security.md): file paths only, never key values. */
export interface SecurityConfig {
  /** The broker's key pair file; its public key is given to every child that connects. */
  brokerKeyFile?: string;
  /** The key pair the backends and gateways connect with (on the allow-lists). */
  clientKeyFile?: string;
  allowPublishersFile?: string;
  allowSubscribersFile?: string;
  /** Bind addresses other machines can reach without keys. */
  insecure: boolean;
}

/** The whole `zibrato up` configuration after validation. */
export interface ZibratoConfig {
  /** `upstream`: a central broker's publish endpoint, making this a host broker (`zibrato broker --upstream`). */
  broker: { publish: string[]; subscribe: string[]; upstream?: string };
  /** Absent: plain ZeroMQ, loopback only. */
  security?: SecurityConfig;
  backends: BackendConfig[];
  ingest: IngestConfig[];
  restart: { initialDelayMs: number; maxDelayMs: number };
  /** Every backend's write-ahead log lives in `<dir>/<backend name>`; on when `dir` is given unless `enabled: false`. */
  wal: { dir?: string; enabled: boolean };
}

/** The embedded defaults `zibrato up` runs with no config file. */
export const DEFAULT_CONFIG_TEXT = `# zibrato up — embedded defaults
broker:
  publish: [${DEFAULT_PUBLISH_ENDPOINT}]
  subscribe: [${DEFAULT_SUBSCRIBE_ENDPOINT}]
  # upstream: tcp://central.example:5550   # host broker: forward to a central broker (docs/scaling.md)
backends:
  - name: console
    sink: console
    levels: info+
    flush: ${DEFAULT_FLUSH_INTERVAL_MS / 1000}s
  - name: file
    sink: file
    levels: debug+
    flush: ${DEFAULT_FLUSH_INTERVAL_MS / 1000}s
    options:
      path: ${DEFAULT_FILE_SINK_PATH}
      maxBytes: ${FILE_SINK_DEFAULTS.maxBytes}   # rotate at 100 MiB …
      maxAgeMs: ${FILE_SINK_DEFAULTS.maxAgeMs}   # … or after a day,
      keep: ${FILE_SINK_DEFAULTS.keep}   # keeping 7 old files: at most 800 MiB on disk
  - name: store
    sink: store
    levels: debug+
    flush: ${DEFAULT_FLUSH_INTERVAL_MS / 1000}s
    options:
      path: ${DEFAULT_STORE_DIR}
      port: ${DEFAULT_STORE_PORT}
      retentionRaw: ${DEFAULT_RETENTION.raw}
      retention1m: ${DEFAULT_RETENTION.m1}
      retention1h: ${DEFAULT_RETENTION.h1}
ingest: []
# CURVE on every connection, with allow-lists (docs/security.md). Files only, never key values:
# security:
#   brokerKeyFile: keys/broker.key            # zibrato keygen keys/broker
#   clientKeyFile: keys/zibrato.key           # the backends' and gateways' pair, listed on both sides
#   allowPublishersFile: keys/publishers.allow
#   allowSubscribersFile: keys/subscribers.allow
#   insecure: false                           # true: bind a non-loopback address without keys
`;

type Obj = Record<string, unknown>;

/** The sink option that names a file a backend writes (the file sink's `path`). */
export const FILE_PATH_OPTION = 'path';

function bad(key: string, message: string): never {
  throw new InvalidOptionError(`config ${key}: ${message}`, 'ZIB_ERR_INVALID_CONFIG');
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(o: Obj, where: string, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) bad(`${where}.${k}`, `unknown key; allowed: ${allowed.join(', ')}`);
}

/** The transports libzmq takes, and something after them: libzmq itself judges the rest when it binds or connects. */
const ENDPOINT = /^(tcp|ipc|inproc|ws|wss):\/\/.+/;
const notAnEndpoint = (e: unknown) => `${describeValue(e)} is not a ZeroMQ endpoint such as tcp://127.0.0.1:5550`;

function endpoints(v: unknown, key: string, dflt: string): string[] {
  if (v === undefined) return [dflt];
  const list = Array.isArray(v) ? v : [v];
  for (const [i, e] of list.entries()) if (typeof e !== 'string' || !ENDPOINT.test(e)) bad(`${key}[${i}]`, notAnEndpoint(e));
  return list as string[];
}

/** Checks one endpoint given on the command line or in the environment (`send --broker`) with the config's grammar. */
export function validateEndpoint(endpoint: string, option: string): string {
  if (!ENDPOINT.test(endpoint)) throw new InvalidOptionError(`${option}: ${notAnEndpoint(endpoint)}`);
  return endpoint;
}

/** Checks endpoints given on the command line (`up --publish`) with the config's grammar. */
export function validateEndpointList(list: string[], option: string): string[] {
  try {
    return endpoints(list, option, '');
  } catch (err) {
    throw new InvalidOptionError((err as Error).message.replace(/^config /, ''));
  }
}

function wrap<T>(key: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof InvalidOptionError && err.message.startsWith('config ')) throw err;
    const message = (err as Error).message;
    // Parsers name what they parsed ("flush: …", "backends[0].options.keep: …"): say the key path once, not twice.
    if (message.startsWith(`${key}.`)) throw new InvalidOptionError(`config ${message}`, 'ZIB_ERR_INVALID_CONFIG');
    const last = key.slice(key.lastIndexOf('.') + 1);
    for (const named of [`${key}: `, `${last}: `]) if (message.startsWith(named)) bad(key, message.slice(named.length));
    bad(key, message);
  }
}

/** Validates a parsed config object; every error names the bad key. */
export function validateConfig(raw: unknown): ZibratoConfig {
  if (raw === null || raw === undefined) raw = {};
  if (!isObj(raw)) bad('(root)', 'must be a mapping with broker, backends, ingest');
  onlyKeys(raw, '(root)', ['broker', 'backends', 'ingest', 'restart', 'security', 'wal']);
  const brokerRaw = raw.broker ?? {};
  if (!isObj(brokerRaw)) bad('broker', 'must be a mapping with publish and subscribe');
  onlyKeys(brokerRaw, 'broker', ['publish', 'subscribe', 'upstream']);
  if (brokerRaw.upstream !== undefined && typeof brokerRaw.upstream !== 'string') bad('broker.upstream', 'must be one endpoint, the central broker\'s publish endpoint');
  const upstream = brokerRaw.upstream === undefined ? undefined : endpoints(brokerRaw.upstream, 'broker.upstream', '')[0];
  const broker = {
    publish: endpoints(brokerRaw.publish, 'broker.publish', DEFAULT_PUBLISH_ENDPOINT),
    subscribe: endpoints(brokerRaw.subscribe, 'broker.subscribe', DEFAULT_SUBSCRIBE_ENDPOINT),
    ...(upstream === undefined ? {} : { upstream }),
  };
  for (const [i, e] of broker.subscribe.entries()) {
    if (broker.publish.includes(e)) bad(`broker.subscribe[${i}]`, `"${e}" is also a publish endpoint; the two sides need different endpoints`);
  }

  const backendsRaw = raw.backends ?? [];
  if (!Array.isArray(backendsRaw)) bad('backends', 'must be a list');
  const names = new Set<string>();
  const backends = backendsRaw.map((b: unknown, i: number): BackendConfig => {
    const key = `backends[${i}]`;
    if (!isObj(b)) bad(key, 'must be a mapping with name, sink, levels, flush, options');
    onlyKeys(b, key, ['name', 'sink', 'levels', 'flush', 'shard', 'options']);
    if (typeof b.sink !== 'string') bad(`${key}.sink`, 'is required (console, file, …)');
    const spec = wrap(`${key}.sink`, () => sinkSpec(b.sink as string));
    const name = b.name === undefined ? spec.name : b.name;
    if (typeof name !== 'string' || !/^[\w.-]+$/.test(name)) bad(`${key}.name`, 'must be a word of letters, digits, _ . -');
    if (names.has(name)) bad(`${key}.name`, `"${name}" is used by another backend`);
    names.add(name);
    const levelsRaw = b.levels ?? 'info+';
    // parseLevels trusts its argument's type; a YAML number or mapping here would fail inside it with a bare TypeError.
    if (typeof levelsRaw !== 'string' && !(Array.isArray(levelsRaw) && levelsRaw.every((l) => typeof l === 'string'))) {
      bad(`${key}.levels`, `${describeValue(levelsRaw)} is not a level list; use e.g. info+, [info, warn] or all`);
    }
    const levels = wrap(`${key}.levels`, () => parseLevels(levelsRaw));
    const flushIntervalMs = wrap(`${key}.flush`, () => parseDurationMs((b.flush as string | number | undefined) ?? `${DEFAULT_FLUSH_INTERVAL_MS}ms`, 'flush', { min: MIN_FLUSH_INTERVAL_MS }));
    const shard = b.shard === undefined ? undefined : wrap(`${key}.shard`, () => parseShard(b.shard, 'shard'));
    const optsRaw = b.options ?? {};
    if (!isObj(optsRaw)) bad(`${key}.options`, 'must be a mapping');
    const options = wrap(`${key}.options`, () => resolveSinkOptions(spec, optsRaw, `${key}.options`));
    for (const o of spec.options) {
      const v = options[o.key];
      if (o.type === 'number' && v !== undefined) wrap(`${key}.options.${o.key}`, () => parseCount(plainText(v), o.key, sinkNumberLimits(o.key, spec)));
    }
    return { name, sink: spec.name, levels, flushIntervalMs, ...(shard ? { shard: `${shard.index}/${shard.count}` } : {}), options };
  });
  // Two backends appending to one file would interleave their flushes and double-count.
  const writers = new Map<string, string>();
  for (const [i, b] of backends.entries()) {
    const path = b.options[FILE_PATH_OPTION];
    if (typeof path !== 'string') continue;
    const abs = resolvePath(path);
    const other = writers.get(abs);
    if (other !== undefined) bad(`backends[${i}].options.${FILE_PATH_OPTION}`, `"${path}" is also written by backend "${other}"; give each backend its own file`);
    writers.set(abs, b.name);
  }

  const ingestRaw = raw.ingest ?? [];
  if (!Array.isArray(ingestRaw)) bad('ingest', 'must be a list');
  const ingest = ingestRaw.map((g: unknown, i: number): IngestConfig => {
    const key = `ingest[${i}]`;
    if (!isObj(g)) bad(key, 'must be a mapping like { type: statsd, port: 8125 }');
    onlyKeys(g, key, ['type', 'port', 'host', 'defaultLevel']);
    if (g.type !== 'statsd') bad(`${key}.type`, `${describeValue(g.type)} is not a known gateway (statsd)`);
    const port = g.port ?? DEFAULT_STATSD_PORT;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) bad(`${key}.port`, 'must be a port number');
    const host = g.host ?? '127.0.0.1';
    if (typeof host !== 'string') bad(`${key}.host`, 'must be a string');
    const defaultLevel = wrap(`${key}.defaultLevel`, () => parseLevels(plainText(g.defaultLevel ?? 'info'))[0]!);
    return { type: 'statsd', port, host, defaultLevel };
  });

  const restartRaw = raw.restart ?? {};
  if (!isObj(restartRaw)) bad('restart', 'must be a mapping with initialDelay, maxDelay');
  onlyKeys(restartRaw, 'restart', ['initialDelay', 'maxDelay']);
  const restart = {
    initialDelayMs: wrap('restart.initialDelay', () => parseDurationMs((restartRaw.initialDelay as string | undefined) ?? '500ms', 'initialDelay', { min: 1 })),
    maxDelayMs: wrap('restart.maxDelay', () => parseDurationMs((restartRaw.maxDelay as string | undefined) ?? '30s', 'maxDelay', { min: 1 })),
  };
  if (restart.initialDelayMs > restart.maxDelayMs) bad('restart', `initialDelay (${restart.initialDelayMs} ms) is longer than maxDelay (${restart.maxDelayMs} ms)`);
  const walRaw = raw.wal ?? {};
  if (!isObj(walRaw)) bad('wal', 'must be a mapping with dir, enabled');
  onlyKeys(walRaw, 'wal', ['dir', 'enabled']);
  if (walRaw.dir !== undefined && (typeof walRaw.dir !== 'string' || walRaw.dir === '')) bad('wal.dir', 'must be a directory path');
  if (walRaw.enabled !== undefined && typeof walRaw.enabled !== 'boolean') bad('wal.enabled', 'must be true or false');
  const walDir = walRaw.dir as string | undefined;
  const wal = { ...(walDir === undefined ? {} : { dir: walDir }), enabled: walDir !== undefined && walRaw.enabled !== false };
  const security = raw.security === undefined ? undefined : securityConfig(raw.security);
  return { broker, backends, ingest, restart, wal, ...(security ? { security } : {}) };
}

const SECURITY_FILES = ['brokerKeyFile', 'clientKeyFile', 'allowPublishersFile', 'allowSubscribersFile'] as const;

function securityConfig(raw: unknown): SecurityConfig {
  if (!isObj(raw)) bad('security', `must be a mapping with ${SECURITY_FILES.join(', ')}, insecure`);
  onlyKeys(raw, 'security', [...SECURITY_FILES, 'insecure']);
  const security: SecurityConfig = { insecure: false };
  for (const k of SECURITY_FILES) {
    const v = raw[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '') bad(`security.${k}`, 'must be a file path (key values never go in the config)');
    security[k] = v;
  }
  if (raw.insecure !== undefined && typeof raw.insecure !== 'boolean') bad('security.insecure', 'must be true or false');
  security.insecure = raw.insecure === true;
  const keyed = SECURITY_FILES.filter((k) => security[k] !== undefined);
  if (keyed.length > 0 && keyed.length < SECURITY_FILES.length) {
    bad('security', `with CURVE every one of ${SECURITY_FILES.join(', ')} is needed; missing ${SECURITY_FILES.filter((k) => security[k] === undefined).join(', ')}`);
  }
  return security;
}

/** Parses YAML or JSON text (JSON is YAML) and validates it. */
export function parseConfig(text: string, origin = 'config'): ZibratoConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new InvalidOptionError(`${origin}: not valid YAML or JSON: ${(err as Error).message}`, 'ZIB_ERR_INVALID_CONFIG');
  }
  return validateConfig(raw);
}

/** Loads a config file, or the embedded defaults when `path` is undefined. */
export async function loadConfig(path: string | undefined): Promise<ZibratoConfig> {
  if (path === undefined) return parseConfig(DEFAULT_CONFIG_TEXT, 'embedded defaults');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InvalidOptionError(`config file ${path}: ${(err as Error).message}`, 'ZIB_ERR_INVALID_CONFIG');
  }
  return parseConfig(text, path);
}
