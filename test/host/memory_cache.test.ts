// kvm_mmu_memory_cache conformance (mmu.md A.5, §E cases 1–14 and 17) and invariants INV-1..INV-3 (A.4) as
// a property over random topup/alloc/free sequences with a failing allocator, per form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EIO, ENOMEM } from '../../src/abi/errno.ts';
import { kvm_mmu_cache_min_pages, user_mem_abort_tops_up } from '../../src/host/arm64/stage2_memcache.ts';
import {
  __kvm_mmu_topup_memory_cache,
  KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE,
  type KvmMmuMemoryCache,
  kvm_mmu_free_memory_cache,
  kvm_mmu_memory_cache_alloc,
  kvm_mmu_memory_cache_nr_free_objects,
  kvm_mmu_topup_memory_cache,
  MEM_CACHE_FORMS,
  MEMCACHE_BUGGED,
  type MemCacheForm,
  type MemCacheHost,
  mmu_topup_memory_cache,
  newKvmMmuMemoryCache,
} from '../../src/host/kvm_mmu_memory_cache.ts';
import { TestMemCacheHost } from '../test_utils/memcache_host.ts';

/** Forms whose topup keeps a partial fill and succeeds once `min` is reached (all but arm 5.2). */
const MIN_FORMS: readonly MemCacheForm[] = ['x86-5.2', '5.9', '6.0', '6.10'];

/** Fills a cache with exactly n objects (topup with a budget of n, then check). */
function withObjects(
  form: MemCacheForm,
  n: number,
  opts = {},
): { mc: KvmMmuMemoryCache; host: TestMemCacheHost } {
  const mc = newKvmMmuMemoryCache(form, opts);
  const host = new TestMemCacheHost(n);
  if (form === 'arm-5.2') mmu_topup_memory_cache(mc, n, n, host);
  else kvm_mmu_topup_memory_cache(mc, n, host);
  assert.equal(mc.nobjs, n);
  host.budget = Number.POSITIVE_INFINITY;
  host.allocs.length = 0;
  return { mc, host };
}

test('a cache with enough objects is not refilled: topup(min=5) with nobjs=10 allocates nothing', () => {
  // mmu §E case 1 (A.5.1-2); the same rule in every form.
  for (const form of MEM_CACHE_FORMS) {
    const { mc, host } = withObjects(form, 10);
    const rc =
      form === 'arm-5.2' ? mmu_topup_memory_cache(mc, 5, 40, host) : kvm_mmu_topup_memory_cache(mc, 5, host);
    assert.equal(rc, 0, form);
    assert.equal(mc.nobjs, 10, form);
    assert.equal(host.allocs.length, 0, form);
    assert.equal(kvm_mmu_memory_cache_nr_free_objects(mc), 10, form);
  }
});

test('first topup of a ≥6.0 cache allocates the array and fills it to 40', () => {
  // mmu §E case 2 (A.5.1-3c/d, 5, 7)
  for (const form of ['6.0', '6.10'] as const) {
    const mc = newKvmMmuMemoryCache(form);
    assert.ok(mc.objects === null && mc.capacity === 0);
    const host = new TestMemCacheHost();
    assert.equal(kvm_mmu_topup_memory_cache(mc, 5, host), 0);
    assert.equal(mc.nobjs, 40);
    assert.equal(mc.capacity, 40);
    assert.equal((mc as KvmMmuMemoryCache).objects?.length, 40);
    assert.deepEqual(host.arrays, [{ capacity: 40, atomic: false }]);
    assert.equal(host.allocs.length, 40);
  }
  // The 5.9 and 5.2 forms have a fixed array from the start, of the arch capacity.
  assert.equal(newKvmMmuMemoryCache('5.9').capacity, 40);
  assert.equal(newKvmMmuMemoryCache('5.9', { arch: 'mips' }).capacity, 4);
  assert.equal(
    newKvmMmuMemoryCache('5.9', { arch: 'riscv' }).capacity,
    KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE.riscv,
  );
  assert.equal(KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE.riscv, 32);
  assert.equal(newKvmMmuMemoryCache('x86-5.2').capacity, 40);
});

test('the object array failing to allocate is -ENOMEM with the cache unchanged', () => {
  // mmu.md A.5.1-3c
  const mc = newKvmMmuMemoryCache('6.10');
  const host = new TestMemCacheHost();
  host.arrayFails = true;
  assert.equal(kvm_mmu_topup_memory_cache(mc, 5, host), -ENOMEM);
  assert.equal(mc.objects, null);
  assert.equal(mc.capacity, 0);
  assert.equal(host.allocs.length, 0);
});

