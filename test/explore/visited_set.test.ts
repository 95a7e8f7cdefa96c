import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { VISITED_FULL, VisitedSet } from '../../src/explore/visited_set.ts';

/** Encodings of `words` words from a small alphabet, so sequences repeat states often. */
const encodings = (words: number) =>
  fc.array(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: words, maxLength: words }), {
    maxLength: 400,
  });

test('findOrAdd behaves like a Map from encoding to discovery index, across growth', () => {
  fc.assert(
    fc.property(
      fc
        .integer({ min: 1, max: 4 })
        .chain((w) => fc.tuple(fc.constant(w), encodings(w), fc.integer({ min: 1, max: 64 }))),
      ([words, seq, initialCapacity]) => {
        const set = new VisitedSet(words, initialCapacity);
        const ref = new Map<string, number>();
        const buf = new Int32Array(words);
        for (const e of seq) {
          buf.set(e);
          let r = set.findOrAdd(buf);
          if (r === VISITED_FULL) {
            assert.equal(set.size, set.capacity);
            set.grow();
            r = set.findOrAdd(buf);
          }
          const key = e.join(',');
          const known = ref.get(key);
          if (known === undefined) {
            assert.equal(r, ref.size, 'a new state gets the next index');
            ref.set(key, r);
          } else {
            assert.equal(r, -(known + 1), 'a known state reports its index');
          }
          assert.equal(set.size, ref.size);
        }
        // Every stored encoding reads back at its index, in discovery order, and is found again.
        const out = new Int32Array(words);
        for (const [key, index] of ref) {
          set.read(index, out);
          assert.equal(Array.from(out).join(','), key);
          assert.ok(set.has(out));
        }
        buf.fill(99);
        assert.equal(set.has(buf), false);
      },
    ),
  );
});

test('findOrAdd refuses new states at capacity and at the size limit, but still finds known ones', () => {
  const set = new VisitedSet(1, 16);
  const buf = new Int32Array(1);
  for (let v = 0; v < set.capacity; v++) {
    buf[0] = v;
    assert.equal(set.findOrAdd(buf), v);
  }
  buf[0] = 1000;
  assert.equal(set.findOrAdd(buf), VISITED_FULL);
  buf[0] = 3;
  assert.equal(set.findOrAdd(buf), -4);

  const limited = new VisitedSet(1, 1024);
  limited.limitSize(2);
  for (const v of [5, 6]) {
    buf[0] = v;
    assert.ok(limited.findOrAdd(buf) >= 0);
  }
  buf[0] = 7;
  assert.equal(limited.findOrAdd(buf), VISITED_FULL);
  limited.grow();
  assert.equal(limited.findOrAdd(buf), VISITED_FULL, 'growing does not lift the size limit');
});

test('byteLength counts the arena and the table; grownByteLength predicts a grow()', () => {
  const set = new VisitedSet(3, 100);
  const predicted = set.grownByteLength;
  assert.equal(set.byteLength, set.capacity * 3 * 4 + (set.capacity / 3) * 4 * 8);
  set.grow();
  assert.equal(set.byteLength, predicted);
});
