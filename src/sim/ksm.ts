// The KSM scanner (ksmd, mm/ksm.c) as a host memory-management generator for the simulator: it wakes every
// `sleep_millisecs`, visits `pages_to_scan` present pages of mergeable guest memory in order, and merges
// pages with identical content through the primary MMU's operations, so KVM sees exactly the notifier calls
// the kernel makes (docs/simulator.md, "KSM"):
// - a page whose content matches a KSM page (a stable-tree node) is merged into it at once:
//   write_protect_page + replace_page, two one-page invalidations;
// - otherwise the page must first look the same on two visits (its checksum unchanged since the last
//   scan; the unstable-tree rule of cmp_and_merge_page), then it is looked up in the unstable tree of this
//   pass: a match merges the two (try_to_merge_two_pages: the current page is write-protected and becomes
//   the KSM page, one invalidation; the tree page is write-protected and replaced, two), else the page is
//   inserted. The unstable tree is rebuilt every full scan.
// Merging n identical pages therefore costs 1 + 2(n − 1) one-page invalidations (mmu.md §G: 63 for 32 on
// Linux 6.18). A guest write to a merged page breaks it (the model's COW in the fault path, one
// invalidation); any guest write changes the page's content, so it no longer matches.
//
// Content: a VM's page g (outside the guest kernel's pinned pages) is a duplicate with probability
// `duplicate_pages`, of one of `duplicate_kinds` contents, chosen by a hash of (scenario seed, g) alone:
// VMs of the same image have the same duplicates at the same gfns, as identical guests do. Other pages are
// unique and never merge. Memory: one byte of content, one of state per guest page.
//
// Frames: a stable node with k mappings uses one frame, so KSM saves k − 1 pages (pages_sharing); the host's
// reclaim limit counts frames (HostMemory.sharing). Reclaim here evicts one mapping at a time (CLOCK over
// guest pages), not the whole KSM page at once as the kernel's rmap walk does.

import { MM_KSM_REPLACE, MM_KSM_WRPROTECT } from '../host/x86/primary_mmu.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import type { KvmVm } from '../host/x86/vm.ts';
import { PAGE_HOST_RESIDENT } from '../mem/page_state.ts';
import { fmix32, streamSeed } from './engine/rng.ts';
import type { HostMemory } from './host_memory.ts';

export interface KsmSpec {
  /** /sys/kernel/mm/ksm/pages_to_scan: present pages visited per wake-up. */
  pagesToScan: number;
  /** sleep_millisecs, in ns: time between wake-ups. */
  sleep: number;
}

/** Per-page state bits. */
const CHECKED = 1; // the content is unchanged since the last visit (rmap_item->oldchecksum matches)

/** Per VM counters (cumulative; metrics.ts takes deltas over the measured window). */
export interface KsmVmCounters {
  scanned: Float64Array;
  merged: Float64Array;
  cowBreaks: Float64Array;
}

export class Ksmd {
  /** Content kind per global page: 0 unique, k ≥ 1 the k-th duplicate content. */
  private readonly content: Uint8Array;
  private readonly flags: Uint8Array;
  /** The kind a page is merged into (it maps that KSM page), 0: not merged. */
  private readonly merged: Uint8Array;
  /** Mappings of each kind's KSM page (0: no stable node for it). */
  private readonly stableCount = new Int32Array(256);
  /** The unstable tree of the current pass: one entry per kind (a page of that content), tagged by pass. */
  private readonly unstablePass = new Int32Array(256).fill(-1);
  private readonly unstableVm = new Int32Array(256);
  private readonly unstableGfn = new Int32Array(256);
  private pass = 0;
  private cursorVm = 0;
  private cursorGfn: number;
  /** Host-wide gauges and counters (the /sys/kernel/mm/ksm files of the same names). */
  pages_shared = 0;
  pages_sharing = 0;
  full_scans = 0;
  pages_scanned = 0;
  readonly perVm: KsmVmCounters;

  constructor(
    readonly spec: KsmSpec,
    private readonly vms: readonly KvmVm[],
    private readonly vmBase: Float64Array,
    private readonly firstGfn: number,
    private readonly host: HostMemory,
    duplicate: readonly { fraction: number; kinds: number }[],
    seed: number,
  ) {
    const total = host.totalPages;
    this.content = new Uint8Array(total);
    this.flags = new Uint8Array(total);
    this.merged = new Uint8Array(total);
    this.cursorGfn = firstGfn;
    const n = vms.length;
    this.perVm = {
      scanned: new Float64Array(n),
      merged: new Float64Array(n),
      cowBreaks: new Float64Array(n),
    };
    // A 32-bit threshold per VM: page g is a duplicate when hash(seed, g) < fraction · 2^32.
    const s1 = streamSeed(seed, 'host/ksm/duplicate');
    const s2 = streamSeed(seed, 'host/ksm/kind');
    for (let i = 0; i < n; i++) {
      const { fraction, kinds } = duplicate[i]!;
      if (fraction <= 0) continue;
      const limit = fraction * 2 ** 32;
      const base = vmBase[i]!;
      for (let g = firstGfn; g < vms[i]!.mem.npages; g++) {
        if (fmix32((s1 + g) | 0) < limit) this.content[base + g] = 1 + (fmix32((s2 + g) | 0) % kinds);
      }
    }
  }

