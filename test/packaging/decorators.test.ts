import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { program, ROOT, stopAll } from '../helpers/processes.ts';
import { consumerProject, TSC } from './helpers.ts';

after(stopAll);

const APP = readFileSync(join(ROOT, 'test/packaging/fixtures/decorated-app.ts'), 'utf8');
const EXPECTED = { results: [1, 2, 'A', 'B', 'C'], timerCount: 2, counterValue: 6 };

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  const p = program(cmd, args, `${cmd} ${args.at(-3) ?? ''}`, env);
  const { code } = await p.exited;
  assert.equal(code, 0, p.lines.join('\n'));
  return p.lines.join('\n');
}

for (const experimentalDecorators of [false, true]) {
  const mode = experimentalDecorators ? 'experimentalDecorators' : 'TC39 decorators';
  describe(`@z.timeMe and @z.countMe under ${mode}`, () => {
    const dir = consumerProject(experimentalDecorators ? 'legacy-decorators' : 'tc39-decorators', { experimentalDecorators, skipLibCheck: true }, { 'app.ts': APP });

    test(`compiled by tsc, they record every call`, async () => {
      await run(process.execPath, [TSC, '-p', dir]);
      const ep = await tcpBrokerEndpoints();
      const out = await run(process.execPath, [join(dir, 'out/app.js'), ep.publish, ep.subscribe]);
      assert.deepEqual(JSON.parse(out.split('\n').at(-1)!), EXPECTED);
    });

    test(`run by tsx, they record every call`, async () => {
      const ep = await tcpBrokerEndpoints();
      const out = await run(process.execPath, ['--import', 'tsx', join(dir, 'app.ts'), ep.publish, ep.subscribe], { TSX_TSCONFIG_PATH: join(dir, 'tsconfig.json') });
      assert.deepEqual(JSON.parse(out.split('\n').at(-1)!), EXPECTED);
    });
  });
}
