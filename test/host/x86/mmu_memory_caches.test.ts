// x86's per-vCPU and per-VM memory caches per era (mmu.md A.2, A.5.6; §E cases 15 and 16).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EIO, ENOMEM } from '../../../src/abi/errno.ts';
import {
  kvm_mmu_memory_cache_alloc,
  kvm_mmu_topup_memory_cache,
} from '../../../src/host/kvm_mmu_memory_cache.ts';
import { ERA_NAMES } from '../../../src/host/x86/era.ts';
import {
  cachedBytes,
  kvm_mmu_free_memory_caches,
  memcacheEra,
  mmu_free_vm_memory_caches,
  mmu_topup_memory_caches,
  need_topup_split_caches,
  newX86MmuMemoryCaches,
  newX86SplitCaches,
  nrFreeObjects,
  SHADOW_NONPRESENT_VALUE,
  SPLIT_DESC_CACHE_CAPACITY,
  SPLIT_DESC_CACHE_MIN_NR_OBJECTS,
  topup_split_caches,
  type X86MmuMemoryCaches,
} from '../../../src/host/x86/mmu_memory_caches.ts';
import { TestMemCacheHost } from '../../test_utils/memcache_host.ts';

/** Pops objects until the caches hold exactly the given counts. */
function drainTo(c: X86MmuMemoryCaches, host: TestMemCacheHost, pte: number, sp: number, hdr: number): void {
  while (c.mmu_pte_list_desc_cache.nobjs > pte) kvm_mmu_memory_cache_alloc(c.mmu_pte_list_desc_cache, host);
  while (c.mmu_shadow_page_cache.nobjs > sp) kvm_mmu_memory_cache_alloc(c.mmu_shadow_page_cache, host);
  while (c.mmu_page_header_cache.nobjs > hdr) kvm_mmu_memory_cache_alloc(c.mmu_page_header_cache, host);
}

test('6.8 direct fault with 14/5/5 cached objects: the topup allocates nothing', () => {
  // mmu §E case 15 (X68 mmu_topup_memory_caches)
  const c = newX86MmuMemoryCaches('6.8');
  const host = new TestMemCacheHost();
  assert.equal(mmu_topup_memory_caches(c, false, host), 0);
  assert.deepEqual(nrFreeObjects(c), {
    pteListDesc: 40,
    shadowPage: 40,
    shadowedInfo: 0,
    pageHeader: 40,
    externalSpt: 0,
  });
  drainTo(c, host, 14, 5, 5);
  const before = host.allocs.length;
  assert.equal(mmu_topup_memory_caches(c, false, host), 0);
  assert.equal(host.allocs.length, before);
  // One object short anywhere and that cache alone is refilled to 40.
  drainTo(c, host, 14, 4, 5);
  assert.equal(mmu_topup_memory_caches(c, false, host), 0);
  assert.equal(host.allocs.length, before + 36);
  assert.deepEqual(nrFreeObjects(c), {
    pteListDesc: 14,
    shadowPage: 40,
    shadowedInfo: 0,
    pageHeader: 5,
    externalSpt: 0,
  });
});

test('the topup sits after fast_page_fault from 5.9, before it in 5.2', () => {
  // mmu §E case 16 (A.5.6): the fault path (cache-int) reads this flag; a fault fixed by fast_page_fault
  // tops up nothing from 5.9 on.
  assert.equal(memcacheEra('6.8').topupBeforeFastPageFault, false);
  assert.equal(memcacheEra('5.9').topupBeforeFastPageFault, false);
  assert.equal(memcacheEra('5.2').topupBeforeFastPageFault, true);
  for (const name of ERA_NAMES) {
    const e = memcacheEra(name);
    assert.equal(e.topupBeforeFastPageFault, e.form === 'x86-5.2', name);
  }
});

