// The host's memory operations on guest memory, each as the primary MMU (Linux mm) performs it and with the
// notifier calls it makes (mmu.md B.2, B.4.1, B.4.2): invalidate_range_start → the host PTE change →
// [change_pte, for set_pte_at_notify callers] → invalidate_range_end. Each part is one step, so a scheduler
// can interleave guest faults inside the window; `host_mm_run` runs an operation whole.
//
// An operation in flight is a "host mm thread" in HostMm (a small fixed pool of typed arrays, so the
// explorer can encode it): its kind, its range in slot pages (mmu_notifier.ts) and its next phase.

import {
  BACKING_DEVMEM,
  BACKING_RAM,
  backing_frame_gone,
  backing_frame_replaced,
  backing_page_held,
  type HostBacking,
} from '../../mem/host_backing.ts';
import {
  host_page_replace,
  host_page_set_ksm,
  host_pte_clear,
  host_pte_set_protnone,
  host_pte_set_ro,
  PAGE_HOST_RESIDENT,
  PAGE_HOST_RO,
  PAGE_KSM,
  type PageStates,
} from '../../mem/page_state.ts';
import { gfn_to_pfn_cache_invalidate_start } from '../kvm_gpc.ts';
import { kvm_mmu_zap_all_fast } from './mmu_caches_vm.ts';
import { FAULT_PFN_STALE, FAULT_ROOT_OBSOLETE } from './mmu_fault_flags.ts';
import { HPAGE_PMD_NR, type KvmHugepages, thp_host_pmd_clear, thp_host_pmd_set } from './mmu_hugepage.ts';
import {
  kvm_invalidate_memslot,
  kvm_mmu_invalidate_end_publish,
  kvm_mmu_notifier_change_pte,
  kvm_mmu_notifier_invalidate_range_end,
  kvm_mmu_notifier_invalidate_range_start,
  kvm_swap_active_memslots,
} from './mmu_notifier.ts';
import type { KvmVm } from './vm.ts';

/**
 * The operations (names are the scripts' `host_*` ops without the prefix):
 * - `reclaim`: try_to_unmap of one page for swap-out (the frame is freed; a later access needs I/O);
 * - `dontneed`: MADV_DONTNEED over a range (zap_page_range: the frames are freed, one invalidation);
 * - `munmap`: munmap of a range (outside the memslot in the §G recipe: KVM sees a range it ignores);
 * - `ksm_wrprotect`: KSM write_protect_page (same frame, read-only; set_pte_at_notify);
 * - `ksm_replace`: KSM replace_page (the PTE now maps the shared KSM page, read-only; set_pte_at_notify);
 * - `cow`: wp_page_copy, a write to a KSM/shared page breaking it (a private writable copy; set_pte_at_notify);
 * - `mprotect_ro` / `mprotect_rw`: change_protection to read-only / writable (same frame);
 * - `numa_protnone`: change_prot_numa, the NUMA-hinting scan (PROT_NONE; MMU_NOTIFY_PROTECTION_VMA);
 * - `migrate`: migrate_pages (try_to_migrate: a copy in a new frame, same protection);
 * - `thp_split`: split_huge_pmd (same frames, mapped by 4 KiB PTEs now);
 * - `thp_collapse`: khugepaged collapse_huge_page (the range is copied into one new huge frame);
 * - `memslot_remap`: see MM_MEMSLOT_REMAP.
 */
