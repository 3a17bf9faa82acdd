import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpBrokerEndpoints } from '../helpers/ports.ts';
import { eventually, stopAll, zibrato } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';

after(stopAll);

async function run(args: string[]): Promise<{ code: number | null; out: string }> {
  const p = zibrato(args);
  const { code } = await p.exited;
  return { code, out: p.lines.join('\n') };
}

test('--help explains every subcommand and shows defaults', async () => {
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['up', 'broker', 'backend', 'ingest', 'tail', 'send']) assert.match(top.out, new RegExp(`\\n  ${cmd}\\b`), `${cmd} listed`);
  const broker = await run(['broker', '--help']);
  assert.match(broker.out, /tcp:\/\/127\.0\.0\.1:5550/);
  assert.match(broker.out, /High-water marks/);
  const file = await run(['backend', 'file', '--help']);
  assert.match(file.out, /--levels <levels>.*\n?.*default: "info\+"/s);
  assert.match(file.out, /--path <value>[\s\S]*default:\s+"\.\/zibrato-data\/metrics\.jsonl"/);
  const up = await run(['up', '--help']);
  assert.match(up.out, /Embedded defaults/);
});

test('zibrato send delivers one record, and fails loudly when nobody listens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-send-'));
  const ep = await tcpBrokerEndpoints();
  const file = join(dir, 'm.jsonl');
  const broker = zibrato(['broker', '--publish', ep.publish, '--subscribe', ep.subscribe]);
  await broker.waitFor(/broker up/);
  const backend = zibrato(['backend', 'file', '--levels', 'info', '--flush', '1s', '--broker', ep.subscribe, '--path', file]);
  await backend.waitFor(/subscribed/);

  const sent = await run(['send', '--broker', ep.publish, '--level', 'info', '--type', 'counter', '--name', 'backups.done', '--value', '3', '--source', 'cron', '--tag', 'host=db1']);
  assert.equal(sent.code, 0, sent.out);
  await eventually(() => counterTotal(readRows(file), 'backups.done', 'cron') === 3, 'the sent record');
  assert.deepEqual(readRows(file).find((r) => r.name === 'backups.done')?.tags, { host: 'db1' });

  const nobody = await run(['send', '--broker', ep.publish, '--level', 'crit', '--name', 'x', '--timeout', '1000']);
  assert.equal(nobody.code, 1);
  assert.match(nobody.out, /no subscriber for level crit/);

  const bad = await run(['send', '--broker', ep.publish, '--name', 'x', '--value', 'NaN']);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /ZIB_ERR_INVALID_VALUE: --value: "NaN" is not a finite number/);
});
