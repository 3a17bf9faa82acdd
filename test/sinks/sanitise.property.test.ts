import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { GraphiteTransport, type GraphiteTagStyle } from '../../src/sinks/graphite-sink.js';
import { PromState } from '../../src/sinks/prometheus-state.js';
import { renderExposition } from '../../src/sinks/prometheus-text.js';
import { StatsdTransport } from '../../src/sinks/statsd-sink.js';
import type { MetricPoint } from '../../src/sinks/sink.js';
import { promtoolCheckMetrics } from '../helpers/peers/promtool.js';
import { batchAt, counter, gauge, timer } from './fixtures.js';

/**
 * Names, sources and tags made of the characters that could inject a line,
 * field, tag or label into a text protocol, mixed with ordinary ones and with
 * arbitrary Unicode (lone surrogates and control characters included).
 */
const hostile = fc.oneof(
  fc.string({ unit: fc.constantFrom('\n', '\r', ':', '|', '#', '=', ',', ' ', '\t', ';', '~', '@', '"', '\\', '{', '}', '.', '\u0085', '\u2028', '\u001f', '\u00a0', 'a', 'B', '7', '_', '-'), maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const tags = fc.dictionary(hostile, hostile, { maxKeys: 4 });
const point = fc.record({ type: fc.constantFrom('counter', 'gauge', 'timer'), name: hostile, source: hostile, tags }).map(({ type, name, source, tags }): MetricPoint => {
  const opts = { source, tags };
  return type === 'counter' ? counter(name, 3, opts) : type === 'gauge' ? gauge(name, -2.5, opts) : timer(name, opts);
});

/** Carbon splits a line into fields on whitespace as Python's str.split() does. */
const PY_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

describe('sanitising: no name, source or tag can inject into a text protocol', () => {
  test('statsd: every point becomes exactly its intended lines, each `key:value|type` with a well-formed tag section', () => {
    for (const style of ['path', 'dogstatsd'] as const) {
      const t = new StatsdTransport({ host: '127.0.0.1', port: 1, protocol: 'tcp', mtuBytes: 1432, prefix: 'p', tags: style, timeoutMs: 1_000 });
      fc.assert(
        fc.property(point, (p) => {
          const { payloads, rejected } = t.encode(batchAt([p]));
          const text = payloads.map((x) => x.body.toString()).join('');
          const lines = text.split('\n').filter((l) => l !== '');
          const negativeGauges = p.type === 'gauge' ? 1 : p.type === 'timer' ? 0 : 0;
          const expected = p.type === 'counter' ? 1 : p.type === 'gauge' ? 1 + negativeGauges : 10;
          assert.equal(lines.length + rejected.length * expected, expected, text);
          for (const l of lines) assert.match(l, /^[A-Za-z0-9_.-]+:-?[0-9.e+-]+\|[cg](\|#[A-Za-z0-9_-]+:[^,|#\s]*(,[A-Za-z0-9_-]+:[^,|#\s]*)*)?$/u, JSON.stringify(l));
        }),
        { numRuns: 300 },
      );
    }
  });

  test('graphite: every point becomes exactly its intended lines of three fields, `name value timestamp`', () => {
    for (const style of ['graphite', 'path'] as GraphiteTagStyle[]) {
      const t = new GraphiteTransport({ host: '127.0.0.1', port: 1, prefix: 'p', tags: style, timeoutMs: 1_000 });
      fc.assert(
        fc.property(point, (p) => {
          const { payloads, rejected } = t.encode(batchAt([p]));
          const text = payloads.map((x) => x.body.toString()).join('');
          const lines = text.split('\n').filter((l) => l !== '');
          const expected = p.type === 'counter' ? 2 : p.type === 'gauge' ? 1 : 10;
          assert.equal(lines.length + rejected.length * expected, expected, text);
          for (const l of lines) {
            const fields = l.split(PY_WHITESPACE);
            assert.equal(fields.length, 3, JSON.stringify(l));
            assert.match(fields[0]!, /^[A-Za-z0-9_.-]+(;[^;!^=\s]+=[^;~\s][^;\s]*)*$/u, JSON.stringify(l));
            assert.match(fields[2]!, /^\d+$/);
          }
        }),
        { numRuns: 300 },
      );
    }
  });

  test('prometheus: every exposition line is a HELP, TYPE or sample line, with exactly the intended samples', () => {
    fc.assert(
      fc.property(point, (p) => {
        const state = new PromState('');
        const { touched, rejected } = state.apply(batchAt([p]));
        const text = renderExposition(state.families());
        const lines = text.split('\n').filter((l) => l !== '');
        const samples = lines.filter((l) => !l.startsWith('#'));
        assert.equal(samples.length, touched.length === 0 ? 0 : p.type === 'timer' ? 6 : 1, text);
        assert.equal(touched.length + rejected.length, 1);
        for (const l of lines) {
          if (l.startsWith('# HELP ')) assert.match(l, /^# HELP [a-zA-Z_][a-zA-Z0-9_]* ([^\\\n]|\\\\|\\n)*$/u, JSON.stringify(l));
          else if (l.startsWith('# TYPE ')) assert.match(l, /^# TYPE [a-zA-Z_][a-zA-Z0-9_]* (counter|gauge|summary)$/, JSON.stringify(l));
          else assert.match(l, /^[a-zA-Z_][a-zA-Z0-9_]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\\\|\\"|\\n)*")*\})? -?[0-9.e+-]+$/u, JSON.stringify(l));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('prometheus: promtool parses an exposition of hostile names, sources and tags', () => {
    const points = fc.sample(point, { numRuns: 200, seed: 42 });
    const state = new PromState('');
    state.apply(batchAt(points));
    const text = renderExposition(state.families());
    const check = promtoolCheckMetrics(text);
    // Exit 3 is a lint finding about a user's naming (camelCase, `_count` on a gauge); 1 is a parse error.
    assert.ok(check.status === 0 || check.status === 3, `${check.output}\n${text.slice(0, 2000)}`);
    assert.doesNotMatch(check.output, /parsing error|error while linting/);
  });
});
