// Metrics of a simulation run (docs/metrics.md defines each one): cumulative counters are snapshotted at
// the end of warmup and at the end of the run, and the metrics are the difference, per VM and in total.
// Latency histograms are reset at the end of warmup instead.

import { idleCacheBytes } from '../host/x86/mmu_caches_vm.ts';
import { HOST_MM_OPS, type HostMmOpName } from '../host/x86/primary_mmu.ts';
import { variantSet } from '../variant/variant_set.ts';
import {
  CAT_NAMES,
  K_ASYNC_TRIED,
  K_EXITS,
  K_IO,
  K_IRQ_INJECTED,
  K_MINOR,
  K_PF_INJECTED,
  K_PREEMPTIONS,
  K_PREFAULT_SYNC,
  K_QUEUE_FULL,
  K_QUEUED_AREA,
  K_REPEATED,
  K_SLOT_BUSY,
  K_SLOT_BUSY_NS,
  K_TICKS,
  K_WAKEUP_ALL,
  K_WARNINGS,
  K_WORKS,
  NCAT,
  NCOUNT,
} from './counters.ts';
import { LogHistogram } from './histogram.ts';
import type { SimState } from './sim_state.ts';
import { assessSteadyState, type SteadyState } from './steady_state.ts';

// Raw per-VM vector: the simulator's counters, then the time categories, then model statistics.
const R_TIME = NCOUNT;
const R_MODEL = NCOUNT + NCAT;
const M_BURSTS = R_MODEL;
const M_TOUCHES = R_MODEL + 1;
const M_PF_GUEST = R_MODEL + 2;
const M_APF_HALTS = R_MODEL + 3;
const M_SYNC = R_MODEL + 4;
const M_PAGE_READY = R_MODEL + 5;
const M_PREFAULTS = R_MODEL + 6;
const M_ACKS = R_MODEL + 7;
const M_CTX = R_MODEL + 8;
const M_HALTS = R_MODEL + 9;
const M_SLEEPS = R_MODEL + 10;
const M_PAGE_INS = R_MODEL + 11;
const M_EVICTIONS = R_MODEL + 12;
const M_PANICS = R_MODEL + 13;
const M_GUEST_WARNINGS = R_MODEL + 14;
const M_PAGE_READY_PF = R_MODEL + 15;
const M_NORMAL_PF = R_MODEL + 16;
// The MMU-notifier statistics (vm.mmu.stat, vcpu.stat, host memory), reported with host.mmu_notifiers.
const M_MMU_INV = R_MODEL + 17;
const M_MMU_INV_HIT = R_MODEL + 18;
const M_MMU_ZAPPED = R_MODEL + 19;
const M_MMU_FLUSHES = R_MODEL + 20;
const M_MMU_RETRY_RANGE = R_MODEL + 21;
const M_MMU_RETRY_SEQ = R_MODEL + 22;
const M_MMU_RETRY_UNSAFE = R_MODEL + 23;
const M_MMU_WARNS = R_MODEL + 24;
const M_PF_TAKEN = R_MODEL + 25;
const M_PF_RETRY_STALE = R_MODEL + 26;
const M_REFAULTS = R_MODEL + 27;
/** vm.mm.count, HOST_MM_OPS order. */
const M_MM_OPS = R_MODEL + 28;
/** KSM (ksm.ts), per VM: present pages scanned, pages merged into KSM pages, merges broken by writes. */
const M_KSM_SCANNED = M_MM_OPS + HOST_MM_OPS.length;
const M_KSM_MERGED = M_KSM_SCANNED + 1;
const M_KSM_COW = M_KSM_SCANNED + 2;
/** NUMA balancing (numa_balancing.ts), per VM: scans, pages made PROT_NONE, hinting faults, migrations. */
const M_NUMA_SCANS = M_KSM_COW + 1;
const M_NUMA_PROT = M_NUMA_SCANS + 1;
const M_NUMA_HINT = M_NUMA_SCANS + 2;
const M_NUMA_MIGRATE = M_NUMA_SCANS + 3;
// The memory-cache statistics (vm.memcache), reported with host.mmu_caches. M_MC_IDLE is a level, not a
// count: buildMetrics keeps its end value instead of a difference.
const M_MC = M_NUMA_MIGRATE + 1;
const M_MC_TOPUPS = M_MC;
const M_MC_TOPUP_FAILURES = M_MC + 1;
const M_MC_ALLOCATED = M_MC + 2;
const M_MC_FREED = M_MC + 3;
const M_MC_EMPTY = M_MC + 4;
const M_MC_EMERGENCY = M_MC + 5;
const M_MC_TABLES = M_MC + 6;
const M_MC_IDLE = M_MC + 7;
const M_MC_ALLOCATING = M_MC + 8;
/** A maximum, not a count: kept as the end value like M_MC_IDLE. */
const M_MC_MAX_BATCH = M_MC + 9;
/** Aging callbacks from reclaim (vm.mmu.stat), and those that found the page young. */
const M_MMU_AGING = M_MC + 10;
const M_MMU_AGING_YOUNG = M_MC + 11;
/**
 * THP (khugepaged.ts, vm.mmuHost.thp), per VM: 2 MiB ranges khugepaged scanned, collapses, splits, ranges
 * left for swapped-out pages, faults that installed a 2 MiB SPTE, huge SPTEs zapped whole.
 */