test('capacity 0 on a fresh cache: WARN (once), -EIO, objects still NULL', () => {
  // mmu §E case 3 (A.5.1-3a)
  const mc = newKvmMmuMemoryCache('6.0');
  const host = new TestMemCacheHost();
  assert.equal(__kvm_mmu_topup_memory_cache(mc, 0, 1, host), -EIO);
  assert.equal(mc.objects, null);
  assert.equal(host.warns.length, 1);
  assert.match(host.warns[0]!, /^WARN_ON_ONCE\(!capacity\)/);
  // WARN_ON_ONCE: the second hit still fails but does not warn again.
  assert.equal(__kvm_mmu_topup_memory_cache(newKvmMmuMemoryCache('6.0'), 0, 1, host), -EIO);
  assert.equal(host.warns.length, 1);
  assert.equal(host.allocs.length, 0);
});

test('a different capacity on an allocated cache while below min: WARN, -EIO', () => {
  // mmu §E case 4 (A.5.1-4)
  const mc = newKvmMmuMemoryCache('6.10');
  const host = new TestMemCacheHost(10);
  assert.equal(kvm_mmu_topup_memory_cache(mc, 5, host), 0); // partial fill: 10 objects, capacity 40
  assert.equal(mc.capacity, 40);
  host.budget = Number.POSITIVE_INFINITY;
  assert.equal(__kvm_mmu_topup_memory_cache(mc, 513, 20, host), -EIO);
  assert.equal(host.warns.length, 1);
  assert.match(host.warns[0]!, /^WARN_ON_ONCE\(mc->capacity != capacity\)/);
  assert.equal(mc.nobjs, 10);
  assert.equal(mc.capacity, 40);
  // At or above min the early return comes first: no WARN, 0.
  assert.equal(__kvm_mmu_topup_memory_cache(mc, 513, 10, host), 0);
  assert.equal(host.warns.length, 1);
});

test('init_value with gfp_zero or a kmem_cache: WARN, -EIO on the first topup; a plain page cache fills', () => {
  // mmu §E case 5 (A.5.1-3b)
  const host = new TestMemCacheHost();
  const zeroed = newKvmMmuMemoryCache('6.10', { init_value: 2 ** 63, gfp_zero: true });
  assert.equal(kvm_mmu_topup_memory_cache(zeroed, 5, host), -EIO);
  assert.equal(zeroed.objects, null);
  assert.equal(host.warns.length, 1);
  assert.match(host.warns[0]!, /init_value/);
  const kmem = newKvmMmuMemoryCache('6.10', { init_value: 2 ** 63, kmem_cache: true });
  assert.equal(kvm_mmu_topup_memory_cache(kmem, 5, host), -EIO);
  assert.equal(host.warns.length, 1); // same WARN_ON_ONCE site
  const pages = newKvmMmuMemoryCache('6.10', { init_value: 2 ** 63 });
  assert.equal(kvm_mmu_topup_memory_cache(pages, 5, host), 0);
  assert.equal(pages.nobjs, 40);
  assert.ok(host.allocs.every((a) => a.init_value === 2 ** 63 && !a.zeroed));
  // init_value does not exist before 6.10.
  assert.throws(() => newKvmMmuMemoryCache('6.0', { init_value: 1 }), RangeError);
});

test('an allocation failing after 6 objects with min 5: 0, the 6 are kept', () => {
  // mmu §E case 6 (A.5.1-5; the same in x86 5.2, A.5.3, and 5.9, A.5.2)
  for (const form of MIN_FORMS) {
    const mc = newKvmMmuMemoryCache(form);
    const host = new TestMemCacheHost(6);
    assert.equal(kvm_mmu_topup_memory_cache(mc, 5, host), 0, form);
    assert.equal(mc.nobjs, 6, form);
    assert.equal(host.failedAllocs.length, 1, form);
  }
});

test('an allocation failing after 3 objects with min 5: -ENOMEM, the 3 are kept', () => {
  // mmu §E case 7
  for (const form of MIN_FORMS) {
    const mc = newKvmMmuMemoryCache(form);
    const host = new TestMemCacheHost(3);
    assert.equal(kvm_mmu_topup_memory_cache(mc, 5, host), -ENOMEM, form);
    assert.equal(mc.nobjs, 3, form);
    // A later topup with memory continues from 3.
    host.budget = Number.POSITIVE_INFINITY;
    assert.equal(kvm_mmu_topup_memory_cache(mc, 5, host), 0, form);
    assert.equal(mc.nobjs, 40, form);
    assert.equal(host.allocs.length, 40, form);
  }
});

