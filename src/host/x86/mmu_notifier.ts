// KVM's MMU-notifier side (virt/kvm/kvm_main.c, mmu.md Part B): the per-VM invalidation state, the
// callbacks the primary MMU invokes (invalidate_range_start/end, change_pte, the aging trio), and the
// retry predicates the fault path consults. The x86 handlers they call (zap, change_pte's rewrite, age)
// act on the page-state owner (src/mem/page_state.ts). Each callback is one atomic step: it runs under
// mmu_lock (or, from 5.15, without it when no memslot is hit), and nothing else can observe it half done,
// so the lock itself is not state.
//
// Addresses: the model has one memslot of npages gfns. Host memory is addressed in "slot pages", host
// virtual page numbers relative to hva_base/4096; the memslot covers slot pages [slot_base, slot_base +
// npages), gfn g at slot page slot_base + g (slot_base is 0 until the VMM remaps guest RAM: a memslot
// update). Any other page is host memory outside every memslot.

import { PAGE_SIZE } from '../../mem/guest_memory.ts';
import {
  PAGE_SPTE_MAPPED,
  PAGE_SPTE_OLD,
  type PageStates,
  spte_age,
  spte_repoint_readonly,
  spte_zap,
} from '../../mem/page_state.ts';
import type { X86KernelFns } from './kernel_fns.ts';
import type { MmuBehaviour } from './mmu_era.ts';
import { type KvmHugepages, kvm_huge_zap_range } from './mmu_hugepage.ts';

/** `mmu_invalidate_range_start` before any range was added (6.8's INVALID_GPA). */
export const INVALID_RANGE = -0x80000000;

/** Per-VM notifier state (struct kvm's mmu_invalidate_* fields and the 5.15 interlock). */
export interface KvmMmuNotifier {
  /** Bumped at every invalidation end (and by change_pte up to 5.12). Unbounded; encoders keep deltas. */
  mmu_invalidate_seq: number;
  /** start() calls without their end() (from 5.15: those that hit a memslot). */
  mmu_invalidate_in_progress: number;
  /** Union [start, end) of in-progress invalidations, in slot pages; INVALID_RANGE when none added. */
  mmu_invalidate_range_start: number;
  mmu_invalidate_range_end: number;
  /** 5.15+: every start..end window, memslot hit or not; memslot publication waits for 0. */
  mn_active_invalidate_count: number;
  /** Memslot generation (bumped twice per update: when the slot is marked INVALID and on publication). */
  memslots_generation: number;
  /** The slot is being updated (KVM_MEMSLOT_INVALID): change_pte skips it. */
  slot_invalid: boolean;
  /** Where the memslot starts, in slot pages (moved by a memslot update that remaps guest RAM). */
  slot_base: number;
  /** change_pte's WARN_ON_ONCE has fired (a static of the call site; not encoded: it only mutes). */
  change_pte_warned: boolean;
  readonly stat: MmuNotifierStats;
}

/** What the notifier side did, for the simulator's metrics and the explorer's claims. */
export interface MmuNotifierStats {
  /** invalidate_range_start calls, and those whose range hit the memslot. */
  invalidations: number;
  invalidations_hit: number;
  /** SPTEs zapped by invalidations. */
  sptes_zapped: number;
  /** change_pte calls, and those that found a present SPTE (the claim of mmu.md §D says: never, from 3.7). */
  change_pte: number;
  change_pte_found_spte: number;
  /** Remote TLB flushes requested by notifier callbacks. */
  tlb_flushes: number;
  /** Aging callbacks (clear_flush_young, clear_young, test_young) that hit the memslot, and those answering young. */
  aging_calls: number;
  aging_young: number;
  /** Fault retries by cause: the locked predicate (range or count), a changed seq, the 6.8 lockless pre-check. */
  retry_range: number;
  retry_seq: number;
  retry_unsafe: number;
  /** … and (5.16+) a root made obsolete by a memslot update. */
  retry_root: number;
  /** SPTEs installed into a root a memslot update had made obsolete (none from 5.16). */
  obsolete_root_installs: number;
  /** KVM_BUG_ON / WARN hits (in_progress negative; change_pte with no window). */
  warns: number;
}

