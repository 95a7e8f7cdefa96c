// Conformance of the guest mapping API (src/host/kvm_host_map.ts) with ../shared/spec/mmu.md Part C:
// one test per §E case 38–48 (49, the notifier-aware gfn_to_pfn_cache, is in kvm_gpc.test.ts), plus the
// host-backing rules the properties rely on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  __kvm_vcpu_map,
  EAGAIN,
  EFAULT,
  EINVAL,
  HVA_KMAP,
  HVA_MEMREMAP,
  HVA_NULL,
  host_map_coherent,
  KVM_UNMAPPED_PAGE,
  kvm_map_gfn,
  kvm_unmap_gfn,
  kvm_vcpu_map,
  kvm_vcpu_map_readonly,
  kvm_vcpu_mapped,
  kvm_vcpu_unmap,
  newGfnToPfnCache,
  newHostMap,
  PAGE_NULL,
} from '../../src/host/kvm_host_map.ts';
import { type BugName, bugSet } from '../../src/host/x86/bugs.ts';
import { type EraName, hostBehaviour } from '../../src/host/x86/era.ts';
import { type HostMapsConfig, hostMapEra } from '../../src/host/x86/host_maps.ts';
import { host_mm_run, MM_DONTNEED, MM_KSM_WRPROTECT, MM_MIGRATE } from '../../src/host/x86/primary_mmu.ts';
import { createVm, type KvmVm } from '../../src/host/x86/vm.ts';

const NPAGES = 16;

function mapVm(era: EraName, c: HostMapsConfig = {}, bugs: BugName[] = []): KvmVm {
  const set = bugSet(bugs);
  return createVm(hostBehaviour(era, set), {
    irqchip: true,
    enforce_pv_cpuid: false,
    kvm_features: 0,
    hlt_in_guest: false,
    guest_state_protected: false,
    tdp: true,
    memory: NPAGES * 4096,
    vcpus: 1,
    mmu_notifiers: true,
    host_maps: { ...c, bugs: set },
  });
}
const ctxOf = (vm: KvmVm) => vm.hostMaps!.ctx;

test('hostMapEra: no API before 5.2; 5.2, the 5.6 form for 5.7–5.15, 5.17 for 6.1–6.10, 6.13 after', () => {
  assert.equal(hostMapEra('4.19'), null);
  assert.equal(hostMapEra('5.2'), '5.2');
  assert.equal(hostMapEra('5.7'), '5.6');
  assert.equal(hostMapEra('5.15'), '5.6');
  assert.equal(hostMapEra('6.1'), '5.17');
  assert.equal(hostMapEra('6.10'), '5.17');
  assert.equal(hostMapEra('6.13'), '6.13');
  assert.equal(hostMapEra('6.18'), '6.13');
  assert.throws(() => mapVm('4.19'), /does not exist in era 4\.19/);
});

// mmu §E case 38
test('mmu §E case 38: kvm_vcpu_map of a struct-page gfn → 0, page = that page, kmap address, mapped', () => {
  for (const era of ['5.2', '5.10', '6.8', '6.18'] as const) {
    const vm = mapVm(era);
    const ctx = ctxOf(vm);
    const map = newHostMap();
    assert.equal(kvm_vcpu_map(ctx, false, 3, map), 0, era);
    const f = ctx.backing.frame[3]!;
    assert.ok(f > 0);
    assert.equal(map.page, f);
    assert.equal(map.pfn, f);
    assert.equal(map.gfn, 3);
    assert.equal(map.hva, HVA_KMAP);
    assert.ok(kvm_vcpu_mapped(map));
    // 5.x holds a reference from gup until unmap; ≥6.13 a FOLL_PIN pin.
    if (era === '6.18') assert.deepEqual([ctx.backing.refcount[f], ctx.backing.pincount[f]], [0, 1]);
    else assert.deepEqual([ctx.backing.refcount[f], ctx.backing.pincount[f]], [1, 0]);
  }
});

// mmu §E case 39
test('mmu §E case 39: a gfn outside every memslot → -EINVAL; 5.x map untouched, ≥6.13 fields reset', () => {
  const vm = mapVm('5.10');
  const map = newHostMap();
  assert.equal(kvm_vcpu_map(ctxOf(vm), false, 2, map), 0);
  const before = { ...map };
  assert.equal(kvm_vcpu_map(ctxOf(vm), false, NPAGES + 5, map), -EINVAL);
  assert.deepEqual(map, before);
  const vm2 = mapVm('6.13');
  const m2 = newHostMap();
  assert.equal(kvm_vcpu_map(ctxOf(vm2), false, 2, m2), 0);
  assert.equal(kvm_vcpu_map(ctxOf(vm2), false, NPAGES + 5, m2), -EINVAL);
  assert.equal(m2.hva, HVA_NULL);
  assert.equal(m2.page, PAGE_NULL);
  assert.equal(m2.pinned_page, PAGE_NULL);
  assert.equal(m2.gfn, NPAGES + 5);
  assert.equal(m2.writable, true);
  assert.equal(kvm_vcpu_map(ctxOf(vm2), false, NPAGES, null), -EINVAL);
});

