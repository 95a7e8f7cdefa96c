// Memory compaction (mm/compaction.c) as a host memory-management generator for the simulator: kcompactd's
// proactive compaction (5.9, facd430fe5ef; vm.compaction_proactiveness) wakes every
// HPAGE_FRAG_CHECK_INTERVAL_MSEC (500 ms) and, while the node's fragmentation score is above its
// watermark, migrates movable pages out of the blocks it is freeing. Each migrated guest page is one
// migrate_pages → try_to_migrate of a 4 KiB page: one invalidation KVM sees (its SPTE zapped), a copy in a
// new frame, and a fault when the guest next touches it (docs/simulator.md, "Compaction").
//
// The model has no host-physical layout, so no fragmentation score: the scenario gives how many pages one
// wake-up migrates (`pages_per_wake`), and the migrate scanner's walk is a cyclic pass over every VM's
// guest RAM in a fixed, seeded order (a permutation by multiplicative hashing), skipping pages that are
// not resident. A page kvm_vcpu_map or a pin holds cannot move (folio_migrate_mapping's refcount check:
// primary_mmu.ts refuses it after the notifier window, as the kernel restores the PTE); KSM pages do move
// in the kernel (ksm_migrate_page) but are skipped here, as are pages in a host huge range (compaction
// migrates the whole THP; the model does not).
import { HPAGE_PMD_SHIFT } from '../host/x86/mmu_hugepage.ts';
import { MM_MIGRATE } from '../host/x86/primary_mmu.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import type { KvmVm } from '../host/x86/vm.ts';
import { PAGE_HOST_RESIDENT, PAGE_KSM } from '../mem/page_state.ts';
import { fmix32, streamSeed } from './engine/rng.ts';

export interface CompactionSpec {
  /** kcompactd's proactive-compaction check interval, in ns (the kernel's 500 ms). */
  interval: number;
  /** Pages one wake-up migrates (what the fragmentation score would decide). */
  pagesPerWake: number;
}

export class Compaction {
  /** The walk's position in the permuted order of every VM's pages. */
  private cursor = 0;
  private readonly total: number;
  private readonly mult: number;
  private readonly offset: number;
  /** Host-wide: wake-ups. Per VM, cumulative: pages migrated, pages the walk found pinned/held. */
  wakes = 0;
  readonly migrations: Float64Array;

  constructor(
    readonly spec: CompactionSpec,
    private readonly vms: readonly KvmVm[],
    private readonly vmBase: Float64Array,
    seed: number,
  ) {
    this.migrations = new Float64Array(vms.length);
    let total = 0;
    for (const k of vms) total += k.mem.npages;
    this.total = total;
    // An odd multiplier coprime with the total visits every page once per pass (i ↦ (a·i + b) mod n).
    const s = streamSeed(seed, 'host/compaction');
    let a = (fmix32(s) % Math.max(1, total)) | 1;
    while (gcd(a, total) !== 1) a += 2;
    this.mult = a;
    this.offset = fmix32((s + 1) | 0) % Math.max(1, total);
  }

  /** One wake-up: migrate the next `pagesPerWake` resident, movable guest pages. */
  wake(): void {
    this.wakes++;
    let moved = 0;
    // At most one full pass per wake-up (a host with fewer movable pages migrates what it has).
    for (let n = 0; n < this.total && moved < this.spec.pagesPerWake; n++) {
      const g = (mulmod(this.mult, this.cursor, this.total) + this.offset) % this.total;
      this.cursor = this.cursor + 1 === this.total ? 0 : this.cursor + 1;
      const vm = this.vmOf(g);
      const kvm = this.vms[vm]!;
      const gfn = g - this.vmBase[vm]!;
      const st = kvm.mem.pageState[gfn]!;
      if ((st & PAGE_HOST_RESIDENT) === 0 || (st & PAGE_KSM) !== 0) continue;
      const t = kvm.mmuHost.thp;
      if (t !== null && gfn >>> HPAGE_PMD_SHIFT < t.nranges && t.host_pmd[gfn >>> HPAGE_PMD_SHIFT] !== 0)
        continue;
      const p = gfn + kvm.mmu.slot_base;
      applyX86Step(kvm, { kind: 'host_mm', op: MM_MIGRATE, start: p, end: p + 1 });
      this.migrations[vm]!++;
      moved++;
    }
  }

  private vmOf(g: number): number {
    const b = this.vmBase;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (b[mid]! <= g) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** a·b mod n without losing precision for a, b, n < 2^32 (a double holds 53 bits). */
function mulmod(a: number, b: number, n: number): number {
  return (((a * Math.floor(b / 65536)) % n) * 65536 + a * (b % 65536)) % n;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