test('5.2 minima 16/8/4 in the 5.2 form; shadow pages not zeroed at topup; an indirect page takes two pages', () => {
  // mmu.md A.2 (X52), A.5.3
  const e = memcacheEra('5.2');
  assert.deepEqual(
    [e.form, e.minPteListDesc, e.minShadowPage, e.minShadowedInfo, e.minPageHeader],
    ['x86-5.2', 16, 8, 0, 4],
  );
  assert.deepEqual(e.indirectPageObjects, { shadowPage: 2, shadowedInfo: 0 });
  const c = newX86MmuMemoryCaches('5.2');
  assert.equal(c.mmu_shadowed_info_cache, null);
  assert.equal(c.mmu_shadow_page_cache.name, 'mmu_page_cache');
  const host = new TestMemCacheHost();
  assert.equal(mmu_topup_memory_caches(c, true, host), 0); // maybe_indirect is ignored in 5.2
  assert.equal(host.allocs.length, 120);
  assert.ok(host.allocs.filter((a) => a.cache === 'mmu_page_cache').every((a) => !a.zeroed));
  assert.ok(host.allocs.filter((a) => a.cache !== 'mmu_page_cache').every((a) => a.zeroed));
  // Exactly 8 pages left: no allocation; 7: refill.
  while (c.mmu_shadow_page_cache.nobjs > 8) kvm_mmu_memory_cache_alloc(c.mmu_shadow_page_cache, host);
  assert.equal(mmu_topup_memory_caches(c, true, host), 0);
  assert.equal(host.allocs.length, 120);
  kvm_mmu_memory_cache_alloc(c.mmu_shadow_page_cache, host);
  assert.equal(mmu_topup_memory_caches(c, true, host), 0);
  assert.equal(host.allocs.length, 153);
  // An empty 5.2 cache under mmu_lock is a BUG (mmu §E case 13 through the x86 set).
  const empty = newX86MmuMemoryCaches('5.2');
  assert.equal(kvm_mmu_memory_cache_alloc(empty.mmu_page_header_cache, host), 0);
  assert.equal(host.bugs.length, 1);
});

test('5.9+: 14/5/5/5, the gfn-array / shadowed_info cache only when the MMU may be indirect', () => {
  // mmu.md A.2 (V 5.9, X68)
  for (const name of ['5.9', '5.15', '6.1', '6.8', '6.13', '6.18'] as const) {
    const e = memcacheEra(name);
    assert.deepEqual(
      [e.minPteListDesc, e.minShadowPage, e.minShadowedInfo, e.minPageHeader],
      [14, 5, 5, 5],
      name,
    );
    assert.deepEqual(e.indirectPageObjects, { shadowPage: 1, shadowedInfo: 1 }, name);
    assert.equal(e.shadowPagePreparedAtTopup, true, name);
    const direct = new TestMemCacheHost();
    assert.equal(mmu_topup_memory_caches(newX86MmuMemoryCaches(name), false, direct), 0);
    assert.equal(direct.allocs.length, 120, name);
    const indirect = new TestMemCacheHost();
    const c = newX86MmuMemoryCaches(name);
    assert.equal(mmu_topup_memory_caches(c, true, indirect), 0);
    assert.equal(indirect.allocs.length, 160, name);
    assert.equal(c.mmu_shadowed_info_cache?.nobjs, 40, name);
  }
  assert.equal(memcacheEra('5.15').shadowedInfoName, 'mmu_gfn_array_cache');
  assert.equal(memcacheEra('6.1').shadowedInfoName, 'mmu_shadowed_info_cache');
});

