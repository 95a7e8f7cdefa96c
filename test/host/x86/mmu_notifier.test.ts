// Conformance of the MMU-notifier model with ../shared/spec/mmu.md Part B, invalidation side (B.3):
// mmu §E cases 18–25, the notifier-aware fault end to end (B.3.8, the MMU bug switches), and case 51.
// Change_pte, KSM and aging (B.4, B.5: cases 26–37, 50) are in mmu_notifier_pte.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RET_PF_FIXED, RET_PF_RETRY, RET_PF_SYNC } from '../../../src/host/x86/mmu_fault.ts';
import {
  INVALID_RANGE,
  kvm_mmu_notifier_invalidate_range_end,
  kvm_mmu_notifier_invalidate_range_start,
  kvm_swap_active_memslots,
  type MmuHost,
  mmu_invalidate_retry_gfn,
  RETRY_RANGE,
  RETRY_SEQ,
  TP_KVM_UNMAP_HVA_RANGE,
} from '../../../src/host/x86/mmu_notifier.ts';
import { host_mm_begin, host_mm_run, host_mm_step, MM_RECLAIM } from '../../../src/host/x86/primary_mmu.ts';
import { PAGE_HOST_RESIDENT, PAGE_SPTE_MAPPED, PAGE_SPTE_STALE } from '../../../src/mem/page_state.ts';
import { faultLock, guestFault, mapGfn, mmuVm, NPAGES, pageState } from '../../test_utils/mmu_fixture.ts';

// ---- B.3.7 retry predicates (cases 18–21) ----

test('mmu §E case 18 (6.8): an overlapping invalidation in progress makes the fault retry, nothing installed', () => {
  const { vm } = mmuVm('6.8');
  const h = vm.mmuHost;
  const S = vm.mmu.mmu_invalidate_seq;
  kvm_mmu_notifier_invalidate_range_start(h, 0x10, 0x11);
  assert.equal(mmu_invalidate_retry_gfn(h, S, 0x10), RETRY_RANGE);

  // The same through the split fault: GUP done, then start() for the gfn, then the mmu_lock part.
  const { vm: vm2 } = mmuVm('6.8', { split: true });
  assert.equal(guestFault(vm2, 0x10), RET_PF_SYNC);
  const t = host_mm_begin(vm2, MM_RECLAIM, 0x10, 0x11);
  host_mm_step(vm2, t); // invalidate_range_start only
  assert.equal(vm2.mmu.mmu_invalidate_in_progress, 1);
  assert.equal(faultLock(vm2), RET_PF_RETRY);
  assert.equal(pageState(vm2, 0x10) & PAGE_SPTE_MAPPED, 0, 'no mapping installed');
  assert.equal(vm2.vcpus[0]!.stat.pf_retry_stale, 1);
});

test('mmu §E case 19: a non-overlapping invalidation in progress: x86 6.8 _gfn proceeds, the count form retries', () => {
  // x86 6.8 mmu_invalidate_retry_gfn: the range test misses, seq unchanged → proceed.
  const { vm } = mmuVm('6.8');
  const S = vm.mmu.mmu_invalidate_seq;
  kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, 0x80, 0x81);
  assert.equal(vm.mmu.mmu_invalidate_in_progress, 1);
  assert.equal(mmu_invalidate_retry_gfn(vm.mmuHost, S, 0x10), 0);
  assert.equal(vm.mmu.mmu_invalidate_seq, S);

  // End to end: a split fault on 0x10 while the invalidation of 0x80 is still open installs its SPTE.
  const { vm: vs } = mmuVm('6.8', { split: true });
  assert.equal(guestFault(vs, 0x10), RET_PF_SYNC);
  kvm_mmu_notifier_invalidate_range_start(vs.mmuHost, 0x80, 0x81);
  assert.equal(faultLock(vs), RET_PF_FIXED);
  assert.ok(pageState(vs, 0x10) & PAGE_SPTE_MAPPED);

  // The count-only predicate (arm64 mmu_invalidate_retry; x86 before 5.12, here '5.10') retries.
  const { vm: vc } = mmuVm('5.10');
  const Sc = vc.mmu.mmu_invalidate_seq;
  kvm_mmu_notifier_invalidate_range_start(vc.mmuHost, 0x80, 0x81);
  assert.notEqual(mmu_invalidate_retry_gfn(vc.mmuHost, Sc, 0x10), 0);
});