test('arm 5.2: a failure past min is still -ENOMEM', () => {
  // mmu §E case 8 (A.5.3 arm)
  const mc = newKvmMmuMemoryCache('arm-5.2');
  const host = new TestMemCacheHost(9);
  assert.equal(mmu_topup_memory_cache(mc, 2, 40, host), -ENOMEM);
  assert.equal(mc.nobjs, 9);
  assert.equal(host.failedAllocs.length, 1);
  assert.ok(host.allocs.every((a) => a.zeroed)); // PGALLOC_GFP zeroes
  // __kvm_mmu_topup_memory_cache on an arm 5.2 cache is the same (min, max=capacity) rule.
  const mc2 = newKvmMmuMemoryCache('arm-5.2');
  assert.equal(__kvm_mmu_topup_memory_cache(mc2, 40, 2, new TestMemCacheHost(9)), -ENOMEM);
  assert.equal(mc2.nobjs, 9);
});

test('arm 5.2: max 41 is a BUG, nothing allocated', () => {
  // mmu §E case 9
  const mc = newKvmMmuMemoryCache('arm-5.2');
  const host = new TestMemCacheHost();
  assert.equal(mmu_topup_memory_cache(mc, 2, 41, host), MEMCACHE_BUGGED);
  assert.equal(host.bugs.length, 1);
  assert.match(host.bugs[0]!, /BUG_ON\(max > KVM_NR_MEM_OBJS\)/);
  assert.equal(host.allocs.length, 0);
  assert.equal(mc.nobjs, 0);
  // max 40 is fine.
  assert.equal(mmu_topup_memory_cache(mc, 2, 40, host), 0);
  assert.equal(mc.nobjs, 40);
});

test('alloc is LIFO: o1, o2, o3 pushed, o3 comes out first', () => {
  // mmu §E case 10 (A.5.4-2)
  for (const form of MEM_CACHE_FORMS) {
    const { mc, host } = withObjects(form, 3);
    const ids = [mc.objects![0], mc.objects![1], mc.objects![2]];
    assert.equal(kvm_mmu_memory_cache_alloc(mc, host), ids[2], form);
    assert.equal(mc.nobjs, 2, form);
    assert.equal(kvm_mmu_memory_cache_alloc(mc, host), ids[1], form);
    assert.equal(kvm_mmu_memory_cache_alloc(mc, host), ids[0], form);
    assert.equal(host.warns.length + host.bugs.length, 0, form);
  }
});

test('≥5.9 alloc on an empty cache: WARN_ON every time, an atomic emergency object, nobjs stays 0', () => {
  // mmu §E case 11 (A.5.4-1: a plain WARN_ON, not WARN_ON_ONCE)
  for (const form of ['5.9', '6.0', '6.10'] as const) {
    const mc = newKvmMmuMemoryCache(form, { gfp_zero: true, kmem_cache: true });
    const host = new TestMemCacheHost();
    const a = kvm_mmu_memory_cache_alloc(mc, host);
    const b = kvm_mmu_memory_cache_alloc(mc, host);
    assert.ok(a > 0 && b > 0 && a !== b, form);
    assert.equal(mc.nobjs, 0, form);
    assert.equal(host.warns.length, 2, form);
    assert.match(host.warns[0]!, /^WARN_ON\(!mc->nobjs\)/, form);
    assert.deepEqual(
      host.allocs.map((r) => [r.atomic, r.zeroed]),
      [
        [true, true],
        [true, true],
      ],
      form,
    );
    assert.equal(host.bugs.length, 0, form);
  }
});

test('≥5.9 alloc on an empty cache whose emergency allocation fails: BUG', () => {
  // mmu §E case 12 (A.5.4-3)
  for (const form of ['5.9', '6.0', '6.10'] as const) {
    const mc = newKvmMmuMemoryCache(form);
    const host = new TestMemCacheHost(0);
    assert.equal(kvm_mmu_memory_cache_alloc(mc, host), 0, form);
    assert.equal(host.warns.length, 1, form);
    assert.equal(host.bugs.length, 1, form);
    assert.match(host.bugs[0]!, /^BUG_ON\(!p\)/, form);
    assert.deepEqual(host.failedAllocs, [{ atomic: true, cache: mc.name }], form);
  }
});

