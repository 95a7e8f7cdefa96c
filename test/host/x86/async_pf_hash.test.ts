import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  kvm_add_async_pf_gfn,
  kvm_async_pf_hash_fn,
  kvm_del_async_pf_gfn,
  kvm_find_async_pf_gfn,
  newGfnHash,
} from '../../../src/host/x86/async_pf_hash.ts';

// x86-apf §1.10: hash_32((u32)gfn, 6) with GOLDEN_RATIO_32 = 0x61C88647.
test('x86-apf §1.10: hash_32 with the golden-ratio constant', () => {
  assert.equal(kvm_async_pf_hash_fn(0), 0);
  assert.equal(kvm_async_pf_hash_fn(1), 0x61c88647 >>> 26); // 24
  assert.equal(kvm_async_pf_hash_fn(0x200), (Math.imul(0x200, 0x61c88647) >>> 0) >>> 26);
  // Only the low 32 bits of the gfn take part.
  assert.equal(kvm_async_pf_hash_fn(2 ** 32 + 5), kvm_async_pf_hash_fn(5));
});

test('x86-apf §1.10: linear probing places colliding gfns in the next free slots', () => {
  const h = newGfnHash();
  // 0 and 2^32 share bucket 0.
  kvm_add_async_pf_gfn(h, 0);
  kvm_add_async_pf_gfn(h, 2 ** 32);
  assert.equal(h[0], 0);
  assert.equal(h[1], 2 ** 32);
  assert.ok(kvm_del_async_pf_gfn(h, 0));
  // Backward shift: 2^32 moves back into its home slot.
  assert.equal(h[0], 2 ** 32);
  assert.equal(h[1], -1);
  assert.ok(kvm_find_async_pf_gfn(h, 2 ** 32));
  assert.equal(kvm_del_async_pf_gfn(h, 12345), false, 'deleting an absent gfn is the kernel WARN');
});

test('x86-apf §1.10: the hash behaves as a set under any add/delete sequence (≤ 64 entries)', () => {
  const gfnArb = fc.oneof(
    fc.integer({ min: 0, max: 300 }),
    fc.constantFrom(0, 2 ** 32, 2 ** 33, 2 ** 40 + 7),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), gfnArb), { maxLength: 200 }), (ops) => {
      const h = newGfnHash();
      const ref = new Set<number>();
      for (const [add, g] of ops) {
        if (add && !ref.has(g) && ref.size < 64) {
          kvm_add_async_pf_gfn(h, g);
          ref.add(g);
        } else if (!add) {
          assert.equal(kvm_del_async_pf_gfn(h, g), ref.delete(g));
        }
        for (const r of ref) assert.ok(kvm_find_async_pf_gfn(h, r));
        assert.equal(h.filter((x) => x !== -1).length, ref.size);
      }
    }),
  );
});