const M_THP_SCANNED = M_MC + 12;
const M_THP_COLLAPSES = M_THP_SCANNED + 1;
const M_THP_SPLITS = M_THP_SCANNED + 2;
const M_THP_SWAP_SKIPPED = M_THP_SCANNED + 3;
const M_THP_HUGE_INSTALLS = M_THP_SCANNED + 4;
const M_THP_HUGE_ZAPS = M_THP_SCANNED + 5;
/**
 * mmu_lock timing (mmu_lock.ts), per VM: ns held, ns vCPUs waited, ns host operations waited, fault
 * acquisitions, those that found it held, timed invalidation windows; then refaults by source and their
 * exit ns (SimState.refaultsBySrc / refaultNsBySrc), HOST_MM_OPS order each.
 */
const M_LOCK_HOLD = M_THP_SCANNED + 6;
const M_LOCK_WAIT = M_LOCK_HOLD + 1;
const M_LOCK_HOST_WAIT = M_LOCK_HOLD + 2;
const M_LOCK_ACQ = M_LOCK_HOLD + 3;
const M_LOCK_CONTENDED = M_LOCK_HOLD + 4;
const M_WINDOWS = M_LOCK_HOLD + 5;
const M_REFAULT_SRC = M_LOCK_HOLD + 6;
const M_REFAULT_NS_SRC = M_REFAULT_SRC + HOST_MM_OPS.length;
/** Compaction (compaction.ts), per VM: pages migrated. */
const M_COMPACT_MIGRATED = M_REFAULT_NS_SRC + HOST_MM_OPS.length;
/** THP: fully resident ranges khugepaged left alone for want of a young SPTE. */
const M_THP_LACK_REF = M_COMPACT_MIGRATED + 1;
/** change_pte calls KVM received, and those that found a present SPTE to update (vm.mmu.stat). */
const M_CHANGE_PTE = M_THP_LACK_REF + 1;
const M_CHANGE_PTE_SPTE = M_THP_LACK_REF + 2;
const NRAW = M_THP_LACK_REF + 3;

