// Conformance of the MMU-notifier model with ../shared/spec/mmu.md Part B, change_pte and aging (B.4, B.5):
// mmu §E cases 26–37, the KSM counts of case 50 and §G, and the ≤3.6 / ≥3.7 change_pte difference.
// The invalidation side (cases 18–25, 51) is in mmu_notifier.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EraName } from '../../../src/host/x86/era.ts';
import { RET_PF_FIXED } from '../../../src/host/x86/mmu_fault.ts';
import {
  AGE_CLEAR,
  AGE_CLEAR_FLUSH,
  AGE_TEST,
  kvm_mmu_notifier_age,
  kvm_mmu_notifier_change_pte,
  kvm_mmu_notifier_invalidate_range_start,
  TP_KVM_SET_SPTE_HVA,
  TP_KVM_UNMAP_HVA_RANGE,
} from '../../../src/host/x86/mmu_notifier.ts';
import {
  host_mm_begin,
  host_mm_run,
  host_mm_step,
  MM_COW,
  MM_DONTNEED,
  MM_KSM_REPLACE,
  MM_KSM_WRPROTECT,
  MM_MPROTECT_RO,
  MM_MPROTECT_RW,
  MM_MUNMAP,
  PH_IDLE,
} from '../../../src/host/x86/primary_mmu.ts';
import type { KvmVm } from '../../../src/host/x86/vm.ts';
import { PAGE_SIZE } from '../../../src/mem/guest_memory.ts';
import {
  host_page_replace,
  PAGE_HOST_RESIDENT,
  PAGE_HOST_RO,
  PAGE_KSM,
  PAGE_SPTE_MAPPED,
  PAGE_SPTE_OLD,
  PAGE_SPTE_RO,
  PAGE_SPTE_STALE,
  spte_age,
} from '../../../src/mem/page_state.ts';
import { guestFault, mapGfn, mmuVm, NPAGES, pageState } from '../../test_utils/mmu_fixture.ts';

const G = 5;
const MAPPED_RW = PAGE_HOST_RESIDENT | PAGE_SPTE_MAPPED;

/** A KSM merge of slot page `g` as pre-6.10 mm/ksm.c does it: write_protect_page, then replace_page. */
function ksmMerge(vm: KvmVm, g: number): void {
  host_mm_run(vm, MM_KSM_WRPROTECT, g, g + 1);
  host_mm_run(vm, MM_KSM_REPLACE, g, g + 1);
}

// ---- B.4: KSM and change_pte (cases 26–33) ----

test('mmu §E case 26 (5.2 form, 4.19): KSM write_protect_page: zap in start, seq +2, one RO refault', () => {
  const { vm } = mmuVm('4.19');
  const m = vm.mmu;
  mapGfn(vm, G);
  assert.equal(pageState(vm, G), MAPPED_RW, 'mapped writable by KVM');
  const S = m.mmu_invalidate_seq;
  const t = host_mm_begin(vm, MM_KSM_WRPROTECT, G, G + 1);
  host_mm_step(vm, t); // invalidate_range_start
  assert.equal(m.mmu_invalidate_in_progress, 1);
  assert.equal(pageState(vm, G) & PAGE_SPTE_MAPPED, 0, 'start zapped the SPTE');
  host_mm_step(vm, t); // set_pte_at_notify → change_pte
  assert.equal(m.mmu_invalidate_seq, S + 1, 'the 5.2 change_pte bumps seq');
  assert.equal(m.stat.change_pte, 1);
  assert.equal(m.stat.change_pte_found_spte, 0);
  host_mm_step(vm, t); // invalidate_range_end
  assert.equal(vm.mm.phase[t], PH_IDLE);
  assert.equal(m.mmu_invalidate_seq, S + 2);
  assert.equal(m.mmu_invalidate_in_progress, 0);
  assert.equal(pageState(vm, G) & PAGE_SPTE_MAPPED, 0, 'SPTE absent after the merge step');
  // The next guest read faults once and maps the page read-only.
  assert.equal(guestFault(vm, G), RET_PF_FIXED);
  assert.equal(pageState(vm, G), MAPPED_RW | PAGE_HOST_RO | PAGE_SPTE_RO);
});