test('mmu §E case 20 (6.8): a non-overlapping invalidation that started and ended → seq S+1 → retry', () => {
  for (const era of ['6.8', '5.10'] as const) {
    const { vm } = mmuVm(era);
    const S = vm.mmu.mmu_invalidate_seq;
    kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, 0x80, 0x81);
    kvm_mmu_notifier_invalidate_range_end(vm.mmuHost, 0x80, 0x81);
    assert.equal(vm.mmu.mmu_invalidate_seq, S + 1, era);
    assert.equal(vm.mmu.mmu_invalidate_in_progress, 0, era);
    assert.equal(mmu_invalidate_retry_gfn(vm.mmuHost, S, 0x10), RETRY_SEQ, era);
  }
});

test('mmu §E case 21 (6.8): two concurrent invalidations merge into [0x10,0x90): gfn 0x50 retries', () => {
  const { vm } = mmuVm('6.8');
  const S = vm.mmu.mmu_invalidate_seq;
  kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, 0x10, 0x20);
  kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, 0x80, 0x90);
  assert.equal(vm.mmu.mmu_invalidate_in_progress, 2);
  assert.equal(vm.mmu.mmu_invalidate_range_start, 0x10);
  assert.equal(vm.mmu.mmu_invalidate_range_end, 0x90);
  assert.equal(mmu_invalidate_retry_gfn(vm.mmuHost, S, 0x50), RETRY_RANGE, 'false positive in the gap');
  // Outside the merged range nothing forces a retry.
  assert.equal(mmu_invalidate_retry_gfn(vm.mmuHost, S, 0xa0), 0);
});

// ---- B.3.1–B.3.6 start/end bookkeeping (cases 22–25) ----

test('mmu §E case 22 (≥5.15, 6.8): start/end outside every memslot touch only mn_active_invalidate_count', () => {
  const { vm, events } = mmuVm('6.8');
  const m = vm.mmu;
  const S = m.mmu_invalidate_seq;
  const lo = NPAGES + 4;
  kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, lo, lo + 4);
  assert.equal(m.mn_active_invalidate_count, 1);
  assert.equal(m.mmu_invalidate_in_progress, 0);
  assert.equal(m.mmu_invalidate_range_start, INVALID_RANGE);
  assert.equal(m.stat.invalidations_hit, 0, 'no memslot hit: mmu_lock not taken');
  kvm_mmu_notifier_invalidate_range_end(vm.mmuHost, lo, lo + 4);
  assert.equal(m.mn_active_invalidate_count, 0);
  assert.equal(m.mmu_invalidate_in_progress, 0);
  assert.equal(m.mmu_invalidate_seq, S);
  assert.equal(m.stat.warns, 0);
  // §G: the tracepoint fires before the memslot walk, so such a munmap still shows one event.
  assert.deepEqual(
    events.map((e) => e.tp),
    [TP_KVM_UNMAP_HVA_RANGE],
  );
});

test('mmu §E case 23 (5.2 form, 4.19): the same range counts 0→1→0 and bumps seq', () => {
  const { vm } = mmuVm('4.19');
  const m = vm.mmu;
  const S = m.mmu_invalidate_seq;
  const lo = NPAGES + 4;
  kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, lo, lo + 4);
  assert.equal(m.mmu_invalidate_in_progress, 1);
  kvm_mmu_notifier_invalidate_range_end(vm.mmuHost, lo, lo + 4);
  assert.equal(m.mmu_invalidate_in_progress, 0);
  assert.equal(m.mmu_invalidate_seq, S + 1);
});

