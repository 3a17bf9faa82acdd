import { join } from 'node:path';
import type { Scenario } from '../scenario.ts';
import { mountTinyDisk } from '../../test/helpers/peers/tmpfs.ts';
import { runKillScenario } from '../lib/backend-kill.ts';

const scenario: Scenario = {
  name: 'wal-disk-full',
  description: 'The write-ahead log lives on a 64 KiB tmpfs that fills up (ENOSPC) under load; the backend is killed with SIGKILL while the disk is full and restarted.',
  async run({ quick }) {
    const disk = mountTinyDisk(64 * 1024);
    const { lines, ...result } = await runKillScenario({
      label: 'wal-disk-full',
      rate: quick ? 20_000 : 100_000,
      kills: quick ? 1 : 3,
      killEveryMs: quick ? 5000 : 15_000,
      walRoot: () => join(disk.dir, 'wal'),
      // Flushes far apart, so the log fills the disk between them.
      backendArgs: ['--flush', '5s'],
      killAfterLine: /ZIB_WAL_DROPPED/,
      cleanup: () => disk.unmount(),
    });
    return { ...result, notes: `${result.notes}; the disk filled before each kill (${lines.filter((l) => /ZIB_WAL_DROPPED/.test(l)).length} reports)` };
  },
};
export default scenario;