// mmu §E case 40
test('mmu §E case 40: a read-only memslot → -EINVAL (writable pfn); ≥6.13 map_readonly of it → 0', () => {
  const ro = { readonly: [{ gfn: 4, pages: 1 }] };
  for (const era of ['5.2', '5.10', '6.8', '6.13'] as const) {
    const vm = mapVm(era, ro);
    assert.equal(kvm_vcpu_map(ctxOf(vm), false, 4, newHostMap()), -EINVAL, era);
  }
  const vm = mapVm('6.13', ro);
  const map = newHostMap();
  assert.equal(kvm_vcpu_map_readonly(ctxOf(vm), 4, map), 0);
  assert.equal(map.writable, false);
  assert.equal(map.hva, HVA_KMAP);
});

// mmu §E case 41
test('mmu §E case 41: /dev/mem memory on x86 5.2 → 0 via memremap, page = KVM_UNMAPPED_PAGE; without IOMEM (s390) → -EFAULT', () => {
  const dev = { backing: [{ gfn: 5, pages: 1, kind: 'devmem' as const }] };
  const vm = mapVm('5.2', dev);
  const map = newHostMap();
  assert.equal(kvm_vcpu_map(ctxOf(vm), false, 5, map), 0);
  assert.equal(map.hva, HVA_MEMREMAP);
  assert.equal(map.page, KVM_UNMAPPED_PAGE);
  assert.equal(ctxOf(vm).backing.refcount[map.pfn], 0, 'no struct page: no reference');
  const s390 = mapVm('5.2', { ...dev, has_iomem: false });
  const m2 = newHostMap();
  assert.equal(kvm_vcpu_map(ctxOf(s390), false, 5, m2), -EFAULT);
  assert.equal(m2.hva, HVA_NULL);
});

// mmu §E case 42
test('mmu §E case 42: unmap of a memremapped map: 5.2.0–5.2.2 kunmaps it (bug); with b614c6027896 memunmap', () => {
  const dev = { backing: [{ gfn: 5, pages: 1, kind: 'devmem' as const }] };
  const buggy = mapVm('5.2', dev, ['unmap-poison-page-check']);
  const map = newHostMap();
  assert.equal(kvm_vcpu_map(ctxOf(buggy), false, 5, map), 0);
  kvm_vcpu_unmap(ctxOf(buggy), map, false);
  assert.equal(ctxOf(buggy).stats.kunmap_of_remap, 1);
  const fixed = mapVm('5.2', dev);
  const m2 = newHostMap();
  assert.equal(kvm_vcpu_map(ctxOf(fixed), false, 5, m2), 0);
  kvm_vcpu_unmap(ctxOf(fixed), m2, false);
  assert.equal(ctxOf(fixed).stats.kunmap_of_remap, 0);
  // A kmap'ed map is kunmap'ed either way: the bug needs a memremapped one.
  const m3 = newHostMap();
  assert.equal(kvm_vcpu_map(ctxOf(buggy), false, 2, m3), 0);
  kvm_vcpu_unmap(ctxOf(buggy), m3, false);
  assert.equal(ctxOf(buggy).stats.kunmap_of_remap, 1);
});

// mmu §E case 43
test('mmu §E case 43: 5.x unmap(dirty=true) → gfn in the dirty bitmap, page dirty, reference dropped; again → no-op', () => {
  const vm = mapVm('5.10', { dirty_logging: true });
  const ctx = ctxOf(vm);
  const map = newHostMap();
  assert.equal(kvm_vcpu_map(ctx, false, 6, map), 0);
  const f = map.pfn;
  kvm_vcpu_unmap(ctx, map, true);
  assert.equal(ctx.backing.dirtyBitmap[6], 1);
  assert.equal(ctx.backing.pageDirty[f], 1);
  assert.equal(ctx.backing.refcount[f], 0);
  assert.equal(map.hva, HVA_NULL);
  assert.equal(map.page, PAGE_NULL);
  kvm_vcpu_unmap(ctx, map, true);
  assert.equal(ctx.backing.refcount[f], 0, 'the second unmap drops nothing');
});

