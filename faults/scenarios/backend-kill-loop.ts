import type { Scenario } from '../scenario.ts';
import { runKillScenario } from '../lib/backend-kill.ts';

const scenario: Scenario = {
  name: 'backend-kill-loop',
  description: 'Under load a backend with a write-ahead log is killed with SIGKILL every 10 s (quick: 4 s) and restarted at once on the same log and file.',
  knownDefect:
    'issue 13: under CPU load a small share of the records around each kill is neither received nor counted (full run: 15,499 of 13,099,900; quick under npm test load: 760 of 259,820); the quick run alone loses none, so the cause is a race not yet found',
  async run({ quick }) {
    const { lines: _lines, ...result } = await runKillScenario({ label: 'backend-kill-loop', rate: quick ? 20_000 : 100_000, kills: quick ? 2 : 12, killEveryMs: quick ? 4000 : 10_000 });
    return result;
  },
};
export default scenario;
