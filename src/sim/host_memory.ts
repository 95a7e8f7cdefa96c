// The host's RAM as the simulator sees it: every VM's guest pages in one global index space, a limit
// on how many may be resident, and CLOCK reclaim that evicts guest pages when a page-in goes over it.
//
// The per-page state is the host model's own byte per gfn (`vm.mem.pageState`: PAGE_HOST_RESIDENT,
// PAGE_SPTE_MAPPED) plus one referenced bit per page here, so a host with 2.7 × 10^8 guest pages costs
// about 300 MB and no object per page. Evicting a page clears both of its host bits — the page is
// swapped out and its secondary-MMU mapping zapped (the MMU notifier) — so the guest's next access
// faults. KSM is off: pages are never shared.
//
// The model sets PAGE_HOST_RESIDENT itself (the worker, a sync fault-in, a prefault); the simulator
// calls `pagedIn` right after each such step for pages that were not resident before, which is where
// the resident count grows and reclaim runs.
//
// With the MMU notifiers (`host.mmu_notifiers`), an eviction is not a write of the byte here: it is the
// `evictPage` callback, which runs the x86 `host_reclaim` step (invalidate_range_start → the host PTE
// cleared → invalidate_range_end, src/host/x86/primary_mmu.ts). HostMemory then also remembers which
// pages reclaim took (one bit per page), so a later page-in of such a page counts as a refault.
import { HPAGE_PMD_NR } from '../host/x86/mmu_hugepage.ts';
import {
  host_page_evict,
  PAGE_HOST_RESIDENT,
  type PageStates,
  setResidentPrefix,
} from '../mem/page_state.ts';

export class HostMemory {
  /** Resident pages, all VMs together (pinned kernel pages included). */
  resident = 0;
  /**
   * Resident pages that map a KSM page another page also maps (KSM's pages_sharing): they take no frame of
   * their own, so reclaim starts when resident − sharing exceeds the limit (ksm.ts keeps it).
   */
  sharing = 0;
  /** KSM (ksm.ts), when the host runs it: told of guest writes and of evictions. */
  ksm: { written(vm: number, gfn: number): void; evicted(vm: number, gfn: number): void } | null = null;
  /**
   * THP (khugepaged.ts), when the host runs it: the first gfn of the huge range holding gfn (-1: none), and
   * the PMD split that comes before a page of a huge range is unmapped.
   */
  thp: { split(vm: number, gfn: number): void; hugeRange(vm: number, gfn: number): number } | null = null;
  /** Pages reclaimed so far, per VM. */
  readonly evictions: Float64Array;
  /** Resident pages per VM. */
  readonly vmResident: Float64Array;
  /** Page-ins per VM (0 → 1 transitions of PAGE_HOST_RESIDENT). */
  readonly pageIns: Float64Array;
  /** Page-ins per VM of pages reclaim evicted earlier in the run (only with `evictPage`). */
  readonly refaults: Float64Array;
  private readonly referenced: Uint8Array;
  /** Pages reclaim evicted at least once (allocated only with `evictPage`). */
  private readonly evictedOnce: Uint8Array | null;
  private readonly base: Float64Array;
  private readonly end: Float64Array;
  private readonly pinned: Float64Array;
  /** CLOCK hand: a global page index, and the VM it is in. */
  private hand: number;
  private handVm = 0;