/** Cumulative values of every VM at virtual time t (the in-progress step or block truncated at t). */
export function collectRaw(sim: SimState, t: number): Float64Array[] {
  return sim.vms.map((sv, i) => {
    const r = new Float64Array(NRAW);
    for (let k = 0; k < NCOUNT; k++) r[k] = sim.count[i * NCOUNT + k]!;
    const gs = sv.guest.state;
    for (let c = 0; c < sv.vm.vcpus.length; c++) {
      const g = sv.firstVcpu + c;
      const tb = g * NCAT;
      const s0 = sim.stepStart[g]!;
      const s1 = sim.stepEnd[g]!;
      const frac = s1 > t && s1 > s0 ? (s1 - Math.max(t, s0)) / (s1 - s0) : 0;
      for (let k = 0; k < NCAT; k++) r[R_TIME + k]! += sim.time[tb + k]! - sim.lastCost[tb + k]! * frac;
      if (sim.blocked[g] !== 0 && t > sim.blockedSince[g]!)
        r[R_TIME + sim.blockedCat[g]!]! += t - sim.blockedSince[g]!;
      r[K_QUEUED_AREA]! += sim.queuedNow[g]! * (t - sim.queuedSince[g]!);
      const v = sv.vm.vcpus[c]!;
      r[M_PF_GUEST]! += v.stat.pf_guest;
      r[M_APF_HALTS]! += v.stat.apf_halts;
      r[M_SYNC]! += v.stat.sync_faults;
      r[M_PAGE_READY]! += v.stat.page_ready_irqs;
      r[M_PREFAULTS]! += v.stat.pf_fixed;
      r[M_CTX]! += gs.cpu.contextSwitches[c]!;
      r[M_HALTS]! += gs.cpu.halts[c]!;
      r[M_PF_TAKEN]! += v.stat.pf_taken;
      r[M_PF_RETRY_STALE]! += v.stat.pf_retry_stale;
    }
    const ms = sv.vm.mmu.stat;
    r[M_MMU_INV] = ms.invalidations;
    r[M_MMU_INV_HIT] = ms.invalidations_hit;
    r[M_MMU_ZAPPED] = ms.sptes_zapped;
    r[M_MMU_FLUSHES] = ms.tlb_flushes;
    r[M_MMU_RETRY_RANGE] = ms.retry_range;
    r[M_MMU_RETRY_SEQ] = ms.retry_seq;
    r[M_MMU_RETRY_UNSAFE] = ms.retry_unsafe;
    r[M_MMU_WARNS] = ms.warns;
    r[M_MMU_AGING] = ms.aging_calls;
    r[M_CHANGE_PTE] = ms.change_pte;
    r[M_CHANGE_PTE_SPTE] = ms.change_pte_found_spte;
    r[M_MMU_AGING_YOUNG] = ms.aging_young;
    r[M_REFAULTS] = sim.host.refaults[i]!;
    const ops = sv.vm.mm.count;
    for (let k = 0; k < HOST_MM_OPS.length; k++) r[M_MM_OPS + k] = ops[k]!;
    const ksm = sim.ksm;
    if (ksm !== null) {
      r[M_KSM_SCANNED] = ksm.perVm.scanned[i]!;
      r[M_KSM_MERGED] = ksm.perVm.merged[i]!;
      r[M_KSM_COW] = ksm.perVm.cowBreaks[i]!;
    }
    const numa = sim.numa;
    if (numa !== null) {
      r[M_NUMA_SCANS] = numa.scans[i]!;
      r[M_NUMA_PROT] = numa.pagesProtected[i]!;
      r[M_NUMA_HINT] = numa.hintingFaults[i]!;
      r[M_NUMA_MIGRATE] = numa.migrations[i]!;
    }
    const thp = sim.thp;
    const kt = sv.vm.mmuHost.thp;
    if (thp !== null && kt !== null) {
      r[M_THP_SCANNED] = thp.scanned[i]!;
      r[M_THP_COLLAPSES] = thp.collapses[i]!;
      r[M_THP_SPLITS] = thp.splits[i]!;
      r[M_THP_SWAP_SKIPPED] = thp.swapSkipped[i]!;
      r[M_THP_LACK_REF] = thp.lackReferenced[i]!;
      r[M_THP_HUGE_INSTALLS] = kt.huge_installs;
      r[M_THP_HUGE_ZAPS] = kt.huge_zaps;
    }
    if (sim.compaction !== null) r[M_COMPACT_MIGRATED] = sim.compaction.migrations[i]!;
    const lock = sim.mmuLock;
    if (lock !== null) {
      r[M_LOCK_HOLD] = lock.holdNs[i]!;
      r[M_LOCK_WAIT] = lock.waitNs[i]!;
      r[M_LOCK_HOST_WAIT] = lock.hostWaitNs[i]!;
      r[M_LOCK_ACQ] = lock.faultAcquires[i]!;
      r[M_LOCK_CONTENDED] = lock.contended[i]!;
      r[M_WINDOWS] = lock.windows[i]!;
      const nops = HOST_MM_OPS.length;
      for (let k = 0; k < nops; k++) {
        r[M_REFAULT_SRC + k] = sim.refaultsBySrc[i * nops + k]!;
        r[M_REFAULT_NS_SRC + k] = sim.refaultNsBySrc[i * nops + k]!;
      }
    }
    const mc = sv.vm.memcache;
    if (mc !== null) {
      r[M_MC_TOPUPS] = mc.stat.topups;
      r[M_MC_TOPUP_FAILURES] = mc.stat.topup_failures;
      r[M_MC_ALLOCATED] = mc.alloc.allocated;
      r[M_MC_FREED] = mc.alloc.freed;
      r[M_MC_EMPTY] = mc.stat.empty_cache_allocs;
      r[M_MC_EMERGENCY] = mc.stat.emergency_allocs;
      r[M_MC_TABLES] = mc.stat.roots + mc.stat.tables;
      r[M_MC_ALLOCATING] = mc.stat.topups_allocating;
      r[M_MC_MAX_BATCH] = mc.stat.max_batch_objects;
      for (let c = 0; c < sv.vm.vcpus.length; c++) r[M_MC_IDLE]! += idleCacheBytes(mc, c);
    }
    for (let k = 0; k < sv.nTasks; k++) {
      r[M_BURSTS]! += gs.task.bursts[k]!;
      r[M_TOUCHES]! += gs.task.touches[k]!;
    }
    r[M_ACKS] = gs.counters.acks;
    r[M_SLEEPS] = gs.counters.asyncPfSleeps + gs.counters.haltedApfWaits;
    r[M_PAGE_INS] = sim.host.pageIns[i]!;
    r[M_EVICTIONS] = sim.host.evictions[i]!;
    r[M_PANICS] = gs.counters.panics;
    r[M_GUEST_WARNINGS] = gs.counters.warnings;
    r[M_PAGE_READY_PF] = gs.counters.pageReadyFaults;
    r[M_NORMAL_PF] = gs.counters.normalPageFaults;
    return r;
  });
}

/** A latency distribution; with no samples (count 0, e.g. sync mode's page-ready) every figure is null. */
export interface Latency {
  count: number;
  mean_us: number | null;
  p50_us: number | null;
  p95_us: number | null;
  p99_us: number | null;
  max_us: number | null;
}

