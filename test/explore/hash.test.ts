import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hashWords } from '../../src/explore/hash.ts';

test('hashWords depends only on the words hashed, not on where they sit', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 8 }),
      fc.nat(5),
      (ws, pad) => {
        const a = Int32Array.from(ws);
        const b = new Int32Array(pad + ws.length + 3).fill(7);
        b.set(a, pad);
        assert.equal(hashWords(a, 0, a.length), hashWords(b, pad, a.length));
      },
    ),
  );
});

test('hashWords spreads single-bit differences over the low bits used by the table', () => {
  // States differ in a few low bits; the table indexes by the hash's low bits.
  const seen = new Set<number>();
  const buf = new Int32Array(2);
  for (let v = 0; v < 4096; v++) {
    buf[0] = v;
    seen.add(hashWords(buf, 0, 2) & 0xfff);
  }
  assert.ok(seen.size > 2400, `only ${seen.size} distinct 12-bit buckets for 4096 keys`);
});