test('mmu §E case 27 (6.8): the same sequence: change_pte walks (in_progress 1), finds nothing, no flush; seq +1', () => {
  const { vm } = mmuVm('6.8');
  const m = vm.mmu;
  mapGfn(vm, G);
  const S = m.mmu_invalidate_seq;
  const t = host_mm_begin(vm, MM_KSM_WRPROTECT, G, G + 1);
  host_mm_step(vm, t);
  assert.equal(m.mmu_invalidate_in_progress, 1);
  assert.equal(m.mmu_invalidate_range_start, G);
  assert.equal(m.mmu_invalidate_range_end, G + 1);
  assert.equal(pageState(vm, G) & PAGE_SPTE_MAPPED, 0);
  const flushes = m.stat.tlb_flushes;
  host_mm_step(vm, t);
  assert.equal(m.stat.change_pte, 1);
  assert.equal(m.stat.change_pte_found_spte, 0);
  assert.equal(m.stat.tlb_flushes, flushes, 'change_pte requests no flush');
  assert.equal(m.mmu_invalidate_seq, S, 'no seq bump in change_pte from 5.13');
  host_mm_step(vm, t);
  assert.equal(m.mmu_invalidate_seq, S + 1);
  assert.equal(m.mmu_invalidate_in_progress, 0);
  assert.equal(m.stat.warns, 0);
});

test('mmu §E case 28 (6.8): change_pte after a start() that hit no memslot returns at once, no WARN', () => {
  const { vm } = mmuVm('6.8');
  const m = vm.mmu;
  const S = m.mmu_invalidate_seq;
  const p = NPAGES + 2;
  kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, p, p + 1);
  assert.equal(m.mn_active_invalidate_count, 1);
  assert.equal(kvm_mmu_notifier_change_pte(vm.mmuHost, p, true), true, 'the callback exists in 6.8');
  assert.equal(m.stat.warns, 0, 'mn_active_invalidate_count is 1: no WARN');
  assert.equal(m.mmu_invalidate_in_progress, 0);
  assert.equal(m.mmu_invalidate_seq, S);
  assert.equal(m.stat.change_pte_found_spte, 0);
});

test('mmu §E case 29 (6.8): change_pte with no active invalidation WARNs, then returns (in_progress 0)', () => {
  const { vm } = mmuVm('6.8');
  const m = vm.mmu;
  mapGfn(vm, G);
  kvm_mmu_notifier_change_pte(vm.mmuHost, G, true);
  assert.equal(m.stat.warns, 1);
  assert.equal(m.stat.change_pte_found_spte, 0, 'in_progress 0: no walk');
  assert.equal(pageState(vm, G), MAPPED_RW, 'the SPTE is left alone');
});

test('mmu §E case 29 (6.8): the WARN is WARN_ON_ONCE: a second change_pte with no window raises no second WARN', () => {
  const { vm } = mmuVm('6.8');
  kvm_mmu_notifier_change_pte(vm.mmuHost, G, true);
  kvm_mmu_notifier_change_pte(vm.mmuHost, G, true);
  assert.equal(vm.mmu.stat.warns, 1);
});

