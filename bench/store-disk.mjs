// Where a store's bytes go: the file's blocks (used, free) and, per table and
// column, the bytes of its segments and how DuckDB compressed them. Reads the
// file read-only (stop the store first: DuckDB lets one process open it).
// A segment's size is the distance to the next segment in its block; the last
// segment of a shared block has no such bound and is listed apart, with the
// room left in those blocks.
// usage: node bench/store-disk.mjs <dir>/store.duckdb [points]
import { DuckDBInstance } from '@duckdb/node-api';

const [path, pointsArg] = process.argv.slice(2);
if (!path) {
  process.stderr.write('usage: node bench/store-disk.mjs <dir>/store.duckdb [points]\n');
  process.exit(2);
}
const points = pointsArg ? Number(pointsArg) : undefined;
const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
const c = await instance.connect();
const rows = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJS();
try {
  const [db] = await rows(`SELECT block_size::DOUBLE AS size, total_blocks::DOUBLE AS total, free_blocks::DOUBLE AS free FROM pragma_database_size() WHERE database_name = current_database()`);
  const blockBytes = Number(db.size);
  const segments = [];
  for (const { table_name: table } of await rows(`SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1`)) {
    for (const s of await rows(`SELECT column_name AS col, column_path AS path, segment_type AS type, compression, count::DOUBLE AS n, block_id::DOUBLE AS block, block_offset::DOUBLE AS offset FROM pragma_storage_info('${table}') WHERE block_id >= 0`)) {
      segments.push({ table, ...s, block: Number(s.block), offset: Number(s.offset), n: Number(s.n) });
    }
  }
  segments.sort((a, b) => a.block - b.block || a.offset - b.offset);
  const bytes = new Map();
  let unbounded = 0;
  let tailRoom = 0;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    const next = segments[i + 1];
    // An array's minutes are a child column (path [i, 0]); validity is a segment type of its own, at any depth.
    const key = `${s.table}.${s.col}${s.path.split(',').length > (s.type === 'VALIDITY' ? 2 : 1) ? '[]' : ''} ${s.type === 'VALIDITY' ? '(validity) ' : ''}${s.compression}`;
    let size;
    if (next && next.block === s.block) size = next.offset - s.offset;
    else if (s.offset === 0) size = blockBytes;
    else {
      unbounded++;
      tailRoom += blockBytes - s.offset;
      continue;
    }
    const e = bytes.get(key) ?? { bytes: 0, values: 0 };
    e.bytes += size;
    e.values += s.n;
    bytes.set(key, e);
  }
  const mib = (b) => `${(b / 1048576).toFixed(2)} MiB`;
  const perPoint = (b) => (points ? ` ${(b / points).toFixed(3)} B/point` : '');
  console.log(`file: ${db.total} blocks of ${blockBytes / 1024} KiB (${mib(db.total * blockBytes)}${perPoint(db.total * blockBytes)}), ${db.free} free (${mib(db.free * blockBytes)}${perPoint(db.free * blockBytes)})`);
  for (const [key, e] of [...bytes].sort((a, b) => b[1].bytes - a[1].bytes)) {
    if (e.bytes < 1024) continue;
    console.log(`  ${key.padEnd(44)} ${mib(e.bytes).padStart(11)}${perPoint(e.bytes)}  ${(e.bytes / e.values).toFixed(3)} B/value`);
  }
  console.log(`  last segments of ${unbounded} shared blocks, with the room left in them: ${mib(tailRoom)}${perPoint(tailRoom)}`);
} finally {
  c.closeSync();
  instance.closeSync();
}