  /** One wake-up of ksmd: visit up to pages_to_scan present pages (ksm_do_scan). */
  scan(): void {
    let left = this.spec.pagesToScan;
    // Never visit more than every page twice in one wake-up, even if few are present.
    let budget = 2 * this.host.totalPages + 2;
    const vms = this.vms;
    while (left > 0 && budget-- > 0) {
      const vm = this.cursorVm;
      const kvm = vms[vm]!;
      const gfn = this.cursorGfn;
      if (gfn >= kvm.mem.npages) {
        this.cursorGfn = this.firstGfn;
        if (vm + 1 === vms.length) {
          this.cursorVm = 0;
          this.full_scans++;
          this.pass++; // the unstable tree is rebuilt every full scan
        } else this.cursorVm = vm + 1;
        continue;
      }
      this.cursorGfn = gfn + 1;
      if ((kvm.mem.pageState[gfn]! & PAGE_HOST_RESIDENT) === 0) continue; // not present: not an rmap_item
      left--;
      this.pages_scanned++;
      this.perVm.scanned[vm]!++;
      this.cmp_and_merge_page(vm, gfn);
    }
  }

  /** @kernel cmp_and_merge_page: the stable tree first, then the checksum rule, then the unstable tree. */
  private cmp_and_merge_page(vm: number, gfn: number): void {
    const g = this.vmBase[vm]! + gfn;
    if (this.merged[g] !== 0) return; // already maps a KSM page
    const kind = this.content[g]!;
    if (kind !== 0 && this.stableCount[kind]! > 0) {
      this.mergeIntoStable(vm, gfn, kind);
      return;
    }
    if ((this.flags[g]! & CHECKED) === 0) {
      this.flags[g] = this.flags[g]! | CHECKED; // the checksum changed since the last visit: wait a pass
      return;
    }
    if (kind === 0) return; // unique content: inserted into the unstable tree, never matched
    if (this.unstablePass[kind] === this.pass) {
      const tvm = this.unstableVm[kind]!;
      const tgfn = this.unstableGfn[kind]!;
      if (this.stillMergeable(tvm, tgfn, kind)) {
        this.try_to_merge_two_pages(vm, gfn, tvm, tgfn, kind);
        this.unstablePass[kind] = -1; // both pages left the unstable tree
        return;
      }
    }
    this.unstablePass[kind] = this.pass;
    this.unstableVm[kind] = vm;
    this.unstableGfn[kind] = gfn;
  }

  /** The unstable-tree page still holds that content (the kernel's memcmp at lookup), present, unmerged. */
  private stillMergeable(vm: number, gfn: number, kind: number): boolean {
    const g = this.vmBase[vm]! + gfn;
    return (
      this.content[g] === kind &&
      this.merged[g] === 0 &&
      (this.vms[vm]!.mem.pageState[gfn]! & PAGE_HOST_RESIDENT) !== 0
    );
  }

  private mm(vm: number, op: number, gfn: number): void {
    const kvm = this.vms[vm]!;
    const p = gfn + kvm.mmu.slot_base;
    applyX86Step(kvm, { kind: 'host_mm', op, start: p, end: p + 1 });
  }

  /** try_to_merge_with_ksm_page(page, kpage): write_protect_page + replace_page. */
  private mergeIntoStable(vm: number, gfn: number, kind: number): void {
    this.host.thp?.split(vm, gfn); // try_to_merge_one_page: a THP is split first
    this.mm(vm, MM_KSM_WRPROTECT, gfn);
    this.mm(vm, MM_KSM_REPLACE, gfn);
    this.merged[this.vmBase[vm]! + gfn] = kind;
    this.stableCount[kind]!++;
    this.pages_sharing++;
    this.host.sharing++;
    this.perVm.merged[vm]!++;
  }

  /** @kernel try_to_merge_two_pages: the current page becomes the KSM page, the tree page is merged into it. */
  private try_to_merge_two_pages(vm: number, gfn: number, tvm: number, tgfn: number, kind: number): void {
    this.host.thp?.split(vm, gfn);
    this.mm(vm, MM_KSM_WRPROTECT, gfn);
    const kvm = this.vms[vm]!;
    applyX86Step(kvm, { kind: 'ksm_stable', start: gfn + kvm.mmu.slot_base });
    this.merged[this.vmBase[vm]! + gfn] = kind;
    this.stableCount[kind] = 1;
    this.pages_shared++;
    this.perVm.merged[vm]!++;
    this.mergeIntoStable(tvm, tgfn, kind);
  }

  /** A page stopped mapping its KSM page (a COW break or reclaim): the node loses one mapping. */
  private unmap(g: number): void {
    const kind = this.merged[g]!;
    this.merged[g] = 0;
    const k = --this.stableCount[kind]!;
    if (k > 0) {
      this.pages_sharing--;
      this.host.sharing--;
    } else this.pages_shared--;
  }

  /**
   * The guest is writing gfn of VM vm (a touch with write): the content changes, and a merged page is
   * broken by the COW the fault path is about to make (wp_page_copy; one invalidation).
   */
  written(vm: number, gfn: number): void {
    const g = this.vmBase[vm]! + gfn;
    this.content[g] = 0;
    this.flags[g] = this.flags[g]! & ~CHECKED;
    if (this.merged[g] !== 0) {
      this.unmap(g);
      this.perVm.cowBreaks[vm]!++;
    }
  }

  /** Reclaim evicted gfn of VM vm: a merged page's mapping of the KSM page goes. */
  evicted(vm: number, gfn: number): void {
    const g = this.vmBase[vm]! + gfn;
    if (this.merged[g] !== 0) this.unmap(g);
  }
}