export const HOST_MM_OPS = [
  'reclaim',
  'dontneed',
  'munmap',
  'ksm_wrprotect',
  'ksm_replace',
  'cow',
  'mprotect_ro',
  'mprotect_rw',
  'numa_protnone',
  'migrate',
  'thp_split',
  'thp_collapse',
  'memslot_remap',
] as const;
export type HostMmOpName = (typeof HOST_MM_OPS)[number];
export const MM_RECLAIM = 0;
export const MM_DONTNEED = 1;
export const MM_MUNMAP = 2;
export const MM_KSM_WRPROTECT = 3;
export const MM_KSM_REPLACE = 4;
export const MM_COW = 5;
export const MM_MPROTECT_RO = 6;
export const MM_MPROTECT_RW = 7;
export const MM_NUMA_PROTNONE = 8;
export const MM_MIGRATE = 9;
export const MM_THP_SPLIT = 10;
export const MM_THP_COLLAPSE = 11;
/**
 * Not an mm operation but the VMM's: KVM_SET_USER_MEMORY_REGION moving guest RAM to another host
 * address (a DELETE and a CREATE): kvm_invalidate_memslot (INVALID, zap, obsolete roots), then
 * kvm_swap_active_memslots publishes the slot at its new address, waiting from 5.15 for every open
 * invalidation window to close.
 */
export const MM_MEMSLOT_REMAP = 12;

/** The operations whose PTE change is a set_pte_at_notify (a change_pte call) before 6.10. */
const usesSetPteAtNotify = (op: number): boolean =>
  op === MM_KSM_WRPROTECT || op === MM_KSM_REPLACE || op === MM_COW;

/** Phases of an operation in flight: the next thing it does. */
export const PH_IDLE = 0;
export const PH_START = 1;
export const PH_PTE = 2;
export const PH_END = 3;
/** end-order-reversed: end() ran, its seq++ is not visible yet. */
export const PH_PUBLISH = 4;

/** How many host memory operations can be in flight at once (host mm threads). */
export const MAX_MM_OPS = 4;

export class HostMm {
  readonly op = new Int32Array(MAX_MM_OPS);
  readonly start = new Int32Array(MAX_MM_OPS);
  readonly end = new Int32Array(MAX_MM_OPS);
  readonly phase = new Int32Array(MAX_MM_OPS);
  /** Operations run so far, by kind (HOST_MM_OPS order): the simulator's "invalidations by source". */
  readonly count = new Float64Array(HOST_MM_OPS.length);
}

/** Whether operation `op` on this VM brackets its PTE change with invalidate_range_start/end for KVM. */
export function bracketed(vm: KvmVm, op: number): boolean {
  if (!usesSetPteAtNotify(op)) return true;
  const m = vm.era.mmu;
  // ≤3.6 KSM and COW did not bracket set_pte_at_notify; the what-if drops the bracket in any era; Glisse's
  // RFC keeps the bracket but KVM's start/end return at once for a range flagged MMU_NOTIFIER_USE_CHANGE_PTE.
  return m.changePte !== 'unbracketed' && !m.changePteOutsideWindow && !m.useChangePte;
}

/** Starts operation `op` on slot pages [start, end); returns its thread, or -1 when all are busy. */
export function host_mm_begin(vm: KvmVm, op: number, start: number, end: number): number {
  const mm = vm.mm;
  for (let t = 0; t < MAX_MM_OPS; t++) {
    if (mm.phase[t] !== PH_IDLE) continue;
    mm.op[t] = op;
    mm.start[t] = start;
    mm.end[t] = end;
    mm.phase[t] = bracketed(vm, op) ? PH_START : PH_PTE;
    mm.count[op]!++;
    return t;
  }
  return -1;
}

/** Thread `t` is done: idle, with nothing left of its operation (what the explorer encodes). */
function retire(mm: HostMm, t: number): void {
  mm.phase[t] = PH_IDLE;
  mm.op[t] = 0;
  mm.start[t] = 0;
  mm.end[t] = 0;
}