export interface Metrics {
  vcpus: number;
  tasks: number;
  work: {
    /** Task CPU time (compute bursts + in-guest accesses), seconds. */
    task_cpu_s: number;
    /** Task CPU time per second of virtual time (vCPU-equivalents of useful work). */
    task_cpu_rate: number;
    bursts: number;
    bursts_per_s: number;
    touches: number;
  };
  /** Fractions of vCPU time (they sum to 1). */
  vcpu_time: Record<(typeof CAT_NAMES)[number], number>;
  faults: {
    page_ins: number;
    io_requests: number;
    sync: number;
    async_attempted: number;
    works_created: number;
    not_present_injected: number;
    apf_halts: number;
    repeated: number;
    queue_full_fallbacks: number;
    prefault_sync: number;
    minor: number;
    per_s: number;
  };
  page_ready: Latency;
  done_wait: Latency;
  slot_busy: { count: number; mean_us: number; max_us: number };
  events: {
    page_ready_notifications: number;
    acks: number;
    wakeup_alls: number;
    exits: number;
    pf_injected: number;
    irq_injected: number;
    context_switches: number;
    guest_halts: number;
    async_pf_sleeps: number;
    preemptions: number;
    ticks: number;
  };
  /** vcpu->async_pf.queued (outstanding works per vCPU): time-average and maximum. */
  apf_queue: { mean: number; max: number };
  memory: { resident_mib: number; evictions: number };
  guest: { panics: number; warnings: number };
  /** KVM's MMU notifiers: present only with `host.mmu_notifiers` (docs/metrics.md, "MMU notifiers"). */
  mmu?: MmuMetrics;
  /** KSM's work on these VMs: present only with `host.ksm` (docs/metrics.md, "KSM"). */
  ksm?: KsmMetrics;
  /** NUMA balancing on these VMs: present only with `host.numa_balancing` (docs/metrics.md). */
  numa?: NumaMetrics;
  /** Transparent huge pages on these VMs: present only with `host.thp` (docs/metrics.md, "THP"). */
  thp?: ThpMetrics;
  /** Proactive compaction on these VMs: present only with `host.compaction` (docs/metrics.md). */
  compaction?: { pages_migrated: number };
  /** KVM's MMU memory caches: present only with `host.mmu_caches` (docs/metrics.md, "MMU memory caches"). */
  memcache?: MemcacheMetrics;
}

export interface ThpMetrics {
  /** 2 MiB ranges khugepaged looked at (pages_to_scan / 512 per wake-up, all VMs together). */
  ranges_scanned: number;
  /** Ranges collapsed into a THP (thp_collapse: one invalidation of 2 MiB each). */
  collapses: number;
  /** THPs split before reclaim or KSM took one of their pages (thp_split: one invalidation each). */
  splits: number;
  /** Ranges not collapsed because some pages were swapped out, that the kernel would have swapped in and
   * collapsed (at most max_ptes_swap swapped out): the model does not do that swap-in. */
  swap_skipped: number;
  /** Fully resident ranges not collapsed because KVM's test_young found no young SPTE in them. */
  lack_referenced: number;
  /** Guest faults that installed a 2 MiB SPTE (512 gfns mapped by one fault). */
  huge_mappings: number;
  /** 2 MiB SPTEs an invalidation zapped whole (all 512 gfns, for a change to any part). */
  huge_sptes_zapped: number;
}

/** THP host-wide, at the end of the run. */
export interface ThpHostMetrics {
  /** 2 MiB ranges the host maps huge now, and what that is in MiB. */
  huge_ranges: number;
  huge_mib: number;
  /** khugepaged's sysfs counters: full_scans, pages_collapsed. */
  full_scans: number;
  pages_collapsed: number;
}

export interface NumaMetrics {
  /** task_numa_work scans (one protection-change invalidation each). */
  scans: number;
  /** Resident pages those scans made PROT_NONE. */
  pages_protected: number;
  /** Guest faults whose host lookup took the NUMA-hinting fault. */
  hinting_faults: number;
  /** Misplaced pages migrated at their hinting fault (one invalidation each). */
  migrations: number;
}

export interface KsmMetrics {
  /** Present pages ksmd visited. */
  pages_scanned: number;
  /** Pages merged into a KSM page (each one write_protect_page + replace_page; the page that becomes a
   * new KSM page counts too, with its write_protect_page alone). */
  pages_merged: number;
  /** Merged pages broken by a guest write (a COW, one invalidation each). */
  cow_breaks: number;
}

/** KSM host-wide, at the end of the run (the /sys/kernel/mm/ksm files of the same names). */
export interface KsmHostMetrics {
  pages_shared: number;
  pages_sharing: number;
  /** Memory KSM saves at the end: pages_sharing pages. */
  saved_mib: number;
  full_scans: number;
  pages_scanned: number;
}