test('mmu §E case 30 (6.8 x86 rmap): change_pte zaps for a writable new pte, repoints RO for a read-only one', () => {
  const { vm } = mmuVm('6.8');
  const m = vm.mmu;
  mapGfn(vm, 5);
  mapGfn(vm, 6);
  // Another invalidation in flight keeps in_progress > 0 without zapping 5 or 6.
  kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, 0x80, 0x81);
  let flushes = m.stat.tlb_flushes;
  kvm_mmu_notifier_change_pte(vm.mmuHost, 5, false);
  assert.equal(pageState(vm, 5) & PAGE_SPTE_MAPPED, 0, 'writable new pte: SPTE zapped');
  assert.equal(m.stat.tlb_flushes, flushes + 1);
  // A new frame behind gfn 6, read-only (KSM's replace_page): the SPTE still maps the old one until change_pte.
  host_page_replace(vm.mem.pageState, 6, true, true);
  assert.ok(pageState(vm, 6) & PAGE_SPTE_STALE);
  flushes = m.stat.tlb_flushes;
  kvm_mmu_notifier_change_pte(vm.mmuHost, 6, true);
  const s = pageState(vm, 6);
  assert.ok(s & PAGE_SPTE_MAPPED);
  assert.equal(s & PAGE_SPTE_STALE, 0, 'points to the new pfn');
  assert.ok(s & PAGE_SPTE_RO, 'not writable');
  assert.ok(s & PAGE_SPTE_OLD, 'access-tracked');
  assert.equal(m.stat.tlb_flushes, flushes + 1, 'flush requested');
  assert.equal(m.stat.change_pte_found_spte, 2);
});

test('mmu §E case 31 (≥6.10): a KSM merge delivers only start/end; no change_pte exists', () => {
  const { vm, events } = mmuVm('6.10');
  mapGfn(vm, G);
  const S = vm.mmu.mmu_invalidate_seq;
  ksmMerge(vm, G);
  assert.deepEqual(
    events.map((e) => e.tp),
    [TP_KVM_UNMAP_HVA_RANGE, TP_KVM_UNMAP_HVA_RANGE],
  );
  assert.equal(vm.mmu.stat.change_pte, 0);
  assert.equal(kvm_mmu_notifier_change_pte(vm.mmuHost, G, true), false, 'the callback does not exist');
  assert.equal(vm.mmu.mmu_invalidate_seq, S + 2);
  assert.equal(pageState(vm, G) & PAGE_SPTE_MAPPED, 0);
  // 6.9 still delivers change_pte inside each window.
  const { vm: v9, events: e9 } = mmuVm('6.9');
  mapGfn(v9, G);
  ksmMerge(v9, G);
  assert.deepEqual(
    e9.map((e) => e.tp),
    [TP_KVM_UNMAP_HVA_RANGE, TP_KVM_SET_SPTE_HVA, TP_KVM_UNMAP_HVA_RANGE, TP_KVM_SET_SPTE_HVA],
  );
  assert.equal(v9.mmu.stat.change_pte, 2);
});

test("mmu §E case 32 (Glisse RFC, use-change-pte, 5.10): KSM merge: no zap, change_pte repoints RO, read doesn't fault", () => {
  const { vm } = mmuVm('5.10', { bugs: ['use-change-pte'] });
  const m = vm.mmu;
  mapGfn(vm, G);
  for (const op of [MM_KSM_WRPROTECT, MM_KSM_REPLACE]) {
    const t = host_mm_begin(vm, op, G, G + 1);
    while (vm.mm.phase[t] !== PH_IDLE) {
      host_mm_step(vm, t);
      assert.equal(m.mmu_invalidate_in_progress, 0, 'start/end return at once: no count change');
      assert.ok(pageState(vm, G) & PAGE_SPTE_MAPPED, 'never zapped');
    }
  }
  assert.equal(m.stat.sptes_zapped, 0);
  assert.equal(m.stat.change_pte_found_spte, 2);
  const s = pageState(vm, G);
  assert.ok(s & PAGE_KSM, 'the host maps the KSM page');
  assert.ok(s & PAGE_SPTE_MAPPED);
  assert.ok(s & PAGE_SPTE_RO);
  assert.equal(s & PAGE_SPTE_STALE, 0, 'the SPTE maps the KSM page: a guest read does not fault');
});