test('mmu §E case 24 (6.8): end() with in_progress 0: no-op without a memslot hit, KVM_BUG_ON with one', () => {
  // A start() that hit no memslot is open (mn_active 1, in_progress 0); its end() is a no-op for KVM.
  const { vm } = mmuVm('6.8');
  const m = vm.mmu;
  const S = m.mmu_invalidate_seq;
  const lo = NPAGES + 4;
  kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, lo, lo + 1);
  kvm_mmu_notifier_invalidate_range_end(vm.mmuHost, lo, lo + 1);
  assert.equal(m.mmu_invalidate_in_progress, 0);
  assert.equal(m.mmu_invalidate_seq, S);
  assert.equal(m.stat.warns, 0);

  // The same open window, but the end() names a memslot range: in_progress goes to −1 → KVM_BUG_ON.
  const { vm: v2 } = mmuVm('6.8');
  kvm_mmu_notifier_invalidate_range_start(v2.mmuHost, lo, lo + 1);
  kvm_mmu_notifier_invalidate_range_end(v2.mmuHost, 0x10, 0x11);
  assert.equal(v2.mmu.mmu_invalidate_in_progress, -1);
  assert.equal(v2.mmu.stat.warns, 1);
});

// The kernel's publication step (kvm_swap_active_memslots) sleeps while mn_active_invalidate_count > 0; the
// model's reports whether it published (false: it would sleep) and advances memslots_generation only then.
test('mmu §E case 25 (≥5.15, 6.8): a memslot update waits for the open invalidation window to end', () => {
  const { vm } = mmuVm('6.8');
  const h: MmuHost = vm.mmuHost;
  const swap = kvm_swap_active_memslots;
  const lo = NPAGES + 4;
  kvm_mmu_notifier_invalidate_range_start(h, lo, lo + 1);
  assert.equal(vm.mmu.mn_active_invalidate_count, 1);
  const gen = vm.mmu.memslots_generation;
  assert.equal(swap(h), false, 'the updater blocks while a window is open');
  assert.equal(vm.mmu.memslots_generation, gen);
  kvm_mmu_notifier_invalidate_range_end(h, lo, lo + 1);
  assert.equal(swap(h), true, 'published after the matching end()');
  assert.ok(vm.mmu.memslots_generation > gen);
});

// ---- B.3.8 the fault path end to end, split at GUP ----

test('B.3.8 split fault (6.1): the gfn reclaimed between GUP and fault_lock → RET_PF_RETRY (retry_seq)', () => {
  const { vm } = mmuVm('6.1', { split: true });
  assert.equal(guestFault(vm, 3), RET_PF_SYNC);
  host_mm_run(vm, MM_RECLAIM, 3, 4); // start + PTE clear + end, all before mmu_lock
  assert.equal(faultLock(vm), RET_PF_RETRY);
  assert.equal(vm.mmu.stat.retry_seq, 1);
  assert.equal(pageState(vm, 3) & PAGE_SPTE_MAPPED, 0);
});

test('B.3.8 split fault (6.1): reclaim still between start and end at fault_lock → retry_range', () => {
  const { vm } = mmuVm('6.1', { split: true });
  assert.equal(guestFault(vm, 3), RET_PF_SYNC);
  const t = host_mm_begin(vm, MM_RECLAIM, 3, 4);
  host_mm_step(vm, t); // start
  host_mm_step(vm, t); // the host PTE cleared, the frame freed
  assert.equal(faultLock(vm), RET_PF_RETRY);
  assert.equal(vm.mmu.stat.retry_range, 1);
  assert.equal(pageState(vm, 3) & PAGE_SPTE_MAPPED, 0);
  host_mm_step(vm, t); // end
  // The guest re-executes: the page is faulted back in and mapped, current.
  assert.equal(guestFault(vm, 3), RET_PF_SYNC);
  assert.equal(faultLock(vm), RET_PF_FIXED);
  assert.equal(pageState(vm, 3) & PAGE_SPTE_STALE, 0);
});

test('B.3.8 split fault (6.8): the lockless pre-check catches the reclaim before mmu_lock', () => {
  const { vm } = mmuVm('6.8', { split: true });
  assert.equal(guestFault(vm, 3), RET_PF_SYNC);
  host_mm_run(vm, MM_RECLAIM, 3, 4);
  assert.equal(faultLock(vm), RET_PF_RETRY);
  assert.equal(vm.mmu.stat.retry_unsafe + vm.mmu.stat.retry_seq, 1);
  assert.equal(pageState(vm, 3) & PAGE_SPTE_MAPPED, 0);
});