/** Runs the next phase of thread `t` (its phase is not PH_IDLE). */
export function host_mm_step(vm: KvmVm, t: number): void {
  const mm = vm.mm;
  const op = mm.op[t]!;
  const start = mm.start[t]!;
  const end = mm.end[t]!;
  if (op === MM_MEMSLOT_REMAP) {
    memslotRemapStep(vm, t);
    return;
  }
  switch (mm.phase[t]) {
    case PH_START:
      vm.mmuHost.zapOp = op;
      invalidateGpcs(vm, start, end);
      kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, start, end);
      mm.phase[t] = PH_PTE;
      return;
    case PH_PTE:
      changePtes(vm, op, start, end);
      if (bracketed(vm, op)) mm.phase[t] = PH_END;
      else retire(mm, t);
      return;
    case PH_END: {
      const later = vm.era.mmu.endOrderReversed;
      kvm_mmu_notifier_invalidate_range_end(vm.mmuHost, start, end, later);
      if (later) mm.phase[t] = PH_PUBLISH;
      else retire(mm, t);
      return;
    }
    case PH_PUBLISH:
      kvm_mmu_invalidate_end_publish(vm.mmuHost);
      retire(mm, t);
      return;
    default:
      throw new Error(`host mm thread ${t} is idle`);
  }
}

/** Runs operation `op` on [start, end) whole (scripts, the simulator, a COW inside a fault's GUP). */
export function host_mm_run(vm: KvmVm, op: number, start: number, end: number): void {
  vm.mm.count[op]!++;
  vm.mmuHost.zapOp = op;
  if (op === MM_MEMSLOT_REMAP) {
    invalidateMemslot(vm);
    if (!kvm_swap_active_memslots(vm.mmuHost, remapBase(vm)))
      throw new RangeError('host_mm_run: memslot update while an invalidation window is open');
    return;
  }
  const b = bracketed(vm, op);
  if (b) {
    invalidateGpcs(vm, start, end);
    kvm_mmu_notifier_invalidate_range_start(vm.mmuHost, start, end);
  }
  changePtes(vm, op, start, end);
  if (b) kvm_mmu_notifier_invalidate_range_end(vm.mmuHost, start, end);
}

/** gfn_to_pfn_cache_invalidate_start, which invalidate_range_start runs first (5.17+ gpcs; kvm_gpc.ts). */
function invalidateGpcs(vm: KvmVm, start: number, end: number): void {
  const hm = vm.hostMaps;
  if (hm !== null && hm.gpcs.length > 0) gfn_to_pfn_cache_invalidate_start(hm.gpcs, start, end);
}

/** Whether a host mm thread is free to start an operation. */
export function host_mm_free(vm: KvmVm): boolean {
  const p = vm.mm.phase;
  for (let t = 0; t < MAX_MM_OPS; t++) if (p[t] === PH_IDLE) return true;
  return false;
}

/** Whether any host memory operation is between its start and its end (or has not finished). */
export function host_mm_busy(vm: KvmVm): boolean {
  const p = vm.mm.phase;
  for (let t = 0; t < MAX_MM_OPS; t++) if (p[t] !== PH_IDLE) return true;
  return false;
}

/** The slot page a remap moves guest RAM to: it alternates between two disjoint host ranges. */
const remapBase = (vm: KvmVm): number => (vm.mmu.slot_base === 0 ? vm.mem.npages : 0);

/** kvm_invalidate_memslot, and every fault in flight now targets an obsolete root. */
function invalidateMemslot(vm: KvmVm): void {
  kvm_invalidate_memslot(vm.mmuHost);
  // kvm_mmu_zap_all_fast: the paging-structure pages go (the vCPUs drop their obsolete roots and load
  // new ones at their next entry or fault).
  if (vm.memcache !== null) kvm_mmu_zap_all_fast(vm.memcache);
  const hb = vm.hostMaps?.backing;
  if (hb !== undefined) {
    // The VMM's new host range has its own frames (a copy of guest RAM); a kvm_vcpu_map mapping keeps the
    // old one, and the gfn_to_pfn_cache's generation is now stale.
    hb.generation++;
    for (let g = 0; g < hb.npages; g++) if (hb.kind[g] !== BACKING_DEVMEM) backing_frame_replaced(hb, g);
  }
  for (const v of vm.vcpus)
    if (v.mmu_fault_gfn >= 0 || v.sync_fault_gfn >= 0) v.mmu_fault_flags |= FAULT_ROOT_OBSOLETE;
}