test('mmu §E case 33 (Glisse RFC, use-change-pte, 5.10): munmap carries no flag → zap in start as usual', () => {
  const { vm } = mmuVm('5.10', { bugs: ['use-change-pte'] });
  mapGfn(vm, G);
  const S = vm.mmu.mmu_invalidate_seq;
  const t = host_mm_begin(vm, MM_MUNMAP, G, G + 1);
  host_mm_step(vm, t);
  assert.equal(vm.mmu.mmu_invalidate_in_progress, 1);
  assert.equal(pageState(vm, G) & PAGE_SPTE_MAPPED, 0, 'zapped in start');
  while (vm.mm.phase[t] !== PH_IDLE) host_mm_step(vm, t);
  assert.equal(vm.mmu.stat.sptes_zapped, 1);
  assert.equal(vm.mmu.mmu_invalidate_seq, S + 1);
  assert.equal(pageState(vm, G) & PAGE_SPTE_STALE, 0);
});

test('B.4.3 ≤3.6 (3.6): unbracketed KSM write-protect repoints the present SPTE RO in place and bumps seq', () => {
  const { vm } = mmuVm('3.6');
  const m = vm.mmu;
  mapGfn(vm, G);
  const S = m.mmu_invalidate_seq;
  host_mm_run(vm, MM_KSM_WRPROTECT, G, G + 1);
  assert.equal(m.stat.invalidations, 0, 'no start/end around set_pte_at_notify');
  assert.equal(m.mmu_invalidate_seq, S + 1);
  assert.equal(m.stat.change_pte_found_spte, 1);
  assert.equal(m.stat.sptes_zapped, 0);
  const s = pageState(vm, G);
  assert.ok(s & PAGE_SPTE_MAPPED, 'no zap, no refault');
  assert.ok(s & PAGE_SPTE_RO);
  // replace_page: the SPTE follows the host PTE to the KSM page.
  host_mm_run(vm, MM_KSM_REPLACE, G, G + 1);
  assert.equal(m.stat.change_pte_found_spte, 2);
  assert.equal(pageState(vm, G) & PAGE_SPTE_STALE, 0);
  assert.ok(pageState(vm, G) & PAGE_SPTE_MAPPED);
});

test('B.4.1 / mmu §D (≥3.7): change_pte never finds a present SPTE (KSM merge, then a COW break)', () => {
  const eras: EraName[] = ['3.x', '4.19', '5.10', '5.12', '5.13', '5.15', '6.1', '6.8', '6.9'];
  for (const era of eras) {
    const { vm } = mmuVm(era);
    const m = vm.mmu;
    mapGfn(vm, G);
    ksmMerge(vm, G);
    mapGfn(vm, G); // a read maps the KSM page RO
    host_mm_run(vm, MM_COW, G, G + 1);
    assert.equal(m.stat.change_pte, 3, era);
    assert.equal(m.stat.change_pte_found_spte, 0, era);
    assert.equal(pageState(vm, G) & PAGE_SPTE_MAPPED, 0, era);
  }
});

// ---- B.5: aging (cases 34–37) ----

/** Maps gfns 1, 2, 3; only 2 is young (1 and 3 aged before). */
function agingVm(era: EraName): KvmVm {
  const { vm } = mmuVm(era);
  for (const g of [1, 2, 3]) mapGfn(vm, g);
  spte_age(vm.mem.pageState, 1);
  spte_age(vm.mem.pageState, 3);
  return vm;
}

test('mmu §E case 34: clear_flush_young: 1, A cleared, flush (5.2 form 4.19, 6.8); x86 ≥6.13: no flush', () => {
  for (const [era, flush] of [
    ['4.19', 1],
    ['6.8', 1],
    ['6.13', 0],
  ] as const) {
    const vm = agingVm(era);
    const f = vm.mmu.stat.tlb_flushes;
    assert.equal(kvm_mmu_notifier_age(vm.mmuHost, AGE_CLEAR_FLUSH, 1, 4), 1, era);
    for (const g of [1, 2, 3]) assert.ok(pageState(vm, g) & PAGE_SPTE_OLD, `${era} gfn ${g}`);
    assert.equal(vm.mmu.stat.tlb_flushes, f + flush, era);
    // Nothing young any more: 0 and no flush.
    assert.equal(kvm_mmu_notifier_age(vm.mmuHost, AGE_CLEAR_FLUSH, 1, 4), 0, era);
    assert.equal(vm.mmu.stat.tlb_flushes, f + flush, era);
  }
});