export interface MemcacheMetrics {
  /** mmu_topup_memory_caches calls (faults after fast_page_fault, or before it in ≤5.8; root loads). */
  topups: number;
  topup_failures: number;
  /** Objects the host allocated for KVM's MMU (cache fills, emergency allocations) and freed. */
  objects_allocated: number;
  objects_freed: number;
  /** Allocations under mmu_lock that found their cache empty, and GFP_ATOMIC emergency allocations. */
  empty_cache_allocs: number;
  emergency_allocs: number;
  /** Page tables (roots included) allocated from the caches. */
  page_tables: number;
  /** Topups that allocated anything (the others found every cache at its minimum). */
  topups_allocating: number;
  /** The most objects one fault's install (or one root load) took, over the whole run (a maximum). */
  max_objects_per_fault: number;
  /** At the end of the run: objects left in the per-vCPU caches, in bytes, averaged over the vCPUs. */
  idle_bytes_per_vcpu: number;
}

export interface MmuMetrics {
  /** invalidate_range_start calls KVM saw, and those whose range hit the memslot. */
  invalidations: number;
  invalidations_hit: number;
  /** Host memory operations by kind (vm.mm.count): where the invalidations came from. */
  invalidations_by_source: Record<HostMmOpName, number>;
  sptes_zapped: number;
  /** Remote TLB flushes requested by the notifier callbacks. */
  tlb_flushes: number;
  /** Guest page faults KVM handled (EPT violations, vcpu->stat.pf_taken). */
  guest_faults: number;
  /** guest_faults per page reclaimed (per invalidation that hit the memslot); 0 without reclaim. */
  faults_per_reclaim: number;
  /** Page-ins of pages that reclaim (through the notifiers) had evicted earlier in the run. */
  refaults: number;
  /** Fault retries by cause: range (an invalidation in progress covers it), seq (one ended since the
   * snapshot), unsafe (6.8's lockless pre-check); stale_total: vcpu->stat.pf_retry_stale (guest faults
   * sent back, prefaults not included). */
  retries: { range: number; seq: number; unsafe: number; stale_total: number };
  /** KVM_BUG_ON / WARN hits of the notifier side (also counted in guest.warnings when reported). */
  warns: number;
  /**
   * Reclaim's aging through the notifiers: clear_flush_young calls that hit guest memory, and those that
   * found the page young (the guest used it since: a second chance). Whether a young answer flushes the
   * TLB is the era's (none on x86 from 6.13); flushes are in tlb_flushes.
   */
  aging: { calls: number; young: number };
  /**
   * Refaults by source: guest faults that were the first on their page after an invalidation of that host
   * operation zapped its SPTE (HOST_MM_OPS order), and the guest's exit time for them, in ms (the VM exit,
   * fault handling and mmu_lock wait of that fault; the I/O a reclaimed page then waits for is in the swap
   * and async-PF metrics).
   */
  refaults_by_source: Record<HostMmOpName, number>;
  /**
   * change_pte calls KVM received (KSM merges and COW breaks, up to 6.9), and those that found a present
   * SPTE to update: 0 from 3.7 on, since invalidate_range_start has zapped it first; only the ≤3.6 eras and
   * Glisse's RFC (use-change-pte) update SPTEs in place.
   */
  change_pte: { calls: number; sptes_updated: number };
  refault_exit_ms_by_source: Record<HostMmOpName, number>;
  /**
   * mmu_lock (src/sim/mmu_lock.ts): ms it was held (guest faults and notifier callbacks), ms vCPUs waited
   * for it in their faults, ms host memory operations waited for it; fault acquisitions and those that
   * found it held; invalidation windows the simulator kept open for a time (the NUMA scans).
   */
  mmu_lock: {
    hold_ms: number;
    wait_ms: number;
    host_wait_ms: number;
    fault_acquisitions: number;
    contended: number;
    timed_windows: number;
  };
}

export interface VmMetrics extends Metrics {
  name: string;
  group: string;
  apf: string;
  era: string;
  guest_kernel: string;
  /** The variant modules this VM ran (docs/variants.md), by name; absent when none. */
  variants?: string[];
}

export interface SwapMetrics {
  channels: number;
  requests: number;
  utilization: number;
  mean_queue: number;
  max_queue: number;
  wait: Latency;
  service: Latency;
}

export interface RunMetrics {
  scenario: string;
  seed: number;
  /** Virtual time simulated, and the measured part of it (after warmup), in seconds. */
  simulated_s: number;
  measured_s: number;
  /** Whether the measured window saw a host at steady state (steady_state.ts; absent without batches). */
  steady_state?: SteadyState;
  host: {
    ram_mib: number;
    resident_mib: number;
    swap: SwapMetrics;
    ksm?: KsmHostMetrics;
    thp?: ThpHostMetrics;
  };
  total: Metrics;
  /** One per `vms` entry of the scenario (its `count` VMs together). */
  groups: GroupMetrics[];
  vms: VmMetrics[];
}

const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;
const r3 = (x: number): number => Math.round(x * 1e3) / 1e3;
const MIB_PAGES = 256;

function latency(h: LogHistogram): Latency {
  const us = (ns: number) => r3(ns / 1000);
  if (h.count === 0)
    return { count: 0, mean_us: null, p50_us: null, p95_us: null, p99_us: null, max_us: null };
  return {
    count: h.count,
    mean_us: us(h.mean()),
    p50_us: us(h.quantile(0.5)),
    p95_us: us(h.quantile(0.95)),
    p99_us: us(h.quantile(0.99)),
    max_us: us(h.max),
  };
}