test('5.2 alloc on an empty cache: BUG at once, no fallback allocation, no WARN', () => {
  // mmu §E case 13 (A.5.4, X52 / A52)
  for (const form of ['x86-5.2', 'arm-5.2'] as const) {
    const mc = newKvmMmuMemoryCache(form);
    const host = new TestMemCacheHost();
    assert.equal(kvm_mmu_memory_cache_alloc(mc, host), 0, form);
    assert.equal(host.bugs.length, 1, form);
    assert.match(host.bugs[0]!, /^BUG_ON\(!mc->nobjs\)/, form);
    assert.equal(host.warns.length, 0, form);
    assert.equal(host.allocs.length + host.failedAllocs.length, 0, form);
  }
});

test('free: every object freed, the ≥6.0 array dropped, and a new capacity then accepted', () => {
  // mmu §E case 14 (A.5.5)
  const { mc, host } = withObjects('6.10', 7, { gfp_zero: true });
  const ids = Array.from(mc.objects!.subarray(0, 7));
  kvm_mmu_free_memory_cache(mc, host);
  assert.deepEqual(host.freed, ids.reverse());
  assert.equal(mc.nobjs, 0);
  assert.equal(mc.objects, null);
  assert.equal(mc.capacity, 0);
  assert.equal(mc.gfp_zero, true); // config stays
  assert.equal(__kvm_mmu_topup_memory_cache(mc, 513, 513, host), 0);
  assert.equal(mc.capacity, 513);
  assert.equal(mc.nobjs, 513);
  assert.equal(host.warns.length, 0);
  // 5.9 / 5.2: the fixed array stays; only the objects go.
  const fixed = withObjects('5.9', 7);
  kvm_mmu_free_memory_cache(fixed.mc, fixed.host);
  assert.equal(fixed.host.freed.length, 7);
  assert.equal(fixed.mc.capacity, 40);
  assert.notEqual(fixed.mc.objects, null);
});

test('gfp_custom (6.0): topup allocations and the array are atomic; not in 5.9', () => {
  // mmu.md A.5.1-1, HA6 (4ab0e470c06d)
  const mc = newKvmMmuMemoryCache('6.0', { gfp_custom: true });
  const host = new TestMemCacheHost();
  assert.equal(__kvm_mmu_topup_memory_cache(mc, 32, 1, host), 0);
  assert.ok(host.allocs.every((a) => a.atomic));
  assert.deepEqual(host.arrays, [{ capacity: 32, atomic: true }]);
  assert.throws(() => newKvmMmuMemoryCache('5.9', { gfp_custom: true }), RangeError);
});

test('arm64 stage-2: a permission fault tops up only with dirty logging and a write (5.10+); 5.2 on every fault', () => {
  // mmu §E case 17 (corrected 2026-12)
  const perm = { fault_is_perm: true, logging_active: false, write_fault: false };
  assert.equal(user_mem_abort_tops_up('6.8', perm), false);
  assert.equal(user_mem_abort_tops_up('6.18', { ...perm, write_fault: true }), false);
  assert.equal(user_mem_abort_tops_up('6.8', { ...perm, logging_active: true, write_fault: true }), true);
  assert.equal(user_mem_abort_tops_up('6.8', { ...perm, fault_is_perm: false }), true);
  assert.equal(user_mem_abort_tops_up('2026', perm), false);
  assert.equal(user_mem_abort_tops_up('5.2', perm), true);
  assert.equal(user_mem_abort_tops_up('5.9', perm), true);
  assert.equal(kvm_mmu_cache_min_pages(4), 3);
  assert.equal(kvm_mmu_cache_min_pages(3), 2);
});

// ---- INV-1..INV-3 (mmu.md A.4) over random operation sequences ----

type Op = { kind: 'topup'; min: number; capacityPick: number } | { kind: 'alloc' } | { kind: 'free' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('topup' as const),
    min: fc.integer({ min: 0, max: 45 }),
    capacityPick: fc.nat(9),
  }),
  fc.record({ kind: fc.constant('alloc' as const) }),
  fc.record({ kind: fc.constant('free' as const) }),
);

interface Impl {
  alloc(mc: KvmMmuMemoryCache, host: MemCacheHost): number;
}
const REAL: Impl = { alloc: kvm_mmu_memory_cache_alloc };

/**
 * Runs ops against one cache; returns the first invariant violation, or null. `okBits` decides each object
 * allocation (cycled). Stops at a BUG (the host is dead).
 */
