// The host memory operations of a script (vm.mmu_notifiers; docs/scenarios.md, "Host memory operations"):
// each op becomes the x86 steps `host_mm` (one primary-MMU operation run whole: invalidate_range_start →
// the host PTE change with its change_pte → invalidate_range_end) or `host_age`, and its record reports
// what KVM's notifier side saw, as deltas of vm.mmu.stat over the op. Shared by both script runners.

import { idleCacheBytes } from '../host/x86/mmu_caches_vm.ts';
import {
  AGE_CLEAR,
  AGE_CLEAR_FLUSH,
  AGE_TEST,
  type AgeKind,
  type MmuNotifierStats,
} from '../host/x86/mmu_notifier.ts';
import { FAIL_FOREVER, host_alloc_pressure } from '../host/x86/page_alloc.ts';
import {
  MM_COW,
  MM_DONTNEED,
  MM_KSM_REPLACE,
  MM_KSM_WRPROTECT,
  MM_MIGRATE,
  MM_MPROTECT_RO,
  MM_MPROTECT_RW,
  MM_MUNMAP,
  MM_NUMA_PROTNONE,
  MM_RECLAIM,
  MM_THP_COLLAPSE,
  MM_THP_SPLIT,
} from '../host/x86/primary_mmu.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import type { KvmVm } from '../host/x86/vm.ts';
import { PAGE_SIZE } from '../mem/guest_memory.ts';
import { PAGE_SPTE_MAPPED } from '../mem/page_state.ts';
import type { HostTask, HostTimeline } from './host_timeline.ts';
import type { HostMmOp } from './schema.ts';
import type { KvmStatRecord, OpRecord } from './transcript.ts';

/**
 * The host tasks that run each operation, for the ftrace lines of the notifier tracepoints. The model
 * places no host task on a host CPU, so their CPU column is 000; the pids are made up, like the vCPU
 * threads' (1000 + n). `qemu-system-x86` is the VMM's main thread (its madvise, munmap, mprotect, a host
 * write, move_pages); ksmd, khugepaged and kswapd0 are the kernel threads that merge, collapse and reclaim.
 */
const VMM: HostTask = { comm: 'qemu-system-x86', pid: 999, cpu: 0 };
const KSWAPD: HostTask = { comm: 'kswapd0', pid: 90, cpu: 0 };
const KSMD: HostTask = { comm: 'ksmd', pid: 91, cpu: 0 };
const KHUGEPAGED: HostTask = { comm: 'khugepaged', pid: 92, cpu: 0 };

const AGE_KINDS: Readonly<Record<string, AgeKind>> = {
  clear_flush_young: AGE_CLEAR_FLUSH,
  clear_young: AGE_CLEAR,
  test_young: AGE_TEST,
};

/** The primary-MMU operation (primary_mmu.ts) of each single-operation script op, and who runs it. */
const SIMPLE: Readonly<Record<string, readonly [number, HostTask]>> = {
  host_dontneed: [MM_DONTNEED, VMM],
  host_munmap: [MM_MUNMAP, VMM],
  host_cow: [MM_COW, VMM],
  host_numa_protnone: [MM_NUMA_PROTNONE, VMM],
  host_migrate: [MM_MIGRATE, VMM],
  host_thp_split: [MM_THP_SPLIT, VMM],
  host_thp_collapse: [MM_THP_COLLAPSE, KHUGEPAGED],
};

