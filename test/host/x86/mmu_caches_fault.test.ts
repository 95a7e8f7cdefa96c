// The MMU memory caches on the running x86 fault path (../shared/spec/mmu.md Part A, A.5.6): mmu §E cases
// 15 and 16 through the real fault, where the topup sits per era, what a topup failure returns to user
// space (-ENOMEM from KVM_RUN), BUG vs WARN on an empty cache, the page tables an install takes and a
// memslot update frees. The cache structure itself is test/host/memory_cache.test.ts and
// test/host/x86/mmu_memory_caches.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ENOMEM } from '../../../src/abi/errno.ts';
import { kvm_mmu_memory_cache_alloc } from '../../../src/host/kvm_mmu_memory_cache.ts';
import { sp_missing_levels, sp_present } from '../../../src/host/x86/kvm_mmu_page.ts';
import {
  cacheOf,
  MC_PAGE_HEADER,
  MC_PTE_LIST_DESC,
  MC_SHADOW_PAGE,
  MC_SHADOWED_INFO,
  type MmuCachesVm,
} from '../../../src/host/x86/mmu_caches_vm.ts';
import { kvm_mmu_do_page_fault, RET_PF_FIXED, RET_PF_RETRY } from '../../../src/host/x86/mmu_fault.ts';
import { FAIL_FOREVER, host_alloc_pressure } from '../../../src/host/x86/page_alloc.ts';
import { host_mm_run, MM_MEMSLOT_REMAP, MM_RECLAIM } from '../../../src/host/x86/primary_mmu.ts';
import { kvm_host_dead, kvm_vcpu_run_step, STEP_BLOCKED } from '../../../src/host/x86/run_loop.ts';
import { host_page_fault_in, PAGE_SPTE_MAPPED } from '../../../src/mem/page_state.ts';
import { guestFault, mapGfn, mmuVm, pageState } from '../../test_utils/mmu_fixture.ts';

const mc = (vm: { memcache: MmuCachesVm | null }): MmuCachesVm => vm.memcache!;
const nobjs = (m: MmuCachesVm, c: number, v = 0): number => cacheOf(m.caches[v]!, c)?.nobjs ?? 0;
/** Pops objects out of vCPU 0's cache `c` until it holds `n` (as earlier faults would have). */
function drainTo(m: MmuCachesVm, c: number, n: number): void {
  const cache = cacheOf(m.caches[0]!, c)!;
  while (cache.nobjs > n) kvm_mmu_memory_cache_alloc(cache, m.host);
}

test('without mmu_caches nothing changes: no cache model, topup always succeeds', () => {
  const { vm } = mmuVm('6.8');
  assert.equal(vm.memcache, null);
  mapGfn(vm, 0x10);
  assert.ok(pageState(vm, 0x10) & PAGE_SPTE_MAPPED);
});

test('the first fault loads the root (kvm_mmu_load) and builds levels 3, 2, 1 from the caches', () => {
  const { vm } = mmuVm('6.8', { caches: true, npages: 1024 });
  const m = mc(vm);
  mapGfn(vm, 0x10);
  assert.equal(m.stat.roots, 1);
  assert.equal(m.stat.tables, 3);
  for (const l of [1, 2, 3]) assert.ok(sp_present(m.pages, l, 0x10));
  // Two topups (the load and the fault); the caches were filled to 40 once, then 4 pages and 4 headers taken.
  assert.equal(m.stat.topups, 2);
  assert.equal(m.alloc.allocated, 120);
  assert.equal(nobjs(m, MC_SHADOW_PAGE), 36);
  assert.equal(nobjs(m, MC_PAGE_HEADER), 36);
  // The model never needs an rmap descriptor (one SPTE per gfn, one parent per table).
  assert.equal(nobjs(m, MC_PTE_LIST_DESC), 40);
  // A gfn in the same 2 MiB region needs no new table; one in another needs a level-1 table only.
  mapGfn(vm, 0x11);
  assert.equal(m.stat.tables, 3);
  assert.equal(sp_missing_levels(m.pages, 0x200), 1);
});

test('mmu §E case 15: 6.8 direct fault with 14 / 5 / 5 objects: the topup allocates nothing and the fault proceeds', () => {
  const { vm } = mmuVm('6.8', { caches: true, npages: 1024 });
  const m = mc(vm);
  mapGfn(vm, 0x10); // root and the first tables; caches 40 / 36 / 36
  drainTo(m, MC_PTE_LIST_DESC, 14);
  drainTo(m, MC_SHADOW_PAGE, 5);
  drainTo(m, MC_PAGE_HEADER, 5);
  const allocated = m.alloc.allocated;
  const topups = m.stat.topups;
  host_page_fault_in(vm.mem.pageState, 0x200); // another 2 MiB region: one new level-1 table
  assert.equal(guestFault(vm, 0x200), RET_PF_FIXED);
  assert.equal(m.stat.topups, topups + 1, 'the fault topped up');
  assert.equal(m.alloc.allocated, allocated, '… without allocating');
  assert.ok(pageState(vm, 0x200) & PAGE_SPTE_MAPPED);
  assert.equal(nobjs(m, MC_SHADOW_PAGE), 4);
});

