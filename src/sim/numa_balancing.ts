// Automatic NUMA balancing (kernel/sched/fair.c task_numa_work, mm/mempolicy.c change_prot_numa,
// mm/memory.c do_numa_page) as a host memory-management generator for the simulator: every scan period
// each VM's process has the next `scan_size` of its address space — here, of guest RAM, cyclically —
// made PROT_NONE, one protection-change invalidation KVM sees per scan (change_protection notifies once per
// range it changes; the model's range is the scanned chunk). KVM zaps the SPTEs of that range, so the
// guest's next access to each page exits; KVM's fault path finds the PROT_NONE PTE (the NUMA-hinting
// fault), which restores it and, for a page on the wrong node, migrates it: a new frame and one more
// invalidation, after which the fault retries because the sequence moved (docs/simulator.md, "NUMA
// balancing").
//
// Placement: the host has `nodes` NUMA nodes; VM i runs on node i mod nodes, and a fraction
// `misplaced_pages` of each VM's pages (chosen by a hash of the seed and the page) start on another node.
// A migrated page is local from then on. With one node nothing is misplaced: only the scanning and the
// hinting faults remain (what numa_balancing costs a host that gains nothing from it).
import { MM_MIGRATE, MM_NUMA_PROTNONE } from '../host/x86/primary_mmu.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import type { KvmVm } from '../host/x86/vm.ts';
import { PAGE_HOST_RESIDENT } from '../mem/page_state.ts';
import { fmix32, streamSeed } from './engine/rng.ts';

export interface NumaSpec {
  /** numa_balancing_scan_size_mb, in pages. */
  scanPages: number;
  /** numa_balancing_scan_period_min_ms, in ns (the period is kept at its minimum). */
  period: number;
  nodes: number;
  /** Fraction of pages that start on a node other than their VM's. */
  misplaced: number;
}

export class NumaBalancing {
  /** 1: the page is on a node other than its VM's. */
  private readonly misplaced: Uint8Array;
  /** Each VM's scan position (the next gfn task_numa_work protects). */
  private readonly offset: Float64Array;
  /** Per VM: scans, pages made PROT_NONE, hinting faults, migrations (cumulative). */
  readonly scans: Float64Array;
  readonly pagesProtected: Float64Array;
  readonly hintingFaults: Float64Array;
  readonly migrations: Float64Array;

  /**
   * Runs a scan's protection change on VM vm (slot pages [start, end)): whole at once by default; the
   * simulator gives it a timed invalidation window (mmu_lock.ts).
   */
  runScan: (vm: number, start: number, end: number) => void;

  constructor(
    readonly spec: NumaSpec,
    private readonly vms: readonly KvmVm[],
    private readonly vmBase: Float64Array,
    totalPages: number,
    seed: number,
  ) {
    this.runScan = (vm, start, end) =>
      applyX86Step(this.vms[vm]!, { kind: 'host_mm', op: MM_NUMA_PROTNONE, start, end });
    const n = vms.length;
    this.offset = new Float64Array(n);
    this.scans = new Float64Array(n);
    this.pagesProtected = new Float64Array(n);
    this.hintingFaults = new Float64Array(n);
    this.migrations = new Float64Array(n);
    this.misplaced = new Uint8Array(totalPages);
    if (spec.nodes > 1 && spec.misplaced > 0) {
      const s = streamSeed(seed, 'host/numa/misplaced');
      const limit = spec.misplaced * 2 ** 32;
      for (let g = 0; g < totalPages; g++) if (fmix32((s + g) | 0) < limit) this.misplaced[g] = 1;
    }
  }

  /** One scan period: task_numa_work of every VM's process protects its next chunk of guest RAM. */
  scan(): void {
    for (let i = 0; i < this.vms.length; i++) {
      const vm = this.vms[i]!;
      const n = vm.mem.npages;
      const start = this.offset[i]!;
      const end = Math.min(n, start + this.spec.scanPages);
      const base = vm.mmu.slot_base;
      let resident = 0;
      for (let g = start; g < end; g++) if (vm.mem.pageState[g]! & PAGE_HOST_RESIDENT) resident++;
      this.runScan(i, base + start, base + end);
      this.scans[i]!++;
      this.pagesProtected[i]! += resident;
      this.offset[i] = end >= n ? 0 : end;
    }
  }

  /** do_numa_page on gfn of VM vm (HostHooks.numaHintingFault): a misplaced page migrates to its VM's node. */
  hintingFault(vm: number, gfn: number): void {
    this.hintingFaults[vm]!++;
    const g = this.vmBase[vm]! + gfn;
    if (this.misplaced[g] === 0) return;
    this.misplaced[g] = 0;
    this.migrations[vm]!++;
    const kvm = this.vms[vm]!;
    const p = gfn + kvm.mmu.slot_base;
    applyX86Step(kvm, { kind: 'host_mm', op: MM_MIGRATE, start: p, end: p + 1 });
  }
}