export function newMmuNotifier(seq = 0): KvmMmuNotifier {
  return {
    mmu_invalidate_seq: seq,
    mmu_invalidate_in_progress: 0,
    mmu_invalidate_range_start: INVALID_RANGE,
    mmu_invalidate_range_end: INVALID_RANGE,
    mn_active_invalidate_count: 0,
    memslots_generation: 0,
    slot_invalid: false,
    change_pte_warned: false,
    slot_base: 0,
    stat: {
      invalidations: 0,
      invalidations_hit: 0,
      sptes_zapped: 0,
      change_pte: 0,
      change_pte_found_spte: 0,
      tlb_flushes: 0,
      aging_calls: 0,
      aging_young: 0,
      retry_range: 0,
      retry_seq: 0,
      retry_unsafe: 0,
      retry_root: 0,
      obsolete_root_installs: 0,
      warns: 0,
    },
  };
}

/** The notifier tracepoints of include/trace/events/kvm.h (emitted by generic code from 5.13). */
export const TP_KVM_UNMAP_HVA_RANGE = 0;
export const TP_KVM_SET_SPTE_HVA = 1;
export const TP_KVM_AGE_HVA = 2;
export const TP_KVM_TEST_AGE_HVA = 3;
export const MMU_TRACEPOINT_NAMES = [
  'kvm_unmap_hva_range',
  'kvm_set_spte_hva',
  'kvm_age_hva',
  'kvm_test_age_hva',
] as const;

/** The printk text of a notifier tracepoint (`%#016lx` prints 0x and at least 14 digits; see below). */
export function formatMmuTracepoint(tp: number, start: number, end: number): string {
  switch (tp) {
    case TP_KVM_UNMAP_HVA_RANGE:
      return `mmu notifier unmap range: ${hexAlt(start)} -- ${hexAlt(end)}`;
    case TP_KVM_SET_SPTE_HVA:
      return `mmu notifier set pte hva: ${hexAlt(start)}`;
    case TP_KVM_AGE_HVA:
      return `mmu notifier age hva: ${hexAlt(start)} -- ${hexAlt(end)}`;
    case TP_KVM_TEST_AGE_HVA:
      return `mmu notifier test age hva: ${hexAlt(start)}`;
    default:
      throw new Error(`unknown mmu tracepoint ${tp}`);
  }
}

/** printf's `%#016lx`: the 0x prefix counts toward the width of 16. */
function hexAlt(v: number): string {
  if (v === 0) return '0'.padStart(16, '0');
  const h = v.toString(16);
  return `0x${h.padStart(14, '0')}`;
}

/** What the notifier callbacks need from the VM: kept as an interface so this file imports no VM type. */
export interface MmuHost {
  readonly mmu: KvmMmuNotifier;
  readonly mmuEra: MmuBehaviour;
  readonly pages: PageStates;
  readonly npages: number;
  /** Host virtual address of slot page 0. */
  readonly hvaBase: number;
  /** Tracepoint sink for the notifier events (start, end are host virtual addresses), or null. */
  readonly mmuTrace: ((tp: number, start: number, end: number) => void) | null;
  /** A host WARN / KVM_BUG_ON splat. */
  mmuWarn(message: string): void;
  /** Transparent huge pages (mmu_hugepage.ts), when the VM has them (enableThp); null: 4 KiB only. */
  thp: KvmHugepages | null;
  /**
   * Instrumentation, not kernel state (the simulator's refaults by source): per gfn, 1 + the host memory
   * operation (`zapOp`) whose invalidation last zapped its SPTE, 0 once the guest faulted on it again; null
   * where nobody asks (scripts, the explorer).
   */
  zapSource: Uint8Array | null;
  /** The host memory operation now invalidating (primary_mmu.ts sets it before invalidate_range_start). */
  zapOp: number;
  /**
   * Instrumentation, not kernel state: a notifier callback took mmu_lock and zapped or aged `sptes` SPTEs
   * under it (the simulator times the lock: src/sim/mmu_lock.ts); null where nobody asks.
   */
  onLock: ((sptes: number) => void) | null;
  /** The era's table of variant kernel functions (kernel_fns.ts), or null. */
  readonly kfn: X86KernelFns | null;
}

const hva = (h: MmuHost, page: number): number => h.hvaBase + page * PAGE_SIZE;

/** Whether [start, end) (slot pages) intersects the memslot. */
export const hitsMemslot = (h: MmuHost, start: number, end: number): boolean =>
  start < h.mmu.slot_base + h.npages && end > h.mmu.slot_base;

/** The gfn range [lo, hi) of the memslot that slot pages [start, end) cover (lo ≥ hi: none). */
const gfnLo = (h: MmuHost, start: number): number => Math.max(0, start - h.mmu.slot_base);
const gfnHi = (h: MmuHost, end: number): number => Math.min(h.npages, end - h.mmu.slot_base);