test('mmu §E case 16 and A.5.6: a fault fast_page_fault fixes tops up nothing from 5.9 (6.8), but does in 5.2', () => {
  for (const [era, topupsExpected] of [
    ['6.8', 0],
    ['5.2', 1],
  ] as const) {
    const { vm } = mmuVm(era, { caches: true });
    const m = mc(vm);
    mapGfn(vm, 0x10);
    const before = m.stat.topups;
    assert.equal(guestFault(vm, 0x10), RET_PF_FIXED); // spurious: the SPTE is present
    assert.equal(m.stat.topups - before, topupsExpected, era);
  }
});

test('A.5.6 era placement: with the shadow-page cache below its minimum and no memory, 5.2 fails even a fast-path fault with -ENOMEM; 6.8 fixes it', () => {
  for (const era of ['5.2', '6.8'] as const) {
    const { vm } = mmuVm(era, { caches: true });
    const m = mc(vm);
    const v = vm.vcpus[0]!;
    mapGfn(vm, 0x10);
    drainTo(m, MC_SHADOW_PAGE, 1);
    host_alloc_pressure(m.alloc, 0, FAIL_FOREVER);
    const r = guestFault(vm, 0x10);
    if (era === '5.2') {
      assert.equal(r, RET_PF_RETRY);
      assert.equal(m.run_error[0], -ENOMEM, 'KVM_RUN returns -ENOMEM');
      assert.equal(v.in_userspace, true, 'the vCPU thread is back in user space');
      assert.equal(m.stat.topup_failures, 1);
    } else {
      assert.equal(r, RET_PF_FIXED);
      assert.equal(m.run_error[0], 0);
      assert.equal(m.stat.topup_failures, 0);
    }
  }
});

test('A.5.6 step 3: a failed topup ends the fault before GUP; nothing is installed and KVM_RUN returns -ENOMEM', () => {
  const { vm } = mmuVm('6.18', { caches: true, npages: 1024 });
  const m = mc(vm);
  mapGfn(vm, 0x10);
  drainTo(m, MC_PAGE_HEADER, 0);
  host_alloc_pressure(m.alloc, 3, FAIL_FOREVER); // 3 headers, fewer than the minimum 5
  host_page_fault_in(vm.mem.pageState, 0x200);
  assert.equal(guestFault(vm, 0x200), RET_PF_RETRY);
  assert.equal(pageState(vm, 0x200) & PAGE_SPTE_MAPPED, 0);
  assert.equal(m.run_error[0], -ENOMEM);
  assert.equal(nobjs(m, MC_PAGE_HEADER), 3, 'the partial fill is kept (A.5.1 step 5)');
  // The run loop does not enter a vCPU that is in user space.
  assert.equal(kvm_vcpu_run_step(vm, vm.vcpus[0]!), STEP_BLOCKED);
});

test('the root load at entry fails with -ENOMEM when the first topup cannot reach its minima', () => {
  const { vm } = mmuVm('6.18', { caches: true });
  const m = mc(vm);
  host_alloc_pressure(m.alloc, 0, FAIL_FOREVER);
  const v = vm.vcpus[0]!;
  assert.equal(kvm_vcpu_run_step(vm, v), STEP_BLOCKED);
  assert.equal(m.run_error[0], -ENOMEM);
  assert.equal(m.stat.roots, 0);
});

/** vCPU 0 loads the root; vCPU 1 tops up at entry under pressure (41 granted, then `fails` fail); gfn 0x10 resident. */
function emptyCacheFault(era: '5.2' | '5.9', fails: number) {
  const { vm } = mmuVm(era, { caches: true, vcpus: 2, bugs: ['cache-min-too-small'] });
  const m = mc(vm);
  const warns: string[] = [];
  vm.hooks.warn = (_v, msg) => warns.push(msg);
  // vCPU 0 loads the VM's root.
  kvm_vcpu_run_step(vm, vm.vcpus[0]!);
  assert.equal(m.stat.roots, 1);
  // vCPU 1's entry: 40 pte_list_desc, then 1 shadow page before the failure: the lowered minimum (1) is met.
  host_alloc_pressure(m.alloc, 41, fails);
  kvm_vcpu_run_step(vm, vm.vcpus[1]!);
  assert.equal(m.run_error[1], 0);
  assert.equal(nobjs(m, MC_SHADOW_PAGE, 1), 1);
  host_page_fault_in(vm.mem.pageState, 0x10);
  return { vm, m, warns };
}