function metricsOf(
  d: Float64Array,
  measuredNs: number,
  vcpus: number,
  tasks: number,
  pageReady: LogHistogram,
  doneWait: LogHistogram,
  queuedMax: number,
  slotBusyMax: number,
  residentPages: number,
  mmu: boolean,
  ksm: boolean,
  numa: boolean,
  memcache = false,
  thp = false,
  compaction = false,
): Metrics {
  const secs = measuredNs / 1e9;
  const vcpuNs = measuredNs * vcpus;
  const frac = (k: number) => (vcpuNs > 0 ? r6(d[R_TIME + k]! / vcpuNs) : 0);
  const vcpuTime = Object.fromEntries(CAT_NAMES.map((n, k) => [n, frac(k)])) as Metrics['vcpu_time'];
  const io = d[K_IO]!;
  const m: Metrics = {
    vcpus,
    tasks,
    work: {
      task_cpu_s: r6(d[R_TIME]! / 1e9),
      task_cpu_rate: secs > 0 ? r6(d[R_TIME]! / measuredNs) : 0,
      bursts: d[M_BURSTS]!,
      bursts_per_s: secs > 0 ? r3(d[M_BURSTS]! / secs) : 0,
      touches: d[M_TOUCHES]!,
    },
    vcpu_time: vcpuTime,
    faults: {
      page_ins: d[M_PAGE_INS]!,
      io_requests: io,
      sync: d[M_SYNC]!,
      async_attempted: d[K_ASYNC_TRIED]!,
      works_created: d[K_WORKS]!,
      not_present_injected: d[M_PF_GUEST]!,
      apf_halts: d[M_APF_HALTS]!,
      repeated: d[K_REPEATED]!,
      queue_full_fallbacks: d[K_QUEUE_FULL]!,
      prefault_sync: d[K_PREFAULT_SYNC]!,
      minor: d[K_MINOR]!,
      per_s: secs > 0 ? r3(io / secs) : 0,
    },
    page_ready: latency(pageReady),
    done_wait: latency(doneWait),
    slot_busy: {
      count: d[K_SLOT_BUSY]!,
      mean_us: d[K_SLOT_BUSY]! > 0 ? r3(d[K_SLOT_BUSY_NS]! / d[K_SLOT_BUSY]! / 1000) : 0,
      max_us: r3(slotBusyMax / 1000),
    },
    events: {
      page_ready_notifications: d[M_PAGE_READY]!,
      acks: d[M_ACKS]!,
      wakeup_alls: d[K_WAKEUP_ALL]!,
      exits: d[K_EXITS]!,
      pf_injected: d[K_PF_INJECTED]!,
      irq_injected: d[K_IRQ_INJECTED]!,
      context_switches: d[M_CTX]!,
      guest_halts: d[M_HALTS]!,
      async_pf_sleeps: d[M_SLEEPS]!,
      preemptions: d[K_PREEMPTIONS]!,
      ticks: d[K_TICKS]!,
    },
    apf_queue: { mean: vcpuNs > 0 ? r6(d[K_QUEUED_AREA]! / vcpuNs) : 0, max: queuedMax },
    memory: { resident_mib: r3(residentPages / MIB_PAGES), evictions: d[M_EVICTIONS]! },
    guest: { panics: d[M_PANICS]!, warnings: d[M_GUEST_WARNINGS]! + d[K_WARNINGS]! },
  };
  if (mmu) m.mmu = mmuMetricsOf(d);
  if (ksm)
    m.ksm = { pages_scanned: d[M_KSM_SCANNED]!, pages_merged: d[M_KSM_MERGED]!, cow_breaks: d[M_KSM_COW]! };
  if (numa)
    m.numa = {
      scans: d[M_NUMA_SCANS]!,
      pages_protected: d[M_NUMA_PROT]!,
      hinting_faults: d[M_NUMA_HINT]!,
      migrations: d[M_NUMA_MIGRATE]!,
    };
  if (compaction) m.compaction = { pages_migrated: d[M_COMPACT_MIGRATED]! };
  if (thp)
    m.thp = {
      ranges_scanned: d[M_THP_SCANNED]!,
      collapses: d[M_THP_COLLAPSES]!,
      splits: d[M_THP_SPLITS]!,
      swap_skipped: d[M_THP_SWAP_SKIPPED]!,
      lack_referenced: d[M_THP_LACK_REF]!,
      huge_mappings: d[M_THP_HUGE_INSTALLS]!,
      huge_sptes_zapped: d[M_THP_HUGE_ZAPS]!,
    };
  if (memcache)
    m.memcache = {
      topups: d[M_MC_TOPUPS]!,
      topup_failures: d[M_MC_TOPUP_FAILURES]!,
      objects_allocated: d[M_MC_ALLOCATED]!,
      objects_freed: d[M_MC_FREED]!,
      empty_cache_allocs: d[M_MC_EMPTY]!,
      emergency_allocs: d[M_MC_EMERGENCY]!,
      page_tables: d[M_MC_TABLES]!,
      topups_allocating: d[M_MC_ALLOCATING]!,
      max_objects_per_fault: d[M_MC_MAX_BATCH]!,
      idle_bytes_per_vcpu: vcpus > 0 ? Math.round(d[M_MC_IDLE]! / vcpus) : 0,
    };
  return m;
}

