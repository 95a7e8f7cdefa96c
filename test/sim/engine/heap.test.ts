import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EventHeap } from '../../../src/sim/engine/heap.ts';

/** Pops everything, returning [time, payload] pairs. */
function drain(h: EventHeap): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  while (h.size > 0) {
    const p = h.pop();
    out.push([h.lastTime, p]);
  }
  return out;
}

test('pops in time order', () => {
  const h = new EventHeap();
  for (const [t, p] of [
    [5, 0],
    [1, 1],
    [3, 2],
    [2, 3],
    [4, 4],
  ] as const)
    h.push(t, p);
  assert.equal(h.size, 5);
  assert.equal(h.peekTime(), 1);
  assert.equal(h.peekPayload(), 1);
  assert.deepEqual(drain(h), [
    [1, 1],
    [2, 3],
    [3, 2],
    [4, 4],
    [5, 0],
  ]);
});

test('equal times pop in push (FIFO) order', () => {
  const h = new EventHeap(2);
  for (let i = 0; i < 100; i++) h.push(i % 3 === 0 ? 7 : 7 + (i % 5), i);
  const out = drain(h);
  const sevens = out.filter(([t]) => t === 7).map(([, p]) => p);
  assert.deepEqual(
    sevens,
    Array.from({ length: 100 }, (_, i) => i).filter((i) => i % 3 === 0 || i % 5 === 0),
  );
});

test('-0 and 0 are the same time (FIFO between them)', () => {
  const h = new EventHeap();
  h.push(0, 1);
  h.push(-0, 2);
  h.push(0, 3);
  assert.deepEqual(
    drain(h).map(([, p]) => p),
    [1, 2, 3],
  );
});

test('grows past its initial capacity and keeps order', () => {
  const h = new EventHeap(1);
  for (let i = 1000; i > 0; i--) h.push(i, i);
  assert.equal(h.size, 1000);
  assert.ok(h.capacity >= 1000);
  const out = drain(h);
  assert.deepEqual(
    out.map(([t]) => t),
    Array.from({ length: 1000 }, (_, i) => i + 1),
  );
});

test('empty heap: pop returns -1, peekTime is +Infinity, lastTime unchanged', () => {
  const h = new EventHeap();
  assert.equal(h.size, 0);
  assert.equal(h.peekTime(), Number.POSITIVE_INFINITY);
  assert.equal(h.peekPayload(), -1);
  assert.ok(Number.isNaN(h.lastTime));
  h.push(3, 9);
  assert.equal(h.pop(), 9);
  assert.equal(h.lastTime, 3);
  assert.equal(h.pop(), -1);
  assert.equal(h.lastTime, 3);
});

test('clear empties the heap; later equal-time pushes stay FIFO', () => {
  const h = new EventHeap();
  h.push(1, 1);
  h.push(2, 2);
  h.clear();
  assert.equal(h.size, 0);
  h.push(5, 10);
  h.push(5, 11);
  h.push(4, 12);
  assert.deepEqual(drain(h), [
    [4, 12],
    [5, 10],
    [5, 11],
  ]);
});

test('payloads are int32', () => {
  const h = new EventHeap();
  h.push(1, 2 ** 31 - 1);
  h.push(2, -(2 ** 31));
  assert.equal(h.pop(), 2 ** 31 - 1);
  assert.equal(h.pop(), -(2 ** 31));
});

// Property: any interleaving of pushes and pops behaves like a list kept stably sorted by (time, seq).
type Op = { kind: 'push'; time: number } | { kind: 'pop' } | { kind: 'clear' };
const timeArb = fc.oneof(
  fc.integer({ min: 0, max: 5 }), // many ties
  fc.double({ noNaN: true }), // includes ±Infinity, ±0, subnormals
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: timeArb.map((time) => ({ kind: 'push' as const, time })) },
  { weight: 4, arbitrary: fc.constant({ kind: 'pop' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

test('property: pop order equals a stable sort by (time, seq)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 400 }), fc.integer({ min: 1, max: 8 }), (ops, cap) => {
      const h = new EventHeap(cap);
      let model: Array<{ time: number; seq: number }> = [];
      let seq = 0;
      for (const op of ops) {
        if (op.kind === 'push') {
          h.push(op.time, seq);
          model.push({ time: op.time, seq });
          seq++;
        } else if (op.kind === 'clear') {
          h.clear();
          model = [];
        } else {
          // Stable sort by time alone is the same as sorting by (time, seq), since seq is push order.
          model.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
          const want = model.shift();
          if (want === undefined) {
            assert.equal(h.size, 0);
            assert.equal(h.pop(), -1);
          } else {
            assert.equal(h.peekTime(), want.time);
            assert.equal(h.pop(), want.seq);
            assert.ok(Object.is(h.lastTime, want.time)); // the popped event's own time, sign of zero included
          }
        }
        assert.equal(h.size, model.length);
      }
    }),
    { numRuns: 300 },
  );
});