  constructor(
    readonly limit: number,
    private readonly states: readonly PageStates[],
    pinnedPages: readonly number[],
    /**
     * Evicts gfns [gfn, gfn + n) of VM vm through the host model (the notifiers: one reclaim invalidation
     * over the range); null: host_page_evict on the byte.
     */
    private readonly evictPage: ((vm: number, gfn: number, n: number) => void) | null = null,
    /**
     * With the notifiers: asks KVM whether the guest used gfn of VM vm since the last time (the
     * clear_flush_young notifier, which clears the SPTE's accessed bit). Guest accesses through an SPTE do
     * not touch the host PTE, so this is how reclaim learns of them; the referenced bit here is then only
     * the host PTE's (set when the page is faulted in).
     */
    private readonly agePage: ((vm: number, gfn: number, n: number) => boolean) | null = null,
  ) {
    const n = states.length;
    this.base = new Float64Array(n);
    this.end = new Float64Array(n);
    this.pinned = new Float64Array(n);
    this.evictions = new Float64Array(n);
    this.vmResident = new Float64Array(n);
    this.pageIns = new Float64Array(n);
    this.refaults = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      this.base[i] = total;
      this.pinned[i] = pinnedPages[i]!;
      total += states[i]!.length;
      this.end[i] = total;
    }
    this.referenced = new Uint8Array(Math.ceil(total / 8));
    this.evictedOnce = evictPage === null ? null : new Uint8Array(Math.ceil(total / 8));
    this.hand = this.base[0]! + this.pinned[0]!;
  }

  /** Total guest pages. */
  get totalPages(): number {
    return this.end[this.end.length - 1]!;
  }

  /**
   * Sets VM `vm`'s starting residency: gfns [0, residentPages) resident and mapped, the rest swapped out.
   * The caller orders pages so that this prefix is the workload's most popular part.
   */
  setInitialResidency(vm: number, residentPages: number): void {
    const st = this.states[vm]!;
    setResidentPrefix(st, residentPages);
    this.vmResident[vm] = residentPages;
    this.resident += residentPages;
  }

  /**
   * The workload accessed gfn: its referenced bit (the accessed bit CLOCK tests). With the notifiers the
   * access goes through the SPTE, whose accessed bit the CPU sets, and reclaim asks KVM (agePage).
   */
  touch(vm: number, gfn: number): void {
    if (this.agePage !== null) return;
    const g = this.base[vm]! + gfn;
    this.referenced[g >>> 3]! |= 1 << (g & 7);
  }

  /** The host PTE of gfn became young: the page was just faulted in (GUP). */
  private referencedByHost(vm: number, gfn: number): void {
    const g = this.base[vm]! + gfn;
    this.referenced[g >>> 3]! |= 1 << (g & 7);
  }

  /** gfn of VM `vm` just became resident: count it, mark it referenced, reclaim if over the limit. */
  pagedIn(vm: number, gfn: number): void {
    this.resident++;
    this.vmResident[vm]!++;
    this.pageIns[vm]!++;
    const once = this.evictedOnce;
    if (once !== null) {
      const g = this.base[vm]! + gfn;
      if ((once[g >>> 3]! & (1 << (g & 7))) !== 0) this.refaults[vm]!++;
    }
    this.referencedByHost(vm, gfn);
    while (this.resident - this.sharing > this.limit) this.evictOne();
  }

  /** The workload is writing gfn of VM vm (its content changes; KSM must know). */
  written(vm: number, gfn: number): void {
    this.ksm?.written(vm, gfn);
  }

  /** Evicts one specific resident page (the bernoulli calibration pattern's "reclaimed meanwhile"). */
  evict(vm: number, gfn: number): void {
    const st = this.states[vm]!;
    if ((st[gfn]! & PAGE_HOST_RESIDENT) === 0) return;
    this.evictPageOf(vm, gfn);
  }

  /** Evicts resident gfn of VM vm (through the notifiers when configured) and counts it. */
  private evictPageOf(vm: number, gfn: number): void {
    const evict = this.evictPage;
    this.ksm?.evicted(vm, gfn);
    this.thp?.split(vm, gfn);
    if (evict === null) host_page_evict(this.states[vm]!, gfn);
    else {
      evict(vm, gfn, 1);
      const g = this.base[vm]! + gfn;
      this.evictedOnce![g >>> 3]! |= 1 << (g & 7);
    }
    this.resident--;
    this.vmResident[vm]!--;
    this.evictions[vm]!++;
  }

  /**
   * Reclaim of a PMD-mapped THP (shrink_folio_list with CONFIG_THP_SWAP): the folio stays whole and goes to
   * swap as one; try_to_unmap with TTU_SPLIT_HUGE_PMD splits the PMD mapping (one invalidation of the 2 MiB
   * range) and unmaps the 512 PTEs (one more), and every page of it is evicted. Only with the notifiers (a
   * huge range exists only with THP, which needs them).
   */
  private evictFolio(vm: number, first: number, n: number): void {
    this.thp!.split(vm, first);
    this.evictPage!(vm, first, n);
    const st = this.states[vm]!;
    const once = this.evictedOnce!;
    let gone = 0;
    for (let gfn = first; gfn < first + n; gfn++) {
      if ((st[gfn]! & PAGE_HOST_RESIDENT) !== 0) continue;
      const g = this.base[vm]! + gfn;
      once[g >>> 3]! |= 1 << (g & 7);
      gone++;
    }
    this.resident -= gone;
    this.vmResident[vm]! -= gone;
    this.evictions[vm]! += gone;
  }

  /** CLOCK: sweep from the hand, giving referenced pages a second chance, and evict the first other one. */
  private evictOne(): void {
    const ref = this.referenced;
    let vm = this.handVm;
    let g = this.hand;
    let st = this.states[vm]!;
    let base = this.base[vm]!;
    let end = this.end[vm]!;
    // Two full sweeps always find a victim: the first clears every referenced bit.
    for (let budget = 2 * this.totalPages + 2 * this.states.length; budget > 0; budget--) {
      if (g >= end) {
        vm = vm + 1 === this.states.length ? 0 : vm + 1;
        st = this.states[vm]!;
        base = this.base[vm]!;
        end = this.end[vm]!;
        g = base + this.pinned[vm]!;
        continue;
      }
      const gfn = g - base;
      const s = st[gfn]!;
      const huge = (s & PAGE_HOST_RESIDENT) !== 0 && this.thp !== null ? this.thp.hugeRange(vm, gfn) : -1;
      if (huge >= 0) {
        // A PMD-mapped THP is one folio on the LRU: folio_referenced ages it once (the host PMD's
        // accessed bit, and clear_flush_young over its 2 MiB), and it is reclaimed whole.
        const n = HPAGE_PMD_NR;
        let young = false;
        for (let k = base + huge; k < base + huge + n; k++) {
          const byte = k >>> 3;
          const bit = 1 << (k & 7);
          if ((ref[byte]! & bit) !== 0) {
            young = true;
            ref[byte] = ref[byte]! & ~bit;
          }
        }
        if (this.agePage?.(vm, huge, n)) young = true;
        if (!young) {
          this.evictFolio(vm, huge, n);
          this.hand = base + huge + n;
          this.handVm = vm;
          return;
        }
        g = base + huge + n;
        continue;
      }
      if ((s & PAGE_HOST_RESIDENT) !== 0) {
        const byte = g >>> 3;
        const bit = 1 << (g & 7);
        // folio_referenced: the host PTE's accessed bit, and with the notifiers the secondary MMU's
        // (clear_flush_young clears it); either one gives the page a second chance.
        let young = (ref[byte]! & bit) !== 0;
        if (young) ref[byte] = ref[byte]! & ~bit;
        if (this.agePage?.(vm, gfn, 1)) young = true;
        if (!young) {
          this.evictPageOf(vm, gfn);
          this.hand = g + 1;
          this.handVm = vm;
          return;
        }
      }
      g++;
    }
    throw new Error('host memory: nothing to reclaim (every resident page is pinned)');
  }
}