test('mmu §E case 35 (6.8): clear_young: 1, A cleared, no flush', () => {
  const vm = agingVm('6.8');
  const f = vm.mmu.stat.tlb_flushes;
  assert.equal(kvm_mmu_notifier_age(vm.mmuHost, AGE_CLEAR, 1, 4), 1);
  assert.ok(pageState(vm, 2) & PAGE_SPTE_OLD);
  assert.equal(vm.mmu.stat.tlb_flushes, f);
});

test('mmu §E case 36 (6.8): test_young: 1 on an accessed page (A kept), 0 on a page with no SPTE', () => {
  const vm = agingVm('6.8');
  assert.equal(kvm_mmu_notifier_age(vm.mmuHost, AGE_TEST, 2, 3), 1);
  assert.equal(pageState(vm, 2) & PAGE_SPTE_OLD, 0, 'A bit still set');
  assert.equal(kvm_mmu_notifier_age(vm.mmuHost, AGE_TEST, 9, 10), 0, 'no SPTE');
  assert.equal(kvm_mmu_notifier_age(vm.mmuHost, AGE_TEST, 1, 2), 0, 'an aged SPTE');
});

test('mmu §E case 37 (6.8): aging an hva outside every memslot returns 0 and touches nothing', () => {
  const { vm } = mmuVm('6.8', { npages: 4 });
  for (let g = 0; g < 4; g++) mapGfn(vm, g);
  for (const kind of [AGE_CLEAR_FLUSH, AGE_CLEAR, AGE_TEST] as const)
    assert.equal(kvm_mmu_notifier_age(vm.mmuHost, kind, 4, 8), 0, `kind ${kind}`);
  assert.equal(vm.mmu.stat.tlb_flushes, 0);
  for (let g = 0; g < 4; g++) assert.equal(pageState(vm, g), MAPPED_RW);
});

// ---- §G / case 50: the primary-MMU generators' counts on 6.18 ----

test('mmu §E case 50 (6.18, model-only count): KSM merging 32 identical pages → 63 one-page kvm_unmap_hva_range', () => {
  const { vm, events } = mmuVm('6.18', { npages: 64, vcpus: 0 });
  host_mm_run(vm, MM_KSM_WRPROTECT, 0, 1); // the page that becomes the KSM page
  for (let g = 1; g < 32; g++) ksmMerge(vm, g);
  const unmaps = events.filter((e) => e.tp === TP_KVM_UNMAP_HVA_RANGE);
  assert.equal(unmaps.length, 63);
  assert.equal(events.length, 63, 'no other notifier event (no change_pte on 6.18)');
  for (const e of unmaps) assert.equal(e.end - e.start, PAGE_SIZE);
  assert.equal(unmaps[0]!.start, vm.hva_base);
});

test('mmu §G (6.18): COW break 1, MADV_DONTNEED of 8 pages 1, mprotect RO+RW 2, munmap outside the slot 1', () => {
  const { vm, events } = mmuVm('6.18', { npages: 64, vcpus: 0 });
  ksmMerge(vm, 1);
  const count = (f: () => void): number[] => {
    events.length = 0;
    f();
    return events.filter((e) => e.tp === TP_KVM_UNMAP_HVA_RANGE).map((e) => (e.end - e.start) / PAGE_SIZE);
  };
  assert.deepEqual(
    count(() => host_mm_run(vm, MM_COW, 1, 2)),
    [1],
  );
  assert.deepEqual(
    count(() => host_mm_run(vm, MM_DONTNEED, 40, 48)),
    [8],
  );
  assert.deepEqual(
    count(() => {
      host_mm_run(vm, MM_MPROTECT_RO, 50, 54);
      host_mm_run(vm, MM_MPROTECT_RW, 50, 54);
    }),
    [4, 4],
  );
  assert.deepEqual(
    count(() => host_mm_run(vm, MM_MUNMAP, 100, 104)),
    [4],
  );
});