// mmu §E case 44
test('mmu §E case 44: 5.x unmap(dirty=false) after a write through the map → not in the dirty log', () => {
  const vm = mapVm('6.1', { dirty_logging: true });
  const ctx = ctxOf(vm);
  const map = newHostMap();
  assert.equal(kvm_vcpu_map(ctx, false, 7, map), 0);
  ctx.backing.content[map.pfn] = 42;
  map.written = true;
  kvm_vcpu_unmap(ctx, map, false);
  assert.equal(ctx.backing.dirtyBitmap[7], 0, 'migration would miss the write');
  assert.equal(ctx.backing.pageDirty[map.pfn], 0);
});

// mmu §E case 45
test('mmu §E case 45: ≥6.13 writable map + unmap → dirty, page dirty, unpinned; read-only → nothing dirty, unpinned', () => {
  const vm = mapVm('6.13', { dirty_logging: true });
  const ctx = ctxOf(vm);
  const map = newHostMap();
  assert.equal(__kvm_vcpu_map(ctx, 8, map, true), 0);
  const f = map.pinned_page;
  assert.ok(f > 0);
  kvm_vcpu_unmap(ctx, map, false); // the dirty argument no longer exists: writable decides
  assert.equal(ctx.backing.dirtyBitmap[8], 1);
  assert.equal(ctx.backing.pageDirty[f], 1);
  assert.equal(ctx.backing.pincount[f], 0);
  assert.equal(map.pinned_page, PAGE_NULL);
  const m2 = newHostMap();
  assert.equal(kvm_vcpu_map_readonly(ctx, 9, m2), 0);
  const f2 = m2.pinned_page;
  kvm_vcpu_unmap(ctx, m2, true);
  assert.equal(ctx.backing.dirtyBitmap[9], 0);
  assert.equal(ctx.backing.pageDirty[f2], 0);
  assert.equal(ctx.backing.pincount[f2], 0);
});

// mmu §E case 46
test('mmu §E case 46: ≥6.13 VM_PFNMAP memory: -EINVAL without allow_unsafe_mappings; with it memremap, no pin', () => {
  const dev = { backing: [{ gfn: 5, pages: 1, kind: 'devmem' as const }] };
  const vm = mapVm('6.13', dev);
  const map = newHostMap();
  assert.equal(kvm_vcpu_map(ctxOf(vm), false, 5, map), -EINVAL);
  assert.equal(map.hva, HVA_NULL);
  const unsafe = mapVm('6.13', { ...dev, allow_unsafe_mappings: true });
  const m2 = newHostMap();
  assert.equal(kvm_vcpu_map(ctxOf(unsafe), false, 5, m2), 0);
  assert.equal(m2.hva, HVA_MEMREMAP);
  assert.equal(m2.page, PAGE_NULL);
  assert.equal(m2.pinned_page, PAGE_NULL);
  // The 5.x kernels mapped the same memory without asking (§E 41).
  assert.equal(kvm_vcpu_map(ctxOf(mapVm('6.10', dev)), false, 5, newHostMap()), 0);
});

// mmu §E case 47
test('mmu §E case 47: 5.6 kvm_map_gfn(atomic) with a cache for another gfn or a stale generation → -EAGAIN; non-atomic refills', () => {
  const vm = mapVm('5.10');
  const ctx = ctxOf(vm);
  const cache = newGfnToPfnCache();
  const map = newHostMap();
  assert.equal(kvm_map_gfn(ctx, 3, map, cache, true), -EAGAIN, 'empty cache');
  assert.equal(kvm_map_gfn(ctx, 3, map, cache, false), 0);
  const f = cache.pfn;
  assert.equal(ctx.backing.refcount[f], 1, 'the cache holds the reference');
  kvm_unmap_gfn(ctx, map, cache, true, false);
  assert.equal(ctx.backing.refcount[f], 1, 'still the cache’s');
  assert.equal(cache.dirty, true);
  assert.equal(kvm_map_gfn(ctx, 3, map, cache, true), 0, 'a hit maps atomically');
  kvm_unmap_gfn(ctx, map, cache, false, true);
  assert.equal(kvm_map_gfn(ctx, 4, map, cache, true), -EAGAIN, 'another gfn');
  host_mm_run(vm, 12 /* memslot_remap */, 0, 0);
  assert.equal(kvm_map_gfn(ctx, 3, map, cache, true), -EAGAIN, 'stale generation');
  assert.equal(kvm_map_gfn(ctx, 3, map, cache, false), 0, 'refill');
  assert.equal(ctx.backing.refcount[f], 0, 'the refill released the old pfn');
  assert.equal(ctx.backing.pageDirty[f], 1, 'honouring its dirty flag');
  assert.notEqual(cache.pfn, f, 'the new host range has another frame');
  assert.equal(kvm_map_gfn(ctx, 3, map, null, true), -EAGAIN, 'no cache, atomic');
});