/** Runs `op` (validated by load_script.ts) and returns its record. Host operations act on no vCPU. */
export function runHostMmOp(host: HostTimeline, op: HostMmOp, index: number): OpRecord {
  const vm = host.vm;
  if (op.op === 'host_alloc_fail') {
    // Memory pressure on the host allocator (vm.mmu_caches; page_alloc.ts): no notifier is involved.
    host_alloc_pressure(vm.memcache!.alloc, op.after, op.fails === 'all' ? FAIL_FOREVER : op.fails);
    return { op: index, kind: op.op, result: 'ok' };
  }
  const npages = vm.mem.npages;
  const first = op.gpa === undefined ? npages : Number(op.gpa / BigInt(PAGE_SIZE));
  // Slot pages (mmu_notifier.ts): [0, npages) is guest RAM; `outside` is the host range right after it.
  const range: number[] =
    op.op === 'host_ksm_merge' && op.gpas !== undefined
      ? op.gpas.map((g) => Number(g / BigInt(PAGE_SIZE)))
      : Array.from({ length: op.pages }, (_, k) => first + k);
  const start = range[0]!;
  const end = start + op.pages;
  const mm = (kind: number, s: number, e: number): void => {
    applyX86Step(vm, { kind: 'host_mm', op: kind, start: s, end: e });
  };
  const rec: OpRecord = { op: index, kind: op.op, result: 'ok' };
  const saved = host.task;
  const before = { ...vm.mmu.stat };
  const frames = vm.hostMaps !== null ? range.map((g) => vm.hostMaps!.backing.frame[g] ?? 0) : null;
  switch (op.op) {
    case 'host_age': {
      host.task = op.kind === 'test_young' ? KHUGEPAGED : KSWAPD;
      const age = AGE_KINDS[op.kind]!;
      rec.young = applyX86Step(vm, { kind: 'host_age', age, start, end });
      host.task = saved;
      return rec;
    }
    case 'host_reclaim':
      // Reclaim unmaps page by page (try_to_unmap): one invalidation each.
      host.task = KSWAPD;
      for (const g of range) mm(MM_RECLAIM, g, g + 1);
      break;
    case 'host_ksm_merge':
      // mmu.md B.4.2: write_protect_page on every page, replace_page on all but the first, which
      // becomes the KSM page; each is a one-page invalidation window.
      host.task = KSMD;
      range.forEach((g, k) => {
        mm(MM_KSM_WRPROTECT, g, g + 1);
        if (k > 0) mm(MM_KSM_REPLACE, g, g + 1);
      });
      break;
    case 'host_mprotect':
      host.task = VMM;
      mm(op.prot === 'ro' ? MM_MPROTECT_RO : MM_MPROTECT_RW, start, end);
      break;
    default: {
      const [kind, task] = SIMPLE[op.op]!;
      host.task = task;
      mm(kind, start, end);
    }
  }
  host.task = saved;
  Object.assign(rec, effect(before, vm.mmu.stat), { mapped: mappedIn(vm, range) });
  // With guest maps: pages whose host frame changed (a referenced or pinned page does not move).
  if (frames !== null) rec.moved = range.filter((g, k) => vm.hostMaps!.backing.frame[g] !== frames[k]).length;
  return rec;
}

/** What the notifier side did over one op. */
function effect(a: MmuNotifierStats, b: MmuNotifierStats) {
  return {
    invalidations: b.invalidations - a.invalidations,
    zapped: b.sptes_zapped - a.sptes_zapped,
    change_pte: b.change_pte - a.change_pte,
    change_pte_spte: b.change_pte_found_spte - a.change_pte_found_spte,
  };
}

/** SPTEs present for the op's pages in guest RAM after it. */
function mappedIn(vm: KvmVm, pages: readonly number[]): number {
  let n = 0;
  for (const g of pages) if (g < vm.mem.npages && (vm.mem.pageState[g]! & PAGE_SPTE_MAPPED) !== 0) n++;
  return n;
}

/** The end-of-script record of a VM with mmu_notifiers: KVM's MMU statistics, summed over the vCPUs. */
export function kvmStatRecord(vm: KvmVm): KvmStatRecord {
  let pf_taken = 0;
  let pf_retry_stale = 0;
  for (const v of vm.vcpus) {
    pf_taken += v.stat.pf_taken;
    pf_retry_stale += v.stat.pf_retry_stale;
  }
  const rec: KvmStatRecord = { kvm_stat: 'mmu', pf_taken, pf_retry_stale, warns: vm.mmu.stat.warns };
  const m = vm.memcache;
  if (m === null) return rec;
  return {
    ...rec,
    topups: m.stat.topups,
    topup_failures: m.stat.topup_failures,
    topups_allocating: m.stat.topups_allocating,
    max_objects_per_fault: m.stat.max_batch_objects,
    objects_allocated: m.alloc.allocated,
    objects_freed: m.alloc.freed,
    empty_cache_allocs: m.stat.empty_cache_allocs,
    emergency_allocs: m.stat.emergency_allocs,
    page_tables: m.stat.roots + m.stat.tables,
    idle_cache_bytes: idleCacheBytes(m, 0),
  };
}