function mmuMetricsOf(d: Float64Array): MmuMetrics {
  const hit = d[M_MMU_INV_HIT]!;
  const faults = d[M_PF_TAKEN]!;
  return {
    invalidations: d[M_MMU_INV]!,
    invalidations_hit: hit,
    invalidations_by_source: Object.fromEntries(
      HOST_MM_OPS.map((op, k) => [op, d[M_MM_OPS + k]!]),
    ) as MmuMetrics['invalidations_by_source'],
    sptes_zapped: d[M_MMU_ZAPPED]!,
    tlb_flushes: d[M_MMU_FLUSHES]!,
    guest_faults: faults,
    faults_per_reclaim: hit > 0 ? r3(faults / hit) : 0,
    refaults: d[M_REFAULTS]!,
    retries: {
      range: d[M_MMU_RETRY_RANGE]!,
      seq: d[M_MMU_RETRY_SEQ]!,
      unsafe: d[M_MMU_RETRY_UNSAFE]!,
      stale_total: d[M_PF_RETRY_STALE]!,
    },
    warns: d[M_MMU_WARNS]!,
    aging: { calls: d[M_MMU_AGING]!, young: d[M_MMU_AGING_YOUNG]! },
    refaults_by_source: Object.fromEntries(
      HOST_MM_OPS.map((op, k) => [op, d[M_REFAULT_SRC + k]!]),
    ) as MmuMetrics['refaults_by_source'],
    change_pte: { calls: d[M_CHANGE_PTE]!, sptes_updated: d[M_CHANGE_PTE_SPTE]! },
    refault_exit_ms_by_source: Object.fromEntries(
      HOST_MM_OPS.map((op, k) => [op, r3(d[M_REFAULT_NS_SRC + k]! / 1e6)]),
    ) as MmuMetrics['refault_exit_ms_by_source'],
    mmu_lock: {
      hold_ms: r3(d[M_LOCK_HOLD]! / 1e6),
      wait_ms: r3(d[M_LOCK_WAIT]! / 1e6),
      host_wait_ms: r3(d[M_LOCK_HOST_WAIT]! / 1e6),
      fault_acquisitions: d[M_LOCK_ACQ]!,
      contended: d[M_LOCK_CONTENDED]!,
      timed_windows: d[M_WINDOWS]!,
    },
  };
}

/** Task time and evictions, all VMs together, at each batch boundary of the measured window. */
interface Batches {
  times: number[];
  work: number[];
  evictions: number[];
}
const batchesOf = new WeakMap<SimState, Batches>();

/**
 * Makes `sim` snapshot its counters at the end of warmup and at each batch boundary of the measured
 * window (for the steady-state check). Call before `sim.run()`.
 */
export function attachMetrics(sim: SimState): void {
  sim.onWarmup = (s) => collectRaw(s, s.now);
  const b: Batches = { times: [], work: [], evictions: [] };
  batchesOf.set(sim, b);
  sim.onBatch = (s) => {
    let work = 0;
    let ev = 0;
    for (const r of collectRaw(s, s.now)) {
      work += r[R_TIME]!;
      ev += r[M_EVICTIONS]!;
    }
    b.times.push(s.now);
    b.work.push(work);
    b.evictions.push(ev);
  };
}

export interface GroupMetrics extends Metrics {
  /** The `vms` entry's name (with ×count), its protocol mode and its VMs. */
  name: string;
  apf: string;
  /** The variant modules its VMs ran (docs/variants.md), by name; absent when none. */
  variants?: string[];
  members: string[];
}