test('bug no-retry-check (6.1): the same sequence installs a SPTE on the freed frame (stale)', () => {
  const { vm } = mmuVm('6.1', { split: true, bugs: ['no-retry-check'] });
  assert.equal(guestFault(vm, 3), RET_PF_SYNC);
  host_mm_run(vm, MM_RECLAIM, 3, 4);
  assert.equal(faultLock(vm), RET_PF_FIXED);
  const s = pageState(vm, 3);
  assert.ok(s & PAGE_SPTE_MAPPED);
  assert.ok(s & PAGE_SPTE_STALE);
  assert.equal(s & PAGE_HOST_RESIDENT, 0);
});

test('bug seq-snapshot-late (HB1): invalidation start+end between GUP and fault_lock → stale SPTE', () => {
  for (const era of ['6.1', '6.8'] as const) {
    const { vm } = mmuVm(era, { split: true, bugs: ['seq-snapshot-late'] });
    assert.equal(guestFault(vm, 3), RET_PF_SYNC, era);
    host_mm_run(vm, MM_RECLAIM, 3, 4);
    assert.equal(faultLock(vm), RET_PF_FIXED, era);
    assert.ok(pageState(vm, 3) & PAGE_SPTE_STALE, era);
  }
  // Control: without the bug the snapshot precedes GUP and the fault retries.
  const { vm } = mmuVm('6.1', { split: true });
  guestFault(vm, 3);
  host_mm_run(vm, MM_RECLAIM, 3, 4);
  assert.equal(faultLock(vm), RET_PF_RETRY);
});

// ---- HB11, case 51 ----

test('mmu §E case 51 (6.1 + mmu-seq-sign-extension): mmu_seq = 2^31 → every fault is stale', () => {
  const { vm } = mmuVm('6.1', { bugs: ['mmu-seq-sign-extension'], seqStart: 2 ** 31 });
  for (let i = 0; i < 3; i++) assert.equal(guestFault(vm, 5), RET_PF_RETRY, `attempt ${i}`);
  assert.equal(vm.mmu.stat.retry_seq, 3);
  assert.equal(pageState(vm, 5) & PAGE_SPTE_MAPPED, 0, 'the fault never completes');
  // Just below 2^31 the int holds the value: the fault completes.
  const { vm: below } = mmuVm('6.1', { bugs: ['mmu-seq-sign-extension'], seqStart: 2 ** 31 - 1 });
  assert.equal(guestFault(below, 5), RET_PF_FIXED);
});

test('mmu §E case 51: 6.8 (fixed in 6.3) and 6.1 without the bug switch complete the fault at 2^31', () => {
  for (const era of ['6.8', '6.1'] as const) {
    const { vm } = mmuVm(era, { seqStart: 2 ** 31 });
    assert.equal(guestFault(vm, 5), RET_PF_FIXED, era);
    assert.ok(pageState(vm, 5) & PAGE_SPTE_MAPPED, era);
  }
});

test('mmu §E case 51: with the bug, any mmu_seq ≥ 2^31 is stale, also ≥ 2^32 ((int) truncation)', () => {
  for (const start of [2 ** 32, 2 ** 32 + 7, 3 * 2 ** 31]) {
    const { vm } = mmuVm('6.1', { bugs: ['mmu-seq-sign-extension'], seqStart: start });
    assert.equal(guestFault(vm, 5), RET_PF_RETRY, `mmu_seq ${start}`);
  }
});

// A fault that completes leaves a current SPTE; mapGfn is what the other tests build on.
test('fixture: a read fault on a resident page maps it (6.8, split and whole)', () => {
  for (const split of [false, true]) {
    const { vm } = mmuVm('6.8', { split });
    mapGfn(vm, 7);
    assert.equal(pageState(vm, 7), PAGE_HOST_RESIDENT | PAGE_SPTE_MAPPED);
  }
});