/**
 * @kernel kvm_unmap_gfn_range (x86, shadow MMU rmap walk): zap every SPTE of [start, end) ∩ memslot (with
 * THP, every huge SPTE that covers part of it, whole). Returns whether anything was zapped (the caller flushes remote TLBs).
 */
export function kvm_unmap_gfn_range_model(h: MmuHost, start: number, end: number): boolean {
  let lo = gfnLo(h, start);
  let hi = gfnHi(h, end);
  const t = h.thp;
  if (t !== null) {
    // A 2 MiB SPTE covering part of the range is zapped whole (mmu_hugepage.ts).
    lo = kvm_huge_zap_range(t, lo, hi);
    hi = t.zapHi;
  }
  let flush = false;
  const zs = h.zapSource;
  for (let g = lo; g < hi; g++) {
    if (spte_zap(h.pages, g)) {
      h.mmu.stat.sptes_zapped++;
      if (zs !== null) zs[g] = h.zapOp + 1;
      flush = true;
    }
  }
  return flush;
}

/** @kernel kvm_mmu_invalidate_range_add (6.8; the 5.12–6.7 begin merged the hva range the same way). */
function kvm_mmu_invalidate_range_add(m: KvmMmuNotifier, start: number, end: number): void {
  if (m.mmu_invalidate_range_start === INVALID_RANGE) {
    m.mmu_invalidate_range_start = start;
    m.mmu_invalidate_range_end = end;
  } else {
    m.mmu_invalidate_range_start = Math.min(m.mmu_invalidate_range_start, start);
    m.mmu_invalidate_range_end = Math.max(m.mmu_invalidate_range_end, end);
  }
}

/**
 * @kernel kvm_mmu_notifier_invalidate_range_start (mmu.md B.3.1 for ≤5.14, B.3.4 from 5.15): count the
 * window, record the range (5.12+), zap the memslot's SPTEs in it and flush. From 5.15 a range that hits no
 * memslot only raises mn_active_invalidate_count.
 */
export function kvm_mmu_notifier_invalidate_range_start(h: MmuHost, start: number, end: number): void {
  const m = h.mmu;
  const era = h.mmuEra;
  if (era.genericTracepoints) h.mmuTrace?.(TP_KVM_UNMAP_HVA_RANGE, hva(h, start), hva(h, end));
  m.stat.invalidations++;
  const hit = hitsMemslot(h, start, end);
  if (era.lockElision) m.mn_active_invalidate_count++;
  if (era.lockElision && !hit) return;
  if (hit) m.stat.invalidations_hit++;
  const zapped0 = m.stat.sptes_zapped;
  // kvm_mmu_invalidate_begin, under mmu_lock.
  m.mmu_invalidate_in_progress++;
  if (era.retry === 'gfn') {
    if (m.mmu_invalidate_in_progress === 1) m.mmu_invalidate_range_start = INVALID_RANGE;
    if (hit) kvm_mmu_invalidate_range_add(m, gfnLo(h, start), gfnHi(h, end));
  } else if (era.retry === 'hva') {
    // 5.12–6.7: the notifier's hva range itself, unclipped.
    if (m.mmu_invalidate_in_progress === 1) m.mmu_invalidate_range_start = INVALID_RANGE;
    kvm_mmu_invalidate_range_add(m, start, end);
  }
  if (hit && kvm_unmap_gfn_range(h, start, end)) m.stat.tlb_flushes++;
  h.onLock?.(m.stat.sptes_zapped - zapped0);
}

/**
 * @kernel kvm_mmu_notifier_invalidate_range_end (B.3.2, B.3.5): seq++, then (write barrier) in_progress--;
 * KVM_BUG_ON if it goes negative; from 5.15 only when a memslot is hit, and mn_active_invalidate_count--
 * always. `seqLater`: the end-order-reversed what-if, where seq++ becomes visible only in a later step
 * (kvm_mmu_invalidate_end_publish).
 */
export function kvm_mmu_notifier_invalidate_range_end(
  h: MmuHost,
  start: number,
  end: number,
  seqLater = false,
): void {
  const m = h.mmu;
  const era = h.mmuEra;
  const hit = hitsMemslot(h, start, end);
  if (!era.lockElision || hit) {
    h.onLock?.(0);
    if (!seqLater) m.mmu_invalidate_seq++;
    m.mmu_invalidate_in_progress--;
    if (m.mmu_invalidate_in_progress < 0) {
      m.stat.warns++;
      h.mmuWarn('KVM_BUG_ON: mmu_invalidate_in_progress < 0 in kvm_mmu_invalidate_end');
    }
  }
  if (era.lockElision) {
    m.mn_active_invalidate_count--;
    if (m.mn_active_invalidate_count < 0) m.stat.warns++;
  }
}