test('shadow pages: zeroed at topup 5.9–6.9, filled with SHADOW_NONPRESENT_VALUE from 6.10', () => {
  // mmu.md A.1 (init_value, 6.10), HA2, HA7
  for (const [name, zeroed, init] of [
    ['5.9', true, 0],
    ['6.8', true, 0],
    ['6.13', false, SHADOW_NONPRESENT_VALUE],
    ['6.18', false, SHADOW_NONPRESENT_VALUE],
  ] as const) {
    const host = new TestMemCacheHost();
    const c = newX86MmuMemoryCaches(name);
    assert.equal(mmu_topup_memory_caches(c, false, host), 0, name);
    assert.equal(host.warns.length, 0, name); // the init_value/gfp_zero conflict never arises
    const sp = host.allocs.filter((a) => a.cache === 'mmu_shadow_page_cache');
    assert.equal(sp.length, 40, name);
    assert.ok(
      sp.every((a) => a.zeroed === zeroed && a.init_value === init),
      name,
    );
  }
});

test('the topup stops at the first failing cache and returns its error', () => {
  // mmu.md A.5.6-3: the fault fails with -ENOMEM
  const c = newX86MmuMemoryCaches('6.8');
  const host = new TestMemCacheHost(40 + 3); // pte_list_desc fills, the shadow-page cache gets 3 < 5
  assert.equal(mmu_topup_memory_caches(c, true, host), -ENOMEM);
  assert.deepEqual(nrFreeObjects(c), {
    pteListDesc: 40,
    shadowPage: 3,
    shadowedInfo: 0,
    pageHeader: 0,
    externalSpt: 0,
  });
  assert.equal(host.failedAllocs.length, 1);
  assert.equal(host.failedAllocs[0]!.cache, 'mmu_shadow_page_cache');
});

test('mmu_external_spt_cache: from 6.14, topped up (after pte_list_desc) only for a mirrored-TDP VM', () => {
  // mmu.md A.2 (absent in V 6.13.7; present in 6.14.0 and 6.18.2, under kvm_has_mirrored_tdp)
  assert.equal(newX86MmuMemoryCaches('6.13').mmu_external_spt_cache, null);
  for (const name of ['6.15', '6.17', '6.18', '2026'] as const) {
    assert.equal(memcacheEra(name).hasExternalSptCache, true, name);
  }
  // 6.14/6.15 declare the cache but cannot create a TDX VM: a mirrored-TDP vCPU is refused as config.
  assert.throws(() => newX86MmuMemoryCaches('6.15', { mirroredTdp: true }), RangeError);
  assert.equal(memcacheEra('6.18').mirroredTdpPossible, true);
  const plain = newX86MmuMemoryCaches('6.18');
  const h1 = new TestMemCacheHost();
  assert.equal(mmu_topup_memory_caches(plain, false, h1), 0);
  assert.equal(h1.allocsFor('mmu_external_spt_cache'), 0);
  const tdx = newX86MmuMemoryCaches('6.18', { mirroredTdp: true });
  const h2 = new TestMemCacheHost();
  assert.equal(mmu_topup_memory_caches(tdx, false, h2), 0);
  assert.equal(h2.allocsFor('mmu_external_spt_cache'), 40);
  // Order: pte_list_desc, external_spt, shadow pages, headers.
  const order = [...new Set(h2.allocs.map((a) => a.cache))];
  assert.deepEqual(order, [
    'mmu_pte_list_desc_cache',
    'mmu_external_spt_cache',
    'mmu_shadow_page_cache',
    'mmu_page_header_cache',
  ]);
  // External page tables go to the TDX module: neither zeroed nor pattern-filled.
  assert.ok(
    h2.allocs
      .filter((a) => a.cache === 'mmu_external_spt_cache')
      .every((a) => !a.zeroed && a.init_value === 0),
  );
  kvm_mmu_free_memory_caches(tdx, h2);
  assert.equal(h2.freed.length, 160);
  assert.deepEqual(nrFreeObjects(tdx), {
    pteListDesc: 0,
    shadowPage: 0,
    shadowedInfo: 0,
    pageHeader: 0,
    externalSpt: 0,
  });
  assert.equal(tdx.mmu_external_spt_cache?.capacity, 0);
});