/** The run's metrics (after `sim.run()`). */
export function buildMetrics(sim: SimState): RunMetrics {
  const sc = sim.scenario;
  const end = sim.endTime;
  const startT = sim.warmupSnapshot === null ? 0 : sim.warmupAt;
  const measured = Math.max(0, end - startT);
  const endRaw = collectRaw(sim, end);
  const startRaw = (sim.warmupSnapshot as Float64Array[] | null) ?? endRaw.map(() => new Float64Array(NRAW));
  const deltas = endRaw.map((e, i) =>
    e.map((x, k) => (k === M_MC_IDLE || k === M_MC_MAX_BATCH ? x : x - startRaw[i]![k]!)),
  );
  const qmaxOf = (i: number): number => {
    const sv = sim.vms[i]!;
    let q = 0;
    for (let c = 0; c < sv.vm.vcpus.length; c++) q = Math.max(q, sim.queuedMax[sv.firstVcpu + c]!);
    return q;
  };
  /** Metrics of a set of VMs: counters summed, histograms merged, maxima of maxima. */
  const aggregate = (idx: readonly number[]): Metrics => {
    const d = new Float64Array(NRAW);
    const pr = new LogHistogram();
    const dw = new LogHistogram();
    let vcpus = 0;
    let tasks = 0;
    let qmax = 0;
    let slotMax = 0;
    let resident = 0;
    for (const i of idx) {
      for (let k = 0; k < NRAW; k++) d[k]! += deltas[i]![k]!;
      d[M_MC_MAX_BATCH] = Math.max(
        d[M_MC_MAX_BATCH]! - deltas[i]![M_MC_MAX_BATCH]!,
        deltas[i]![M_MC_MAX_BATCH]!,
      );
      pr.merge(sim.pageReady[i]!);
      dw.merge(sim.doneWait[i]!);
      vcpus += sim.vms[i]!.spec.vcpus;
      tasks += sim.vms[i]!.nTasks;
      qmax = Math.max(qmax, qmaxOf(i));
      slotMax = Math.max(slotMax, sim.slotBusyMax[i]!);
      resident += sim.host.vmResident[i]!;
    }
    return metricsOf(
      d,
      measured,
      vcpus,
      tasks,
      pr,
      dw,
      qmax,
      slotMax,
      resident,
      sc.mmuNotifiers,
      sim.ksm !== null,
      sim.numa !== null,
      sc.mmuCaches,
      sim.thp !== null,
      sim.compaction !== null,
    );
  };
  const vms: VmMetrics[] = sim.vms.map((sv, i) => ({
    name: sv.spec.name,
    group: sv.spec.groupName,
    apf: sv.spec.apf,
    era: sv.spec.era,
    guest_kernel: sv.spec.guest,
    ...variantNames(sv.spec.variants),
    ...aggregate([i]),
  }));
  const groupIdx = new Map<number, number[]>();
  for (let i = 0; i < sim.vms.length; i++) {
    const g = sim.vms[i]!.spec.group;
    groupIdx.set(g, [...(groupIdx.get(g) ?? []), i]);
  }
  const groups: GroupMetrics[] = [...groupIdx.values()].map((idx) => ({
    name: sim.vms[idx[0]!]!.spec.groupName,
    apf: sim.vms[idx[0]!]!.spec.apf,
    ...variantNames(sim.vms[idx[0]!]!.spec.variants),
    members: idx.map((i) => sim.vms[i]!.spec.name),
    ...aggregate(idx),
  }));
  const sw = sim.swap;
  const [busy0, queue0, started0] = sim.swapAtWarmup;
  const swap: SwapMetrics = {
    channels: sw.channels,
    requests: sw.started - started0,
    utilization: measured > 0 ? r6((sw.busyArea - busy0) / (sw.channels * measured)) : 0,
    mean_queue: measured > 0 ? r6((sw.queueArea - queue0) / measured) : 0,
    max_queue: sw.maxQueue,
    wait: latency(sim.swapWait),
    service: latency(sim.swapService),
  };
  const b = batchesOf.get(sim);
  const steady =
    b === undefined
      ? null
      : assessSteadyState(
          b.times,
          b.work,
          b.evictions,
          sim.host.totalPages > sc.ramPages,
          sc.autoWarmup ? sim.warmupAt : null,
        );
  return {
    scenario: sc.name,
    seed: sc.seed,
    simulated_s: r6(end / 1e9),
    measured_s: r6(measured / 1e9),
    ...(steady === null ? {} : { steady_state: steady }),
    host: {
      ram_mib: r3(sc.ramPages / MIB_PAGES),
      resident_mib: r3(sim.host.resident / MIB_PAGES),
      swap,
      ...(sim.ksm === null
        ? {}
        : {
            ksm: {
              pages_shared: sim.ksm.pages_shared,
              pages_sharing: sim.ksm.pages_sharing,
              saved_mib: r3(sim.ksm.pages_sharing / MIB_PAGES),
              full_scans: sim.ksm.full_scans,
              pages_scanned: sim.ksm.pages_scanned,
            },
          }),
      ...(sim.thp === null ? {} : { thp: thpHost(sim) }),
    },
    total: aggregate(sim.vms.map((_, i) => i)),
    groups,
    vms,
  };
}

/** THP host-wide at the end of the run (RunMetrics.host.thp). */
function thpHost(sim: SimState): ThpHostMetrics {
  let huge = 0;
  for (const sv of sim.vms) {
    const t = sv.vm.mmuHost.thp;
    if (t !== null) for (let r = 0; r < t.nranges; r++) huge += t.host_pmd[r]!;
  }
  return {
    huge_ranges: huge,
    huge_mib: huge * 2,
    full_scans: sim.thp!.full_scans,
    pages_collapsed: sim.thp!.pages_collapsed,
  };
}

/** `{ variants: names }` for a VM that runs variants (docs/variants.md), else nothing. */
function variantNames(files: readonly string[] | undefined): { variants?: string[] } {
  return files === undefined || files.length === 0
    ? {}
    : { variants: variantSet(files).loaded.map((l) => l.name) };
}