/** The end-order-reversed what-if: the seq++ that end() left in its store buffer becomes visible. */
export function kvm_mmu_invalidate_end_publish(h: MmuHost): void {
  h.mmu.mmu_invalidate_seq++;
}

/**
 * @kernel kvm_mmu_notifier_change_pte (B.4.3), for the host PTE of slot page `page` now mapping the gfn's
 * current frame, read-only (`ro`) or writable. Returns whether the callback exists in this era.
 * `rfc`: Glisse's RFC, where start/end skipped the zap and change_pte does the update.
 */
export function kvm_mmu_notifier_change_pte(h: MmuHost, page: number, ro: boolean, rfc = false): boolean {
  const m = h.mmu;
  const era = h.mmuEra;
  // Glisse's RFC (2019, on the 5.0 handler): start/end skipped the zap, change_pte bumps seq and rewrites.
  const form = rfc ? 'seq_bump' : era.changePte;
  if (form === 'removed') return false;
  if (era.genericTracepoints) h.mmuTrace?.(TP_KVM_SET_SPTE_HVA, hva(h, page), 0);
  m.stat.change_pte++;
  switch (form) {
    case 'unbracketed':
    case 'seq_bump':
      m.mmu_invalidate_seq++;
      break;
    case 'warn_count':
      if (m.mmu_invalidate_in_progress === 0 && !m.change_pte_warned) {
        m.change_pte_warned = true; // WARN_ON_ONCE
        m.stat.warns++;
        h.mmuWarn('WARNING in kvm_mmu_notifier_change_pte: !mmu_notifier_count');
      }
      break;
    case 'early_return':
      if (m.mn_active_invalidate_count === 0 && !m.change_pte_warned) {
        m.change_pte_warned = true; // WARN_ON_ONCE
        m.stat.warns++;
        h.mmuWarn('WARNING in kvm_mmu_notifier_change_pte: !mn_active_invalidate_count');
      }
      if (m.mmu_invalidate_in_progress === 0 && !rfc) return true;
      if (m.slot_invalid) return true;
      break;
  }
  if (!hitsMemslot(h, page, page + 1)) return true;
  const gfn = page - m.slot_base;
  // x86 kvm_set_pte_rmap: a writable new PTE zaps the SPTE; a read-only one is rewritten in place.
  if ((h.pages[gfn]! & PAGE_SPTE_MAPPED) === 0) return true;
  m.stat.change_pte_found_spte++;
  if (ro) spte_repoint_readonly(h.pages, gfn);
  else spte_zap(h.pages, gfn);
  m.stat.tlb_flushes++;
  return true;
}

/** Aging callbacks (mmu.md B.5). */
export const AGE_CLEAR_FLUSH = 0;
export const AGE_CLEAR = 1;
export const AGE_TEST = 2;
export type AgeKind = typeof AGE_CLEAR_FLUSH | typeof AGE_CLEAR | typeof AGE_TEST;

/**
 * @kernel kvm_mmu_notifier_clear_flush_young / clear_young / test_young over slot pages [start, end):
 * returns 1 if any SPTE in range was young. clear_* clear the accessed bits; clear_flush_young flushes
 * when something was young (not on x86 from 6.13); test_young changes nothing. No memslot hit: 0.
 */
export function kvm_mmu_notifier_age(h: MmuHost, kind: AgeKind, start: number, end: number): number {
  const era = h.mmuEra;
  if (era.genericTracepoints)
    h.mmuTrace?.(
      kind === AGE_TEST ? TP_KVM_TEST_AGE_HVA : TP_KVM_AGE_HVA,
      hva(h, start),
      kind === AGE_TEST ? 0 : hva(h, end),
    );
  if (!hitsMemslot(h, start, end)) return 0;
  const lo = gfnLo(h, start);
  const hi = gfnHi(h, end);
  let young = false;
  for (let g = lo; g < hi; g++) {
    const s = h.pages[g]!;
    if ((s & PAGE_SPTE_MAPPED) === 0) continue;
    if (kind === AGE_TEST) young ||= (s & PAGE_SPTE_OLD) === 0;
    else young = spte_age(h.pages, g) || young;
  }
  h.onLock?.(hi - lo);
  const st = h.mmu.stat;
  st.aging_calls++;
  if (young) st.aging_young++;
  if (young && kind === AGE_CLEAR_FLUSH && !era.agingFlushElided) st.tlb_flushes++;
  return young ? 1 : 0;
}