function checkRun(
  form: MemCacheForm,
  ops: readonly Op[],
  okBits: readonly boolean[],
  impl = REAL,
): string | null {
  const mc = newKvmMmuMemoryCache(form, { gfp_zero: true });
  const host = new TestMemCacheHost();
  let k = 0;
  host.decide = () => okBits.length === 0 || okBits[k++ % okBits.length]!;
  const stack: number[] = []; // the model: what the cache should hold, bottom first
  const handedOut = new Set<number>();
  const variable = form === '6.0' || form === '6.10';
  for (const op of ops) {
    const before = host.allocs.length;
    if (op.kind === 'topup') {
      const capacity = [40, 40, 40, 40, 3, 10, 513, 0, 40, 40][op.capacityPick]!;
      if (form === 'arm-5.2') mmu_topup_memory_cache(mc, op.min, Math.min(capacity, 40), host);
      else __kvm_mmu_topup_memory_cache(mc, capacity, op.min, host);
      for (const a of host.allocs.slice(before)) stack.push(a.id);
    } else if (op.kind === 'alloc') {
      const id = impl.alloc(mc, host);
      if (host.bugs.length > 0) return null;
      if (handedOut.has(id)) return `object ${id} handed out twice`;
      const expect = stack.length > 0 ? stack.pop()! : host.allocs[host.allocs.length - 1]!.id;
      if (id !== expect) return `alloc returned ${id}, LIFO top was ${expect}`;
      handedOut.add(id);
    } else {
      kvm_mmu_free_memory_cache(mc, host);
      stack.length = 0;
    }
    // INV-1
    if (mc.nobjs < 0 || mc.nobjs > mc.capacity) return `nobjs ${mc.nobjs} outside [0, ${mc.capacity}]`;
    if (variable && (mc.objects === null) !== (mc.capacity === 0))
      return 'objects == NULL ⇔ capacity == 0 broken';
    if (mc.objects !== null && mc.objects.length !== mc.capacity) return 'array length differs from capacity';
    // The cache holds exactly the model's stack, in order (LIFO state).
    if (mc.nobjs !== stack.length) return `nobjs ${mc.nobjs}, model ${stack.length}`;
    for (let i = 0; i < stack.length; i++) if (mc.objects![i] !== stack[i]) return `slot ${i} differs`;
    // INV-3: every allocated object is in exactly one place: the cache, handed out, or freed once.
    const freed = new Set(host.freed);
    if (freed.size !== host.freed.length) return 'an object freed twice';
    const inCache = new Set(stack);
    for (const a of host.allocs) {
      const places = (inCache.has(a.id) ? 1 : 0) + (handedOut.has(a.id) ? 1 : 0) + (freed.has(a.id) ? 1 : 0);
      if (places !== 1) return `object ${a.id} is in ${places} places`;
    }
  }
  return null;
}

for (const form of MEM_CACHE_FORMS) {
  test(`INV-1..INV-3 hold over random topup/alloc/free sequences with a failing allocator (${form})`, () => {
    // mmu.md A.4 INV-1 (bounds, NULL ⇔ 0), INV-3 (LIFO pop only; no object lost, duplicated or freed twice)
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 60 }),
        fc.array(fc.boolean(), { maxLength: 16 }),
        (ops, bits) => {
          const bad = checkRun(form, ops, bits);
          assert.equal(bad, null);
        },
      ),
      { numRuns: 300 },
    );
  });
}

test('the invariant check fails on a cache that pops FIFO or hands out an object twice', () => {
  // The property above must be able to fail: the same checker against two broken allocs.
  const fifo: Impl = {
    alloc(mc) {
      const id = mc.objects![0]!;
      mc.objects!.copyWithin(0, 1, mc.nobjs);
      mc.nobjs--;
      return id;
    },
  };
  const noPop: Impl = { alloc: (mc) => mc.objects![mc.nobjs - 1]! };
  const ops: Op[] = [{ kind: 'topup', min: 3, capacityPick: 0 }, { kind: 'alloc' }, { kind: 'alloc' }];
  for (const form of MEM_CACHE_FORMS) {
    assert.equal(checkRun(form, ops, []), null, form);
    assert.match(checkRun(form, ops, [], fifo) ?? '', /LIFO top/, form);
    assert.match(checkRun(form, ops, [], noPop) ?? '', /handed out twice|places|nobjs/, form);
  }
});
