import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import { sinkSpecs } from '../../src/sinks/registry.js';

const doc = readFileSync(new URL('../../docs/sinks.md', import.meta.url), 'utf8');

test('every backend config example in docs/sinks.md parses and validates', () => {
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => b.startsWith('backends:'));
  assert.ok(blocks.length >= 7);
  const saved = { ...process.env };
  // The credential examples read these from the environment.
  Object.assign(process.env, { LIBRATO_EMAIL: 'a@b.c', LIBRATO_TOKEN: 'tok', APPOPTICS_TOKEN: 'tok' });
  try {
    const sinks = blocks.map((b) => parseConfig(b, 'docs/sinks.md').backends[0]!.sink);
    for (const name of ['statsd', 'graphite', 'prometheus', 'prometheus-remote-write', 'otlp', 'librato', 'appoptics']) assert.ok(sinks.includes(name), `no example for ${name}`);
  } finally {
    for (const k of ['LIBRATO_EMAIL', 'LIBRATO_TOKEN', 'APPOPTICS_TOKEN']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
});

test('every registered sink has a section in docs/sinks.md', () => {
  for (const s of sinkSpecs()) if (!['console', 'file', 'memory'].includes(s.name)) assert.match(doc, new RegExp(`^## ${s.name}\\b`, 'm'), s.name);
});