test('mmu §E cases 13 and 11 on the fault path (cache-min-too-small): an empty cache under mmu_lock is a BUG in 5.2, a WARN + GFP_ATOMIC in 5.9', () => {
  {
    const { vm, m } = emptyCacheFault('5.2', 1);
    kvm_mmu_do_page_fault(vm, vm.vcpus[1]!, 0x10 * 4096, 0, false);
    assert.equal(m.stat.empty_cache_allocs, 1);
    assert.match(m.bug ?? '', /BUG_ON\(!mc->nobjs\)/);
    assert.ok(kvm_host_dead(vm), 'the host is dead');
    assert.equal(pageState(vm, 0x10) & PAGE_SPTE_MAPPED, 0);
    assert.equal(kvm_vcpu_run_step(vm, vm.vcpus[0]!), STEP_BLOCKED, 'nothing runs any more');
  }
  {
    const { vm, m, warns } = emptyCacheFault('5.9', 1);
    assert.equal(kvm_mmu_do_page_fault(vm, vm.vcpus[1]!, 0x10 * 4096, 0, false), RET_PF_FIXED);
    assert.equal(m.bug, null);
    assert.equal(m.stat.empty_cache_allocs, 2, 'levels 2 and 1 found the cache empty');
    assert.equal(m.stat.emergency_allocs, 2);
    assert.equal(warns.length, 2);
    assert.match(warns[0]!, /WARN_ON\(!mc->nobjs\)/);
    assert.ok(pageState(vm, 0x10) & PAGE_SPTE_MAPPED);
  }
  {
    // mmu §E case 12: the emergency allocation fails too → BUG, also from 5.9.
    const { vm, m } = emptyCacheFault('5.9', 1);
    host_alloc_pressure(m.alloc, 0, FAIL_FOREVER);
    kvm_mmu_do_page_fault(vm, vm.vcpus[1]!, 0x10 * 4096, 0, false);
    assert.match(m.bug ?? '', /emergency GFP_ATOMIC allocation failed/);
  }
});

test('faithful minima: the same allocation failure gives -ENOMEM at entry instead of an empty cache', () => {
  for (const era of ['5.2', '5.9'] as const) {
    const { vm } = mmuVm(era, { caches: true, vcpus: 2 });
    const m = mc(vm);
    kvm_vcpu_run_step(vm, vm.vcpus[0]!);
    host_alloc_pressure(m.alloc, 41, 1);
    kvm_vcpu_run_step(vm, vm.vcpus[1]!);
    assert.equal(m.run_error[1], -ENOMEM, era);
    assert.equal(m.stat.empty_cache_allocs, 0);
  }
});

test('shadow paging takes an extra object per table: 5.2 a second page-cache page, 5.9+ a shadowed_info page', () => {
  const a = mmuVm('5.2', { caches: true, shadow: true }).vm;
  mapGfn(a, 0x10);
  assert.equal(nobjs(mc(a), MC_SHADOW_PAGE), 40 - 2 * 4);
  const b = mmuVm('6.8', { caches: true, shadow: true }).vm;
  mapGfn(b, 0x10);
  assert.equal(nobjs(mc(b), MC_SHADOW_PAGE), 40 - 4);
  assert.equal(nobjs(mc(b), MC_SHADOWED_INFO), 40 - 4);
});

test('a memslot update (kvm_mmu_zap_all_fast) frees every table and the root; the next fault reloads it', () => {
  const { vm } = mmuVm('6.8', { caches: true });
  const m = mc(vm);
  mapGfn(vm, 0x10);
  assert.equal(m.alloc.freed, 0);
  host_mm_run(vm, MM_MEMSLOT_REMAP, 0, 1);
  assert.equal(m.alloc.freed, 8, '4 tables × (page + header)');
  assert.equal(m.pages.count, 0);
  assert.equal(m.root_loaded[0], 0);
  mapGfn(vm, 0x10);
  assert.equal(m.stat.roots, 2);
  assert.equal(m.stat.tables, 6);
});

test('leaf zaps (notifier invalidations) free no table', () => {
  const { vm } = mmuVm('6.18', { caches: true });
  const m = mc(vm);
  mapGfn(vm, 0x10);
  host_mm_run(vm, MM_RECLAIM, 0x10, 0x11);
  assert.equal(pageState(vm, 0x10) & PAGE_SPTE_MAPPED, 0);
  assert.equal(m.alloc.freed, 0);
  assert.equal(m.pages.count, 3);
});