test('split caches: split_desc_cache min 513 capacity 553, topped up under slots_lock', () => {
  // mmu.md A.2, A.4 INV-2 (lockdep_assert_held in topup_split_caches, V 6.8)
  assert.equal(SPLIT_DESC_CACHE_MIN_NR_OBJECTS, 513);
  assert.equal(SPLIT_DESC_CACHE_CAPACITY, 553);
  assert.equal(newX86SplitCaches('5.15'), null);
  const s = newX86SplitCaches('6.8')!;
  assert.equal(need_topup_split_caches(s), true);
  const host = new TestMemCacheHost();
  assert.equal(topup_split_caches(s, true, host), 0);
  assert.equal(host.warns.length, 0);
  assert.equal(s.split_desc_cache.capacity, 553);
  assert.equal(s.split_desc_cache.nobjs, 553);
  assert.equal(s.split_page_header_cache.nobjs, 40);
  assert.equal(s.split_shadow_page_cache.nobjs, 40);
  assert.equal(need_topup_split_caches(s), false);
  // Down to 513 descriptors: no topup needed; 512: needed.
  while (s.split_desc_cache.nobjs > 513) kvm_mmu_memory_cache_alloc(s.split_desc_cache, host);
  assert.equal(need_topup_split_caches(s), false);
  kvm_mmu_memory_cache_alloc(s.split_desc_cache, host);
  assert.equal(need_topup_split_caches(s), true);
  // Without slots_lock: the lockdep WARN, and the topup still runs.
  assert.equal(topup_split_caches(s, false, host), 0);
  assert.deepEqual(host.warns, ['lockdep_assert_held(&kvm->slots_lock) in topup_split_caches']);
  assert.equal(s.split_desc_cache.nobjs, 553);
  // Fewer than 513 obtainable: -ENOMEM.
  const t = newX86SplitCaches('6.18')!;
  assert.equal(topup_split_caches(t, true, new TestMemCacheHost(512)), -ENOMEM);
  assert.equal(t.split_desc_cache.nobjs, 512);
  mmu_free_vm_memory_caches(s, host);
  assert.equal(s.split_desc_cache.capacity, 0);
  // A split_desc_cache first topped up at the default capacity 40 rejects 553 later (mmu §E case 4 shape).
  const u = newX86SplitCaches('6.8')!;
  const h = new TestMemCacheHost();
  assert.equal(kvm_mmu_topup_memory_cache(u.split_desc_cache, 1, h), 0);
  assert.equal(u.split_desc_cache.capacity, 40);
  assert.equal(topup_split_caches(u, true, h), -EIO);
  assert.equal(h.warns.length, 1);
  assert.match(h.warns[0]!, /capacity != capacity/);
});

test('idle memory of one vCPU after a full topup', () => {
  // docs/memory-caches.md: 40 objects in each cache at the era's object sizes (+ the ≥6.0 arrays)
  const full = (name: (typeof ERA_NAMES)[number], indirect: boolean, mirroredTdp = false): number => {
    const c = newX86MmuMemoryCaches(name, { mirroredTdp });
    assert.equal(mmu_topup_memory_caches(c, indirect, new TestMemCacheHost()), 0);
    return cachedBytes(c);
  };
  assert.equal(full('5.2', false), 40 * 32 + 40 * 4096 + 40 * 152); // 171,200
  assert.equal(full('5.2', true), full('5.2', false)); // one page cache serves spt and gfns
  assert.equal(full('5.9', false), 40 * 32 + 40 * 4096 + 40 * 168); // 171,840
  assert.equal(full('5.9', true), 171_840 + 40 * 4096);
  assert.equal(full('6.18', false), 3 * 320 + 40 * 128 + 40 * 4096 + 40 * 184); // 177,280
  assert.equal(full('6.18', true), 177_280 + 320 + 40 * 4096); // 341,440
  assert.equal(full('6.18', false, true), 177_280 + 320 + 40 * 4096);
});