// mmu §E case 48
test('mmu §E case 48: a vCPU in SMM maps an SMM-only gfn: 5.2–5.16 through its memslots (0); 5.17+ VM memslots → -EINVAL', () => {
  const smram = { smm_only: [{ gfn: 10, pages: 1 }] };
  for (const era of ['5.2', '5.15'] as const) {
    const vm = mapVm(era, smram);
    assert.equal(kvm_vcpu_map(ctxOf(vm), true, 10, newHostMap()), 0, era);
    assert.equal(kvm_vcpu_map(ctxOf(vm), false, 10, newHostMap()), -EINVAL, `${era} outside SMM`);
  }
  for (const era of ['6.1', '6.10', '6.13', '6.18'] as const) {
    const vm = mapVm(era, smram);
    assert.equal(kvm_vcpu_map(ctxOf(vm), true, 10, newHostMap()), -EINVAL, era);
  }
});

// ---- Host backing: what a map's reference or pin does to the primary MMU (docs/mmu.md) ----

test('a referenced (5.x) or pinned (6.13) page is not migrated nor merged by KSM; unmapped, it is', () => {
  for (const era of ['5.10', '6.13'] as const) {
    const vm = mapVm(era);
    const ctx = ctxOf(vm);
    const map = newHostMap();
    assert.equal(kvm_vcpu_map(ctx, false, 3, map), 0);
    const f = map.pfn;
    const inv = vm.mmu.stat.invalidations;
    host_mm_run(vm, MM_MIGRATE, 3, 4);
    assert.equal(ctx.backing.frame[3], f, `${era}: migration failed (-EAGAIN), the page stays`);
    assert.equal(vm.mmu.stat.invalidations, inv + 1, 'the notifier window ran all the same');
    host_mm_run(vm, MM_KSM_WRPROTECT, 3, 4);
    assert.equal(vm.mem.pageState[3]! & 4 /* PAGE_HOST_RO */, 0, 'write_protect_page gave up');
    assert.ok(host_map_coherent(ctx.backing, map));
    kvm_vcpu_unmap(ctx, map, true);
    host_mm_run(vm, MM_MIGRATE, 3, 4);
    assert.notEqual(ctx.backing.frame[3], f, 'unreferenced, it moves');
  }
});

test('MADV_DONTNEED of a mapped page proceeds: the map keeps a frame that no longer backs the gfn', () => {
  const vm = mapVm('6.18');
  const ctx = ctxOf(vm);
  const map = newHostMap();
  assert.equal(kvm_vcpu_map(ctx, false, 3, map), 0);
  host_mm_run(vm, MM_DONTNEED, 3, 4);
  assert.equal(ctx.backing.frame[3], 0);
  assert.equal(host_map_coherent(ctx.backing, map), false);
  assert.equal(ctx.backing.pincount[map.pfn], 1, 'the pin keeps the old page alive');
  kvm_vcpu_unmap(ctx, map, false);
  assert.equal(ctx.backing.pincount[map.pfn], 0);
});

test('refcount-nonrefcounted-page: 5.x maps a non-refcounted struct page 0→1 and frees it at unmap; fixed: -EINVAL', () => {
  const nr = { backing: [{ gfn: 11, pages: 1, kind: 'nonrefcounted' as const }] };
  const fixed = mapVm('5.10', nr);
  assert.equal(kvm_vcpu_map(ctxOf(fixed), false, 11, newHostMap()), -EINVAL);
  const vm = mapVm('5.10', nr, ['refcount-nonrefcounted-page']);
  const ctx = ctxOf(vm);
  const map = newHostMap();
  assert.equal(kvm_vcpu_map(ctx, false, 11, map), 0);
  assert.equal(ctx.backing.refcount[map.pfn], 1);
  kvm_vcpu_unmap(ctx, map, false);
  assert.equal(ctx.backing.freedInUse[map.pfn], 1, 'put_page freed the driver’s page');
  // ≥6.13 refuses the VM_PFNMAP vma outright (no reference is ever taken).
  assert.equal(kvm_vcpu_map(ctxOf(mapVm('6.13', nr)), false, 11, newHostMap()), -EINVAL);
});