/** Whether thread `t` can take its next step (a memslot publication may have to wait). */
export function host_mm_can_step(vm: KvmVm, t: number): boolean {
  const ph = vm.mm.phase[t]!;
  if (ph === PH_IDLE) return false;
  if (vm.mm.op[t] !== MM_MEMSLOT_REMAP || ph !== PH_PTE) return true;
  const e = vm.era.mmu;
  return !e.lockElision || e.noMemslotInterlock || vm.mmu.mn_active_invalidate_count === 0;
}

function memslotRemapStep(vm: KvmVm, t: number): void {
  const mm = vm.mm;
  if (mm.phase[t] === PH_START) {
    vm.mmuHost.zapOp = MM_MEMSLOT_REMAP;
    invalidateMemslot(vm);
    mm.phase[t] = PH_PTE;
  } else if (kvm_swap_active_memslots(vm.mmuHost, remapBase(vm))) retire(mm, t);
}

/** A fault that resolved the old frame of `gfn` and has not installed it yet now holds a stale pfn. */
function staleInflight(vm: KvmVm, gfn: number): void {
  for (const v of vm.vcpus) if (v.mmu_fault_gfn === gfn) v.mmu_fault_flags |= FAULT_PFN_STALE;
}

/**
 * With guest maps (host_maps.ts), the page cannot be moved or merged: it is not ordinary RAM (KSM,
 * migration and khugepaged do not touch VM_PFNMAP/VM_IO memory), or someone besides the page tables holds
 * it. A reference or a FOLL_PIN pin (which adds to the refcount) makes folio_migrate_mapping's
 * `folio_ref_count != expected` check fail with -EAGAIN (the migration PTEs are then restored to the same
 * folio), KSM's write_protect_page give up on `mapcount + 1 + swapped != refcount` (the PTE is put back),
 * and khugepaged's is_refcount_suitable refuse the collapse. The notifier window has run all the same.
 */
const cannotMove = (hb: HostBacking | null, g: number): boolean =>
  hb !== null && (hb.kind[g] !== BACKING_RAM || backing_page_held(hb, g));

/** The frame of `gfn` goes (DONTNEED, munmap, reclaim); device memory and a reclaimed held page stay. */
function frameGone(hb: HostBacking | null, op: number, g: number): void {
  if (hb === null || hb.kind[g] === BACKING_DEVMEM) return;
  // Reclaim cannot free a folio with extra references (__remove_mapping's refcount freeze fails): it
  // stays in the swap cache, and the next fault maps the same folio again.
  if (op === MM_RECLAIM && backing_page_held(hb, g)) return;
  backing_frame_gone(hb, g);
}

