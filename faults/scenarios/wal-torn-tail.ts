import { readFileSync, truncateSync } from 'node:fs';
import type { Scenario } from '../scenario.ts';
import { WalRecordType, WriteAheadLog } from '../../src/backend/wal/wal.ts';
import { runKillScenario, walSegments } from '../lib/backend-kill.ts';

/** The type of the log's last whole record (0: none). */
function lastRecordType(walDir: string): number {
  let lastType = 0;
  WriteAheadLog.read(walDir, (type) => (lastType = type));
  return lastType;
}

const scenario: Scenario = {
  name: 'wal-torn-tail',
  description: 'A backend with a write-ahead log is killed with SIGKILL under load and the tail of its last log segment is cut mid-record (as a machine crash after the last fsync would) before the restart.',
  async run({ quick }) {
    let torn = 0;
    const { lines, ...result } = await runKillScenario({
      label: 'wal-torn-tail',
      rate: quick ? 20_000 : 100_000,
      kills: quick ? 2 : 5,
      killEveryMs: quick ? 4000 : 10_000,
      // A kill just after a flush leaves a checkpoint last, which cannot be torn: kill once a message follows it
      // (under npm test's load, both quick kills once found a checkpoint last: "no log tail was cut").
      killWhen: (walDir) => lastRecordType(walDir) === WalRecordType.message,
      damage: (walDir) => {
        const last = walSegments(walDir).at(-1);
        if (last === undefined) return;
        const size = readFileSync(last).length;
        // A few bytes off the last record, if it is a message: a checkpoint is fsynced as it is written, so a crash
        // after the last fsync cannot tear it (a kill just after a flush leaves a segment holding only its checkpoint).
        if (lastRecordType(walDir) === WalRecordType.message) {
          truncateSync(last, size - 7);
          torn++;
        }
      },
    });
    if (torn === 0) throw new Error('no log tail was cut');
    const reported = lines.filter((l) => /corrupt or torn/.test(l)).length;
    return { ...result, notes: `${result.notes}; ${torn} tail(s) cut, ${reported} reported by the restarted backend` };
  },
};
export default scenario;
