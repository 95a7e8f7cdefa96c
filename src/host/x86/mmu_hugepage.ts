// Transparent huge pages as x86 KVM's MMU sees them (arch/x86/kvm/mmu/mmu.c): the host maps a 2 MiB range
// of guest RAM with one PMD (a THP that khugepaged collapsed), and a fault on any gfn of it maps the whole
// range with one 2 MiB SPTE; an invalidation that touches any part of such a range zaps that SPTE, i.e. all
// 512 gfns at once.
//
// Opt-in per VM (enableThp): only the simulator turns it on (host.thp, docs/simulator.md "Transparent
// huge pages"). Without it every mapping is 4 KiB, as the scripts and the explorer have always modelled.
//
// State, one byte per 2 MiB range of the memslot (typed arrays, no allocation on the fault path):
// - host_pmd: the primary MMU maps the range with a huge PMD. thp_collapse sets it (primary_mmu.ts), a split
//   and any operation that changes part of the range clear it. While it is set every page of the range is
//   resident (the host splits a THP before it reclaims a page of it).
// - huge_spte: KVM maps the range with one 2 MiB SPTE (the 512 gfns' PAGE_SPTE_MAPPED bits were set by one
//   fault).
// Simplifications: a huge SPTE keeps per-4 KiB accessed bits (the hardware has one for the 2 MiB leaf), and
// the memory caches (mmu_caches) still count the levels of a 4 KiB walk for it.
import { host_pte_set_protnone, type PageStates, spte_install_pfn } from '../../mem/page_state.ts';
import type { KvmVm } from './vm.ts';

/** Pages per 2 MiB range (HPAGE_PMD_NR) and its shift. */
export const HPAGE_PMD_NR = 512;
export const HPAGE_PMD_SHIFT = 9;
/** Mapping levels (enum pg_level). */
export const PG_LEVEL_4K = 1;
export const PG_LEVEL_2M = 2;

export class KvmHugepages {
  readonly host_pmd: Uint8Array;
  readonly huge_spte: Uint8Array;
  /** Faults that installed a 2 MiB SPTE, and huge SPTEs an invalidation zapped whole. */
  huge_installs = 0;
  huge_zaps = 0;
  /** kvm_huge_zap_range's second result. */
  zapHi = 0;

  /** Whole 2 MiB ranges of an `npages` memslot (a partial last range is never huge). */
  constructor(readonly npages: number) {
    const n = Math.floor(npages / HPAGE_PMD_NR);
    this.host_pmd = new Uint8Array(n);
    this.huge_spte = new Uint8Array(n);
  }

  get nranges(): number {
    return this.host_pmd.length;
  }
}

/**
 * @kernel host_pfn_mapping_level: the level at which the host maps gfn's page (its primary MMU's page
 * table walk): 2M when a huge PMD maps its range.
 */
export function host_pfn_mapping_level(t: KvmHugepages, gfn: number): number {
  const r = gfn >>> HPAGE_PMD_SHIFT;
  return r < t.host_pmd.length && t.host_pmd[r] !== 0 ? PG_LEVEL_2M : PG_LEVEL_4K;
}

/**
 * @kernel kvm_mmu_hugepage_adjust (via kvm_mmu_max_mapping_level): the fault's goal level. A 2 MiB SPTE
 * needs the host to map the range huge and the memslot to allow it: its guest-physical and host-virtual
 * addresses aligned alike (otherwise kvm_alloc_memslot_metadata disallows large pages on the whole slot).
 * `slotBase` is the memslot's first slot page (mmu_notifier.ts).
 */
export function kvm_mmu_hugepage_adjust(t: KvmHugepages, slotBase: number, gfn: number): number {
  if ((slotBase & (HPAGE_PMD_NR - 1)) !== 0) return PG_LEVEL_4K;
  return host_pfn_mapping_level(t, gfn);
}

/**
 * The fault installs a 2 MiB SPTE for gfn's range (the tail of direct_map at goal level 2M): the SPTEs of
 * all 512 gfns become present, from the current frames (the fault's retry check passed, so none is stale).
 */
export function kvm_mmu_map_huge(st: PageStates, t: KvmHugepages, gfn: number, writable: boolean): void {
  const r = gfn >>> HPAGE_PMD_SHIFT;
  const lo = r << HPAGE_PMD_SHIFT;
  for (let g = lo; g < lo + HPAGE_PMD_NR; g++) spte_install_pfn(st, g, writable, false);
  t.huge_spte[r] = 1;
  t.huge_installs++;
}

/**
 * The gfn range an invalidation of [lo, hi) zaps: extended to whole 2 MiB ranges where a huge SPTE maps
 * them (a leaf SPTE is zapped whole: kvm_tdp_mmu_unmap_gfn_range / the rmap walk drop the 2 MiB leaf that
 * covers any part of the range). Those huge SPTEs are gone afterwards. Returns the new lo; the new hi is in
 * `zapHi` (no allocation).
 */
export function kvm_huge_zap_range(t: KvmHugepages, lo: number, hi: number): number {
  if (hi <= lo) {
    t.zapHi = hi;
    return lo;
  }
  const r0 = lo >>> HPAGE_PMD_SHIFT;
  const r1 = (hi - 1) >>> HPAGE_PMD_SHIFT;
  const n = t.huge_spte.length;
  let newLo = lo;
  let newHi = hi;
  for (let r = r0; r <= r1 && r < n; r++) {
    if (t.huge_spte[r] === 0) continue;
    t.huge_spte[r] = 0;
    t.huge_zaps++;
    if (r === r0) newLo = r << HPAGE_PMD_SHIFT;
    if (r === r1) newHi = (r + 1) << HPAGE_PMD_SHIFT;
  }
  t.zapHi = newHi;
  return newLo;
}

/** The primary MMU changed gfns [lo, hi) other than by a collapse: no range there is PMD-mapped any more. */
export function thp_host_pmd_clear(t: KvmHugepages, lo: number, hi: number): void {
  if (hi <= lo) return;
  const n = t.host_pmd.length;
  for (let r = lo >>> HPAGE_PMD_SHIFT; r <= (hi - 1) >>> HPAGE_PMD_SHIFT && r < n; r++) t.host_pmd[r] = 0;
}

/** collapse_huge_page succeeded on the range starting at gfn lo (aligned): the host maps it with a PMD. */
export function thp_host_pmd_set(t: KvmHugepages, lo: number): void {
  const r = lo >>> HPAGE_PMD_SHIFT;
  if (r < t.host_pmd.length) t.host_pmd[r] = 1;
}

/** Turns THP on for `vm` (the simulator's host.thp): from now on faults and invalidations see huge ranges. */
export function enableThp(vm: KvmVm): KvmHugepages {
  const t = new KvmHugepages(vm.mem.npages);
  vm.mmuHost.thp = t;
  return t;
}

/**
 * @kernel do_huge_pmd_numa_page: the NUMA-hinting fault on a huge PMD restores the whole PMD (the 512 pages'
 * PROT_NONE goes at once). The caller reports one hinting fault.
 */
export function do_huge_pmd_numa_page(st: PageStates, gfn: number): void {
  const lo = (gfn >>> HPAGE_PMD_SHIFT) << HPAGE_PMD_SHIFT;
  for (let g = lo; g < lo + HPAGE_PMD_NR; g++) host_pte_set_protnone(st, g, false);
}