/**
 * The fault path's authoritative check under mmu_lock (mmu.md B.3.7), for slot page `gfn` and the seq
 * snapshot `seq`: returns 0 (proceed), RETRY_RANGE (an in-progress invalidation covers the fault, or, in
 * the count form, any is in progress) or RETRY_SEQ (an invalidation completed since the snapshot).
 * `seqAsInt`: the 5.16–6.2 sign-extension bug (HB11), where the snapshot was passed as an int.
 */
export const RETRY_RANGE = 1;
export const RETRY_SEQ = 2;
export function mmu_invalidate_retry_gfn(h: MmuHost, seq: number, gfn: number, seqAsInt = false): number {
  const m = h.mmu;
  if (m.mmu_invalidate_in_progress !== 0) {
    if (h.mmuEra.retry === 'count') return RETRY_RANGE;
    // An in-progress invalidation that recorded no range yet (6.8 WARNs) retries too.
    if (m.mmu_invalidate_range_start === INVALID_RANGE) return RETRY_RANGE;
    // 5.12–6.7 record host addresses: compare the fault's slot page.
    const at = h.mmuEra.retry === 'hva' ? gfn + m.slot_base : gfn;
    if (at >= m.mmu_invalidate_range_start && at < m.mmu_invalidate_range_end) return RETRY_RANGE;
  }
  const snap = seqAsInt ? signExtend32(seq) : seq;
  return m.mmu_invalidate_seq !== snap ? RETRY_SEQ : 0;
}

/** (long)(int)x for a non-negative x: what an int parameter makes of an unsigned long sequence number. */
function signExtend32(x: number): number {
  const lo = x % 2 ** 32;
  return lo >= 2 ** 31 ? lo - 2 ** 32 : lo;
}

/**
 * @kernel mmu_invalidate_retry_gfn_unsafe (6.8, d02c357e5bfa): the same test without mmu_lock, as an
 * early exit before and after GUP. In this model's atomic steps it reads the same values.
 */
export const mmu_invalidate_retry_gfn_unsafe = (h: MmuHost, seq: number, gfn: number): boolean =>
  mmu_invalidate_retry_gfn(h, seq, gfn) !== 0;

/**
 * @kernel kvm_invalidate_memslot (the first half of a memslot DELETE or MOVE, kvm_main.c): the slot is
 * flagged KVM_MEMSLOT_INVALID and published as such (generation +1), then the arch flush zaps every SPTE
 * of it; x86 kvm_mmu_zap_all_fast makes the roots obsolete (primary_mmu.ts marks the faults in flight
 * FAULT_ROOT_OBSOLETE: the model has no roots, only that fact).
 */
export function kvm_invalidate_memslot(h: MmuHost): void {
  const m = h.mmu;
  m.slot_invalid = true;
  m.memslots_generation++;
  if (kvm_unmap_gfn_range(h, m.slot_base, m.slot_base + h.npages)) m.stat.tlb_flushes++;
}

/**
 * @kernel kvm_swap_active_memslots: publishes the new memslot array (generation +1), here with the slot at
 * `base` (slot pages). From 5.15 (52ac8b358b0c) the updater first sleeps while mn_active_invalidate_count
 * is non-zero, so no invalidation window sees the memslots change between its start() and its end():
 * returns false when it would sleep (the scheduler runs it again later). The no-memslot-interlock
 * what-if publishes anyway.
 */
export function kvm_swap_active_memslots(h: MmuHost, base = h.mmu.slot_base): boolean {
  const m = h.mmu;
  if (h.mmuEra.lockElision && !h.mmuEra.noMemslotInterlock && m.mn_active_invalidate_count > 0) return false;
  m.memslots_generation++;
  m.slot_invalid = false;
  m.slot_base = base;
  return true;
}

// The hookable functions (kernel_fns.ts): each runs its model body above, or the variants' version.

/** kvm_unmap_gfn_range, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function kvm_unmap_gfn_range(h: MmuHost, start: number, end: number): boolean {
  const k = h.kfn;
  return k === null ? kvm_unmap_gfn_range_model(h, start, end) : k.kvm_unmap_gfn_range(h, start, end);
}
