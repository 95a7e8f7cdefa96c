// Transparent huge pages on the host (mm/khugepaged.c, mm/huge_memory.c) as a host memory-management
// generator for the simulator (docs/simulator.md, "Transparent huge pages"):
// - khugepaged wakes every `scan_sleep_millisecs` and scans `pages_to_scan` pages' worth of guest RAM, one
//   2 MiB range (512 pages: HPAGE_PMD_NR) at a time — the kernel counts HPAGE_PMD_NR of progress per PMD it
//   looks at, collapsed or not — going through one VM's RAM, then the next (its mm_slot list), cyclically.
//   A range that is not huge yet and has all 512 pages resident is collapsed: the `thp_collapse` host
//   operation over the range (collapse_huge_page: one invalidation of 2 MiB, the pages copied into a new
//   huge frame). The range is then huge, and KVM maps it with one 2 MiB SPTE at the next fault in it
//   (src/host/x86/mmu_hugepage.ts).
// - Reclaim takes a huge range as one folio (host_memory.ts): aged once over its 2 MiB, then the
//   `thp_split` operation (try_to_unmap's TTU_SPLIT_HUGE_PMD: one invalidation of 2 MiB) and one reclaim
//   of all 512 pages (one more). A page evicted on its own (the calibration's bernoulli pattern) splits the
//   range first and goes alone. KSM splits a huge range before it write-protects a page of it
//   (try_to_merge_one_page's split_huge_page).
//
// khugepaged collapses only a range it finds referenced (hpage_collapse_scan_pmd: at least one PTE young,
// the folio young or referenced, or mmu_notifier_test_young; SCAN_LACK_REFERENCED_PAGE otherwise). A guest
// marks only the SPTE accessed, so for guest memory KVM's test_young answers: the model asks it once for the
// range (the kernel asks per page where the host's own bits do not already say young) and leaves a range
// with no young SPTE alone (`lack_referenced`).
//
// Simplified: a range with some pages swapped out is not collapsed. The kernel collapses it when at most
// max_ptes_swap pages are swapped out, swapping them in first (__collapse_huge_page_swapin, I/O the model
// does not do); such ranges are counted (`swap_skipped`) so a run shows how many collapses that leaves out.
// khugepaged's other tests (max_ptes_shared, max_ptes_none: every page here is populated) are not
// modelled; a range holding a KSM page is skipped.
import { HPAGE_PMD_NR, HPAGE_PMD_SHIFT } from '../host/x86/mmu_hugepage.ts';
import { AGE_TEST } from '../host/x86/mmu_notifier.ts';
import { MM_THP_COLLAPSE, MM_THP_SPLIT } from '../host/x86/primary_mmu.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import type { KvmVm } from '../host/x86/vm.ts';
import { PAGE_HOST_RESIDENT, PAGE_KSM } from '../mem/page_state.ts';

export interface ThpSpec {
  /** /sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan: pages' worth of ranges per wake-up. */
  pagesToScan: number;
  /** scan_sleep_millisecs, in ns. */
  sleep: number;
  /** max_ptes_swap: the kernel collapses a range with up to this many pages swapped out (not modelled). */
  maxPtesSwap: number;
}

export class Khugepaged {
  private cursorVm = 0;
  private cursorRange = 0;
  /** Host-wide (the khugepaged sysfs files of the same names). */
  full_scans = 0;
  pages_collapsed = 0;
  /** Per VM, cumulative: ranges scanned, collapses, splits, ranges left alone for swapped-out pages. */
  readonly scanned: Float64Array;
  readonly collapses: Float64Array;
  readonly splits: Float64Array;
  readonly swapSkipped: Float64Array;
  /** Per VM, cumulative: fully resident ranges left alone because no SPTE in them was young. */
  readonly lackReferenced: Float64Array;

  constructor(
    readonly spec: ThpSpec,
    private readonly vms: readonly KvmVm[],
  ) {
    const n = vms.length;
    this.scanned = new Float64Array(n);
    this.collapses = new Float64Array(n);
    this.splits = new Float64Array(n);
    this.swapSkipped = new Float64Array(n);
    this.lackReferenced = new Float64Array(n);
  }

  /** One wake-up (khugepaged_do_scan): ranges until pages_to_scan pages' worth of progress. */
  scan(): void {
    let progress = 0;
    const vms = this.vms;
    // A host whose VMs have no whole 2 MiB range has nothing to scan.
    let empty = 0;
    while (progress < this.spec.pagesToScan && empty <= vms.length) {
      const vm = this.cursorVm;
      const kvm = vms[vm]!;
      const t = kvm.mmuHost.thp!;
      const r = this.cursorRange;
      if (r >= t.nranges) {
        this.cursorRange = 0;
        if (vm + 1 === vms.length) {
          this.cursorVm = 0;
          this.full_scans++;
        } else this.cursorVm = vm + 1;
        empty++;
        continue;
      }
      empty = 0;
      this.cursorRange = r + 1;
      progress += HPAGE_PMD_NR;
      this.scanned[vm]!++;
      if (t.host_pmd[r] === 0) this.hpage_collapse_scan_pmd(vm, kvm, r);
    }
  }

  /** @kernel hpage_collapse_scan_pmd: collapse range r of VM vm if every page is resident and none is KSM. */
  private hpage_collapse_scan_pmd(vm: number, kvm: KvmVm, r: number): void {
    const st = kvm.mem.pageState;
    const lo = r << HPAGE_PMD_SHIFT;
    let swapped = 0;
    for (let g = lo; g < lo + HPAGE_PMD_NR; g++) {
      const s = st[g]!;
      if ((s & PAGE_KSM) !== 0) return;
      if ((s & PAGE_HOST_RESIDENT) === 0) swapped++;
    }
    if (swapped > 0) {
      if (swapped <= this.spec.maxPtesSwap) this.swapSkipped[vm]!++;
      return;
    }
    const p = lo + kvm.mmu.slot_base;
    if (applyX86Step(kvm, { kind: 'host_age', age: AGE_TEST, start: p, end: p + HPAGE_PMD_NR }) !== 1) {
      this.lackReferenced[vm]!++;
      return;
    }
    applyX86Step(kvm, { kind: 'host_mm', op: MM_THP_COLLAPSE, start: p, end: p + HPAGE_PMD_NR });
    if (kvm.mmuHost.thp!.host_pmd[r] !== 0) {
      this.collapses[vm]!++;
      this.pages_collapsed += HPAGE_PMD_NR;
    }
  }

  /** The first gfn of the range holding gfn of VM vm if the host maps that range huge, else -1. */
  hugeRange(vm: number, gfn: number): number {
    const t = this.vms[vm]!.mmuHost.thp!;
    const r = gfn >>> HPAGE_PMD_SHIFT;
    return r < t.nranges && t.host_pmd[r] !== 0 ? r << HPAGE_PMD_SHIFT : -1;
  }

  /** Splits gfn's range of VM vm if the host maps it huge (before reclaim or KSM touches one page of it). */
  split(vm: number, gfn: number): void {
    const kvm = this.vms[vm]!;
    const t = kvm.mmuHost.thp!;
    const r = gfn >>> HPAGE_PMD_SHIFT;
    if (r >= t.nranges || t.host_pmd[r] === 0) return;
    const p = (r << HPAGE_PMD_SHIFT) + kvm.mmu.slot_base;
    applyX86Step(kvm, { kind: 'host_mm', op: MM_THP_SPLIT, start: p, end: p + HPAGE_PMD_NR });
    this.splits[vm]!++;
  }
}
