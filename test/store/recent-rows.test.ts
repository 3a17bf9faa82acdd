import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecentRows, VALUE_COLUMNS } from '../../src/store/recent-rows.ts';

const MINUTE = 60_000;

/** What a series' kept rows must be: every row added at or after `from`, by time, rows of equal time in the order added. */
type Row = { id: number; t: number; values: number[] };

const rowArb = fc.record({
  id: fc.integer({ min: 1, max: 3 }),
  t: fc.integer({ min: 0, max: 40 }).map((m) => m * MINUTE),
  // NaN stands for NULL: a column appears with its first value and is NaN before it.
  values: fc.array(fc.oneof(fc.constant(NaN), fc.integer({ min: -50, max: 50 })), { minLength: 5, maxLength: 5 }),
});

const opArb = fc.oneof(
  { weight: 8, arbitrary: rowArb.map((row) => ({ kind: 'add' as const, row })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 45 }).map((m) => ({ kind: 'trim' as const, before: m * MINUTE })) },
);

test('rows kept in memory are every row added since the last trim, per series in time order, and the count of numbers kept stays exact and within the budget', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 10 }).map((m) => m * MINUTE), (ops, budget, from0) => {
      const kept = new RecentRows(budget, from0);
      let model: Row[] = [];
      for (const op of ops) {
        if (op.kind === 'add') {
          kept.add(op.row.id, op.row.t, op.row.values, 0);
          if (op.row.t >= kept.from) model.push(op.row);
          kept.fit();
        } else kept.trim(op.before);
        model = model.filter((r) => r.t >= kept.from);
        assert.ok(kept.numbers <= budget, `${kept.numbers} numbers kept, budget ${budget}`);
      }
      let numbers = 0;
      for (const id of [1, 2, 3]) {
        const expected = model.filter((r) => r.id === id).sort((a, b) => a.t - b.t);
        const e = kept.of(id);
        if (expected.length === 0) {
          assert.equal(e, undefined);
          continue;
        }
        assert.ok(e);
        assert.deepEqual(e.t, expected.map((r) => r.t));
        numbers += e.t.length;
        VALUE_COLUMNS.forEach((name, k) => {
          const col = expected.map((r) => r.values[k]!);
          // A column is dropped only with its series: one that once had a value stays, NaN where rows had none.
          if (e[name] === undefined) assert.ok(col.every(Number.isNaN), `${name} of series ${id} missing`);
          else {
            assert.deepEqual(e[name], col);
            numbers += col.length;
          }
        });
      }
      assert.equal(kept.numbers, numbers);
    }),
    { numRuns: 300 },
  );
});

test('a series marked stale is read from memory only from the end of its stale minute, until the kept rows start past it', () => {
  const kept = new RecentRows(1000, 0);
  for (let m = 0; m < 10; m++) kept.add(1, m * MINUTE, [NaN, NaN, NaN, NaN, m], 0);
  kept.markStale([1], 6 * MINUTE);
  assert.equal(kept.fromFor([1]), 6 * MINUTE);
  assert.equal(kept.fromFor([2]), 0, 'other series are not affected');
  assert.equal(kept.fromFor([2, 1]), 6 * MINUTE, 'a query of both reads memory only where both are right');
  kept.trim(7 * MINUTE);
  assert.equal(kept.fromFor([1]), 7 * MINUTE);
});

test('with a budget of 0 nothing is kept and no series is ever read from memory', () => {
  const kept = new RecentRows(0, 0);
  kept.add(1, MINUTE, [1, NaN, NaN, NaN, 1], 0);
  assert.equal(kept.of(1), undefined);
  assert.equal(kept.fromFor([1]), Infinity);
});

test('rows read back from the table go before the kept ones, each series in time order, and are refused when the table changed where they were read from during the read', () => {
  const nan = NaN;
  const fresh = () => {
    const kept = new RecentRows(1000, 10 * MINUTE);
    kept.add(1, 10 * MINUTE, [nan, nan, nan, nan, 10], 0);
    return kept;
  };
  // Read back in table order (not by time), with a column the kept rows do not have.
  const read = [[1, 2, 1], [8 * MINUTE, 9 * MINUTE, 9 * MINUTE], [[nan, 5, nan]], [[nan, nan, nan]], [[nan, nan, nan]], [[nan, nan, 3]], [[8, 2, 9]]] as const;
  const args = (kept: RecentRows, stamp = kept.beginRead()) => [stamp, 8 * MINUTE, read[0], read[1], [read[2][0], read[3][0], read[4][0], read[5][0], read[6][0]]] as const;

  const kept = fresh();
  assert.equal(kept.prepend(...args(kept)), true);
  assert.equal(kept.from, 8 * MINUTE);
  assert.deepEqual({ ...kept.of(1) }, { t: [8 * MINUTE, 9 * MINUTE, 10 * MINUTE], sum: undefined, count: undefined, min: undefined, max: [nan, 3, nan], last: [8, 9, 10] });
  assert.deepEqual(kept.of(2)?.t, [9 * MINUTE]);
  assert.equal(kept.numbers, 3 + 3 + 3 + 1 + 1 + 1);

  for (const change of [(k: RecentRows) => k.add(1, 9 * MINUTE, [nan, nan, nan, nan, 1], 0), (k: RecentRows) => k.markStale([1], 9 * MINUTE), (k: RecentRows) => k.trim(9 * MINUTE), (k: RecentRows) => k.trim(11 * MINUTE)]) {
    const k = fresh();
    const stamp = k.beginRead();
    change(k);
    assert.equal(k.prepend(...args(k, stamp)), false, String(change));
    assert.ok(k.from >= 10 * MINUTE);
  }
  // A change below the rows read (retention deleting older rows) leaves the read as it is.
  const k = fresh();
  const stamp = k.beginRead();
  k.trim(5 * MINUTE);
  k.add(1, 7 * MINUTE, [nan, nan, nan, nan, 1], 0);
  assert.equal(k.prepend(...args(k, stamp)), true);
});

test('a read back begun while a change of the rows it reads is being committed is refused, even when it ends before the commit returns', () => {
  const kept = new RecentRows(1000, 10 * MINUTE);
  kept.add(1, 10 * MINUTE, [NaN, NaN, NaN, NaN, 10], 0);
  // A day compacted: its commit is visible to the read (part of the rows gone) before the committing side hears it returned.
  const committed = kept.changing(0, 10 * MINUTE);
  const stamp = kept.beginRead();
  assert.equal(kept.prepend(stamp, 8 * MINUTE, [1], [9 * MINUTE], [[NaN], [NaN], [NaN], [NaN], [9]]), false);
  committed();
  // Begun once the commit returned, a read is kept.
  const after = kept.beginRead();
  assert.equal(kept.prepend(after, 8 * MINUTE, [1], [9 * MINUTE], [[NaN], [NaN], [NaN], [NaN], [9]]), true);
});
