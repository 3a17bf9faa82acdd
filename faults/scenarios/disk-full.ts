import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink } from '../../src/sinks/file-sink.js';
import { mountTinyDisk } from '../../test/helpers/peers/tmpfs.js';
import { driveSink, rssMiB } from '../../test/helpers/peers/sink-drive.js';
import { silentlyLost, type Scenario } from '../scenario.js';

const scenario: Scenario = {
  name: 'disk-full',
  description: 'The file sink writes to a 512 KiB tmpfs that fills up (ENOSPC) for a while, then space is freed.',
  async run({ quick }) {
    const disk = mountTinyDisk(512 * 1024);
    const path = join(disk.dir, 'metrics.jsonl');
    const filler = join(disk.dir, 'filler');
    const sink = new FileSink({ path, log: () => undefined });
    const intervalMs = quick ? 50 : 500;
    // About 11 KB a flush: the ~200 KiB left beside the filler fills in ~20 flushes; then the disk stays full for `fullFlushes`.
    const fullFlushes = quick ? 20 : 120;
    let fullSince: number | undefined;
    let freedAt: number | undefined;
    let recoverMs: number | null = null;
    let sentAtFree = 0;
    let peak = 0;
    try {
      writeFileSync(filler, Buffer.alloc(300 * 1024, 120));
      await sink.start();
      const { made } = await driveSink(sink, {
        flushes: 60 + fullFlushes,
        intervalMs,
        pointsPerFlush: 100,
        name: 'fault.disk',
        before: () => {
          peak = Math.max(peak, rssMiB());
          const s = sink.status();
          if (fullSince === undefined && s.dropped > 0) fullSince = Date.now();
          if (freedAt === undefined && fullSince !== undefined && Date.now() - fullSince >= fullFlushes * intervalMs) {
            unlinkSync(filler);
            freedAt = Date.now();
            sentAtFree = s.sent;
          } else if (freedAt !== undefined && recoverMs === null && s.sent > sentAtFree) recoverMs = Date.now() - freedAt;
        },
      });
      await sink.stop();
      if (fullSince === undefined) throw new Error('the disk never filled');
      if (freedAt === undefined) throw new Error('the scenario ended before space was freed');
      const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (text !== '' && !text.endsWith('\n')) throw new Error('the file ends in a torn line');
      const lines = text.split('\n').filter(Boolean);
      for (const l of lines) JSON.parse(l);
      const counted = { 'sink.dropped': sink.status().dropped };
      return {
        made,
        received: lines.length,
        counted,
        silentlyLost: silentlyLost(made, lines.length, counted),
        recoverMs,
        peakRssMiB: Math.max(peak, rssMiB()),
        notes: 'file sink in-process, driven with the backend\'s batches; every line in the file parses (no torn line)',
      };
    } finally {
      await sink.stop();
      disk.unmount();
    }
  },
};
export default scenario;