/** The primary MMU's PTE change for `op` on each resident page of [start, end) ∩ memslot. */
function changePtes(vm: KvmVm, op: number, start: number, end: number): void {
  const st = vm.mem.pageState;
  const base = vm.mmu.slot_base;
  const lo = Math.max(0, start - base);
  const hi = Math.min(vm.mem.npages, end - base);
  const rfc = vm.era.mmu.useChangePte;
  const hb = vm.hostMaps?.backing ?? null;
  let refused = 0;
  for (let g = lo; g < hi; g++) {
    const s = st[g]!;
    if ((s & PAGE_HOST_RESIDENT) === 0) continue;
    if (
      (op === MM_KSM_WRPROTECT || op === MM_KSM_REPLACE || op === MM_MIGRATE || op === MM_THP_COLLAPSE) &&
      cannotMove(hb, g)
    ) {
      refused++;
      continue;
    }
    switch (op) {
      case MM_RECLAIM:
      case MM_DONTNEED:
      case MM_MUNMAP:
        host_pte_clear(st, g);
        staleInflight(vm, g);
        frameGone(hb, op, g);
        break;
      case MM_KSM_WRPROTECT:
        host_pte_set_ro(st, g, true);
        kvm_mmu_notifier_change_pte(vm.mmuHost, g + base, true, rfc);
        break;
      case MM_KSM_REPLACE:
        host_page_replace(st, g, true, true);
        staleInflight(vm, g);
        if (hb !== null) backing_frame_replaced(hb, g);
        kvm_mmu_notifier_change_pte(vm.mmuHost, g + base, true, rfc);
        break;
      case MM_COW:
        if ((s & (PAGE_KSM | PAGE_HOST_RO)) === 0) break; // nothing to break: the page is private and writable
        host_page_replace(st, g, false, false);
        staleInflight(vm, g);
        if (hb !== null) backing_frame_replaced(hb, g);
        kvm_mmu_notifier_change_pte(vm.mmuHost, g + base, false, rfc);
        break;
      case MM_MPROTECT_RO:
      case MM_MPROTECT_RW:
        host_pte_set_ro(st, g, op === MM_MPROTECT_RO);
        break;
      case MM_NUMA_PROTNONE:
        host_pte_set_protnone(st, g, true);
        break;
      case MM_MIGRATE:
      case MM_THP_COLLAPSE:
        host_page_replace(st, g, (s & PAGE_KSM) !== 0, (s & PAGE_HOST_RO) !== 0);
        staleInflight(vm, g);
        if (hb !== null) backing_frame_replaced(hb, g);
        break;
      case MM_THP_SPLIT:
        break;
    }
  }
  const thp = vm.mmuHost.thp;
  if (thp !== null) thpHostPmd(thp, st, op, lo, hi, refused);
}

/**
 * With THP (mmu_hugepage.ts): whether the host maps each 2 MiB range huge after `op` on gfns [lo, hi). A
 * collapse of one whole range with every page resident and none refused makes it PMD-mapped
 * (collapse_huge_page's set_pmd_at); a protection change keeps a PMD it covers whole (change_huge_pmd); any other
 * operation on part of a range leaves it mapped by 4 KiB PTEs (split_huge_pmd first; the simulator runs that
 * split as its own `thp_split` operation, so this only makes sure).
 */
function thpHostPmd(
  t: KvmHugepages,
  st: PageStates,
  op: number,
  lo: number,
  hi: number,
  refused: number,
): void {
  if (hi <= lo) return;
  if (op === MM_MPROTECT_RO || op === MM_MPROTECT_RW || op === MM_NUMA_PROTNONE) {
    // change_huge_pmd keeps a PMD the change covers whole; a PMD it covers in part is split first.
    if (lo % HPAGE_PMD_NR !== 0) thp_host_pmd_clear(t, lo, lo + 1);
    if (hi % HPAGE_PMD_NR !== 0) thp_host_pmd_clear(t, hi - 1, hi);
    return;
  }
  if (op === MM_THP_COLLAPSE) {
    if (hi - lo !== HPAGE_PMD_NR || lo % HPAGE_PMD_NR !== 0 || refused > 0) return;
    for (let g = lo; g < hi; g++) if ((st[g]! & PAGE_HOST_RESIDENT) === 0) return;
    thp_host_pmd_set(t, lo);
    return;
  }
  thp_host_pmd_clear(t, lo, hi);
}

/**
 * KSM turned a write-protected page into the KSM page itself (try_to_merge_two_pages: the first page of a
 * new stable node keeps its frame; stable_tree_insert / set_page_stable_node). No PTE changes, so no
 * notifier runs; a later write breaks it by COW. `slotPage` is in slot pages; outside the memslot, nothing.
 */
export function ksm_page_stable(vm: KvmVm, slotPage: number): void {
  const g = slotPage - vm.mmu.slot_base;
  if (g < 0 || g >= vm.mem.npages) return;
  if ((vm.mem.pageState[g]! & PAGE_HOST_RESIDENT) !== 0) host_page_set_ksm(vm.mem.pageState, g);
}
