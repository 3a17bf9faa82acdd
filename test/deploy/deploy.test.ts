import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort, freeUdpPort } from '../helpers/ports.ts';
import { BIN, eventually, program, ROOT, stopAll, zibrato } from '../helpers/processes.ts';
import { counterTotal, readRows } from '../helpers/jsonl.ts';

after(stopAll);

const SYSTEMD = join(ROOT, 'deploy/systemd');
const SUPERVISORD_CONF = join(ROOT, 'deploy/supervisord/zibrato.conf');
/** The units as systemctl would load them; the template with an instance name. */
const UNITS: [file: string, as: string][] = [
  ['zibrato-broker.service', 'zibrato-broker.service'],
  ['zibrato-backend@.service', 'zibrato-backend@file.service'],
  ['zibrato-ingest-statsd.service', 'zibrato-ingest-statsd.service'],
];
const MAX_EXPOSURE = 4.0;

async function output(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const p = program(cmd, args, `${cmd} ${args[0]}`);
  const { code } = await p.exited;
  return { code, out: p.lines.join('\n') };
}

describe('deploy/systemd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zibrato-units-'));
  for (const [file, as] of UNITS) copyFileSync(join(SYSTEMD, file), join(dir, file));

  for (const [file, as] of UNITS) {
    test(`${file} passes systemd-analyze verify without a warning about it`, async () => {
      const r = await output('systemd-analyze', ['verify', join(dir, as)]);
      assert.equal(r.code, 0, r.out);
      // verify also reports unrelated units of this machine; only lines about ours count.
      assert.deepEqual(r.out.split('\n').filter((l) => l.includes('zibrato')), [], r.out);
    });

    test(`${file} needs no user created by hand and is hardened to an exposure of at most ${MAX_EXPOSURE}`, async () => {
      const text = readFileSync(join(SYSTEMD, file), 'utf8');
      assert.match(text, /^DynamicUser=yes$/m);
      assert.match(text, /^StateDirectory=zibrato$/m);
      assert.doesNotMatch(text, /^User=/m);
      const r = await output('systemd-analyze', ['security', '--offline=true', join(dir, as)]);
      const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(r.out);
      assert.ok(m, r.out);
      assert.ok(Number(m[1]) <= MAX_EXPOSURE, `exposure ${m[1]} > ${MAX_EXPOSURE}\n${r.out}`);
    });
  }
});

describe('deploy/supervisord', () => {
  test('every program names its endpoints explicitly', () => {
    const commands = readFileSync(SUPERVISORD_CONF, 'utf8').split('\n').filter((l) => l.startsWith('command='));
    assert.equal(commands.length, 4);
    for (const c of commands) assert.match(c, /--(broker|publish) tcp:\/\/127\.0\.0\.1:\d+/, c);
  });

  test('the shipped config runs under a real supervisord, carries a record to the file, and stops with a final flush', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zibrato-supervisord-'));
    const [pub, sub, statsd] = [await freeTcpPort(), await freeTcpPort(), await freeUdpPort()];
    const file = join(dir, 'metrics.jsonl');
    // A copy with free ports, this checkout's bin/zibrato.js and a temporary state directory; nothing else changes.
    const conf = readFileSync(SUPERVISORD_CONF, 'utf8')
      .replaceAll('tcp://127.0.0.1:5550', `tcp://127.0.0.1:${pub}`)
      .replaceAll('tcp://127.0.0.1:5551', `tcp://127.0.0.1:${sub}`)
      .replaceAll('--port 8125', `--port ${statsd}`)
      .replaceAll('command=zibrato ', `command=${process.execPath} ${BIN} `)
      .replaceAll('/var/lib/zibrato/metrics.jsonl', file);
    writeFileSync(join(dir, 'zibrato.conf'), conf);
    // What Debian's /etc/supervisor/supervisord.conf provides, in the temporary directory.
    writeFileSync(
      join(dir, 'supervisord.conf'),
      `[supervisord]\nnodaemon=true\nlogfile=${dir}/supervisord.log\npidfile=${dir}/supervisord.pid\nchildlogdir=${dir}\n\n[include]\nfiles = ${dir}/zibrato.conf\n`,
    );
    const sup = program('supervisord', ['-n', '-c', join(dir, 'supervisord.conf')], 'supervisord');
    await eventually(() => ['zibrato-broker', 'zibrato-backend-file', 'zibrato-backend-console', 'zibrato-ingest-statsd'].every((n) => sup.lines.some((l) => l.includes(`success: ${n} entered RUNNING`))), 'every program to be RUNNING', 30_000);

    // send waits until a backend subscribes to debug (the file backend), then delivers.
    const send = zibrato(['send', '--broker', `tcp://127.0.0.1:${pub}`, '--level', 'debug', '--name', 'deploy.check', '--value', '5', '--timeout', '20s']);
    assert.equal((await send.exited).code, 0, send.lines.join('\n'));

    // The file backend flushes every 10 s; stopping supervisord must still leave the record in the file.
    const { code } = await sup.stop('SIGTERM', 60_000);
    assert.equal(code, 0, sup.lines.join('\n'));
    assert.equal(counterTotal(readRows(file), 'deploy.check'), 5, sup.lines.join('\n'));
    for (const n of ['zibrato-broker', 'zibrato-backend-file', 'zibrato-backend-console', 'zibrato-ingest-statsd']) {
      assert.ok(sup.lines.some((l) => new RegExp(`stopped: ${n} \\(exit status 0\\)`).test(l)), `${n} did not stop cleanly:\n${sup.lines.join('\n')}`);
    }
    const backendLog = readdirSync(dir).find((f) => f.startsWith('zibrato-backend-file-stdout'));
    assert.ok(backendLog, `no child log in ${dir}: ${readdirSync(dir).join(', ')}`);
    assert.match(readFileSync(join(dir, backendLog), 'utf8'), /stopped after a final flush/);
  });
});
