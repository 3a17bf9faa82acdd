import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeTcpPort } from '../ports.js';
import { PeerProcess, waitForTcp } from './process.js';

const run = promisify(execFile);

export const CARBON_CACHE = '/usr/bin/carbon-cache';

/** Reads whisper values back through Carbon's own path encoding (tagged series are hashed under _tagged/). */
const FETCH_PY = `
import json, os, sys, whisper
from carbon.util import TaggedSeries
root, req = sys.argv[1], json.loads(sys.argv[2])
out = {}
for name, ts in req:
    path = TaggedSeries.encode(TaggedSeries.parse(name).path, os.sep, hash_only=True) if ';' in name else name.replace('.', os.sep)
    f = os.path.join(root, path + '.wsp')
    if not os.path.exists(f):
        out[name] = None
        continue
    (start, end, step), values = whisper.fetch(f, ts - 1, ts + 1)
    v = None
    for i, x in enumerate(values):
        if start + i * step == ts:
            v = x
    out[name] = v
print(json.dumps(out))
`;

/** Sums every stored value in [from, to] of the plain (untagged) series whose path has a segment `segment`, under `prefix`. */
const SUM_PY = `
import json, os, sys, whisper
root, prefix, segment, start, end = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
total = 0.0
base = os.path.join(root, *prefix.split('.'))
for d, _, files in os.walk(base):
    for f in files:
        p = os.path.join(d, f)
        if not f.endswith('.wsp') or segment not in os.path.relpath(p, root)[:-4].split(os.sep):
            continue
        (_, _, _), values = whisper.fetch(p, start - 1, end + 1)
        total += sum(v for v in values if v is not None)
print(json.dumps(total))
`;

/** A real carbon-cache on free ports, storing 1-second whisper files in `dir`. */
export class CarbonPeer {
  private proc: PeerProcess | undefined;
  private constructor(readonly dir: string, readonly linePort: number, private readonly pickletPort: number, private readonly queryPort: number) {}

  /** `schemas`: extra storage-schemas.conf sections, matched before the 1-second default. */
  static async create(dir: string, schemas = ''): Promise<CarbonPeer> {
    const peer = new CarbonPeer(dir, await freeTcpPort(), await freeTcpPort(), await freeTcpPort());
    for (const d of ['storage/whisper', 'whitelists', 'log', 'pid']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(
      join(dir, 'carbon.conf'),
      [
        '[cache]',
        `STORAGE_DIR = ${dir}/storage`,
        `LOCAL_DATA_DIR = ${dir}/storage/whisper`,
        `WHITELISTS_DIR = ${dir}/whitelists`,
        `CONF_DIR = ${dir}`,
        `LOG_DIR = ${dir}/log`,
        `PID_DIR = ${dir}/pid`,
        'ENABLE_LOGROTATION = False',
        'USER =',
        'MAX_CACHE_SIZE = inf',
        'MAX_UPDATES_PER_SECOND = 100000',
        'MAX_CREATES_PER_MINUTE = inf',
        'LINE_RECEIVER_INTERFACE = 127.0.0.1',
        `LINE_RECEIVER_PORT = ${peer.linePort}`,
        'ENABLE_UDP_LISTENER = False',
        'PICKLE_RECEIVER_INTERFACE = 127.0.0.1',
        `PICKLE_RECEIVER_PORT = ${peer.pickletPort}`,
        'CACHE_QUERY_INTERFACE = 127.0.0.1',
        `CACHE_QUERY_PORT = ${peer.queryPort}`,
        // No graphite-web here to hold a tag database; tagged series are still stored.
        'ENABLE_TAGS = False',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'storage-schemas.conf'), `${schemas}[all]\npattern = .*\nretentions = 1s:6h\n`);
    return peer;
  }

  /** Starts carbon-cache in the foreground (`--debug` keeps it attached) and waits for its line port. */
  async start(): Promise<void> {
    this.proc = new PeerProcess(CARBON_CACHE, [`--config=${join(this.dir, 'carbon.conf')}`, '--debug', 'start']);
    await waitForTcp(this.linePort, this.proc);
  }

  async stop(): Promise<void> {
    await this.proc?.kill();
  }

  get log(): string {
    return this.proc?.log ?? '';
  }

  /** Sum of the values stored in [fromSec, toSec] of plain-path series under `prefix` with a path segment `segment` (e.g. `count`). */
  async sumRange(prefix: string, segment: string, fromSec: number, toSec: number): Promise<number> {
    const { stdout } = await run('/usr/bin/python3', ['-c', SUM_PY, join(this.dir, 'storage/whisper'), prefix, segment, String(fromSec), String(toSec)]);
    return JSON.parse(stdout) as number;
  }

  /** The stored value of each series at `tsSec` (null when absent). */
  async fetch(names: string[], tsSec: number): Promise<Record<string, number | null>> {
    const { stdout } = await run('/usr/bin/python3', ['-c', FETCH_PY, join(this.dir, 'storage/whisper'), JSON.stringify(names.map((n) => [n, tsSec]))]);
    return JSON.parse(stdout) as Record<string, number | null>;
  }
}
