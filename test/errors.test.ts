import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../src/errors.ts';
import { ROOT } from './helpers/processes.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('docs/errors.md lists every error code and every diagnostic code the source uses', () => {
  const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  for (const code of Object.keys(ERROR_CODES)) assert.ok(doc.includes(`\`${code}\``), `${code} is not documented`);
  const used = new Set<string>();
  for (const f of sourceFiles(join(ROOT, 'src'))) for (const m of readFileSync(f, 'utf8').matchAll(/'(ZIB_[A-Z_]+)'/g)) used.add(m[1]!);
  for (const code of used) assert.ok(doc.includes(`\`${code}\``), `${code} is used in src/ but not documented in docs/errors.md`);
});

test('every documented ZIB_ERR code exists', () => {
  const doc = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
  for (const m of doc.matchAll(/`(ZIB_ERR_[A-Z_]+)`/g)) assert.ok(m[1]! in ERROR_CODES, `${m[1]} is documented but not in ERROR_CODES`);
});
