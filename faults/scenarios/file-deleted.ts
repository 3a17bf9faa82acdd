import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink } from '../../src/sinks/file-sink.js';
import { driveSink, rssMiB } from '../../test/helpers/peers/sink-drive.js';
import { silentlyLost, type Scenario } from '../scenario.js';

/** Whole rows in a file; a torn line is a failure of the scenario, not a count. */
function rows(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, 'utf8');
  if (text !== '' && !text.endsWith('\n')) throw new Error(`${path} ends in a torn line`);
  const lines = text.split('\n').filter(Boolean);
  for (const l of lines) JSON.parse(l);
  return lines.length;
}

const scenario: Scenario = {
  name: 'file-deleted',
  description: 'The file sink\'s file is deleted (rm) and moved away (rotation) under it, repeatedly, while flushes continue.',
  async run({ quick }) {
    const dir = mkdtempSync(join(tmpdir(), 'zibrato-fault-file-deleted-'));
    const path = join(dir, 'metrics.jsonl');
    const sink = new FileSink({ path, log: () => undefined });
    const flushes = quick ? 40 : 600;
    let received = 0;
    let moved = 0;
    let faultAt: number | undefined;
    let recoverMs = 0;
    let peak = 0;
    try {
      await sink.start();
      const { made } = await driveSink(sink, {
        flushes,
        intervalMs: quick ? 50 : 100,
        pointsPerFlush: 50,
        name: 'fault.file',
        before: (i) => {
          peak = Math.max(peak, rssMiB());
          if (faultAt !== undefined && existsSync(path)) {
            recoverMs = Math.max(recoverMs, Date.now() - faultAt);
            faultAt = undefined;
          }
          if (i > 0 && i % 10 === 0) {
            // Rows already in the file were delivered before the user removed them.
            received += rows(path);
            if ((i / 10) % 2 === 0) unlinkSync(path);
            else renameSync(path, join(dir, `moved-${moved++}.jsonl`));
            faultAt = Date.now();
          }
        },
      });
      await sink.stop();
      received += rows(path);
      const counted = { 'sink.dropped': sink.status().dropped };
      return {
        made,
        received,
        counted,
        silentlyLost: silentlyLost(made, received, counted),
        recoverMs,
        peakRssMiB: Math.max(peak, rssMiB()),
        notes: `file sink in-process, driven with the backend's batches; ${sink.status().reopened} reopens; recovery = longest time from a deletion to the next row written`,
      };
    } finally {
      await sink.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default scenario;
