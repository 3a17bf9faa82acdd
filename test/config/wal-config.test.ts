import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { childSpecs } from '../../src/cli/up-command.ts';
import { parseConfig } from '../../src/config/config.ts';
import { ZibratoError } from '../../src/errors.ts';

const BACKEND = 'backends:\n  - { name: f, sink: console }\n';

test('wal.dir in the config gives every backend of zibrato up a write-ahead log under it', () => {
  const config = parseConfig(`${BACKEND}wal:\n  dir: /var/lib/zibrato/wal\n`);
  assert.deepEqual(config.wal, { dir: '/var/lib/zibrato/wal', enabled: true });
  const args = childSpecs(config).find((c) => c.name === 'backend:f')!.args;
  assert.deepEqual(args.slice(args.indexOf('--wal-dir'), args.indexOf('--wal-dir') + 2), ['--wal-dir', '/var/lib/zibrato/wal']);
});

test('wal.enabled: false turns the log off even with a directory', () => {
  const config = parseConfig(`${BACKEND}wal: { dir: ./wal, enabled: false }\n`);
  assert.equal(config.wal.enabled, false);
  assert.ok(!childSpecs(config).some((c) => c.args.includes('--wal-dir')));
});

test('an unknown wal key is refused with the key named', () => {
  assert.throws(() => parseConfig(`${BACKEND}wal: { directory: ./wal }\n`), (e: unknown) => e instanceof ZibratoError && /wal/.test(e.message));
});
