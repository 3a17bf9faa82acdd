import type { Scenario } from '../scenario.ts';
import { runKillScenario } from '../lib/backend-kill.ts';

const scenario: Scenario = {
  name: 'backend-kill-loop',
  description: 'Under load a backend with a write-ahead log is killed with SIGKILL every 10 s (quick: 4 s) and restarted at once on the same log and file.',
  async run({ quick }) {
    const { lines: _lines, ...result } = await runKillScenario({ label: 'backend-kill-loop', rate: quick ? 20_000 : 100_000, kills: quick ? 2 : 12, killEveryMs: quick ? 4000 : 10_000 });
    return result;
  },
};
export default scenario;
