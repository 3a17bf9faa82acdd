import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHART_KEYS, LEVELS, PRESETS, VIEWS, emptyState, formatState, fromDashboard, parseState, queryParams, toDashboard } from '../../web/state.js';

// Any text, including '&', '=', '%', '+', '#', spaces and non-ASCII: URL encoding must carry it.
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const query = fc
  .record({ name: text.filter((s) => s !== ''), stat: text, level: fc.constantFrom('', ...LEVELS), source: text, tag: text, groupBy: text, top: fc.constantFrom('', '5', '20') }, { requiredKeys: ['name'], noNullPrototype: true })
  .map((q) => Object.fromEntries(CHART_KEYS.flatMap((k) => (q[k as keyof typeof q] ? [[k, q[k as keyof typeof q]]] : [])))) as fc.Arbitrary<Record<string, string>>;
const range = fc.oneof(
  fc.constantFrom(...PRESETS).map((since) => ({ since })),
  fc.tuple(fc.integer({ min: 0, max: 2e12 }), fc.integer({ min: 1, max: 1e9 }), fc.constantFrom(...PRESETS)).map(([from, len, resume]) => ({ from, to: from + len, resume })),
);
const viewState = fc.record({
  view: fc.constantFrom(...VIEWS),
  dashboard: text,
  range,
  search: fc.record({ q: text, level: fc.constantFrom('', ...LEVELS), source: text, tag: text, type: fc.constantFrom('', 'counter', 'gauge', 'timer', 'set') }, { noNullPrototype: true }),
  charts: fc.array(fc.record({ title: text, query }, { noNullPrototype: true }), { maxLength: 5 }),
}, { noNullPrototype: true });

describe('web view state in the URL', () => {
  test('any view reads back the same after formatting it into a URL', () => {
    fc.assert(fc.property(viewState, (s) => assert.deepEqual(parseState(formatState(s)), s)));
  });

  test('the default view is the bare URL', () => {
    assert.equal(formatState(emptyState()), '');
    assert.deepEqual(parseState(''), emptyState());
  });

  test('malformed parameters fall back to defaults instead of failing', () => {
    fc.assert(
      fc.property(fc.string(), (junk) => {
        const s = parseState(junk);
        assert.ok(VIEWS.includes(s.view));
        assert.ok('since' in s.range ? /^\d+(ms|s|m|h|d|w)$/.test(s.range.since) : s.range.from < s.range.to);
        assert.ok(s.charts.every((c) => c.query.name));
      }),
    );
    assert.deepEqual(parseState('?from=5&to=3&view=nope&c=stat%3Dp99').range, { since: '1h' });
  });

  test('a chart query becomes /api/query parameters with one tag parameter per k:v', () => {
    const p = queryParams({ name: 'db.query', tag: 'route:/a, region:eu', stat: 'p50' }, { since: '5m' });
    assert.equal(p.toString(), 'name=db.query&stat=p50&tag=route%3A%2Fa&tag=region%3Aeu&since=5m');
    assert.equal(queryParams({ name: 'x' }, { from: 1000.4, to: 2000, resume: '1h' }).toString(), 'name=x&from=1000&to=2000');
  });

  test('a dashboard body reads back as the charts and range it was made from', () => {
    fc.assert(
      fc.property(viewState, text.filter((n) => n !== ''), (s, name) => {
        const d = fromDashboard(JSON.parse(JSON.stringify(toDashboard(name, s))));
        assert.equal(d.name, name);
        assert.deepEqual(d.charts, s.charts);
        assert.deepEqual(d.range, 'since' in s.range ? s.range : { ...s.range, resume: '1h' });
      }),
    );
  });

  test('an imported file that is not a dashboard is refused with a message saying what is expected', () => {
    for (const bad of [null, 42, {}, { name: 'x' }, { name: 'x', charts: [{}] }, { name: 'x', charts: [{ query: { stat: 'p99' } }] }]) {
      assert.throws(() => fromDashboard(bad), /not a dashboard/);
    }
  });
});
