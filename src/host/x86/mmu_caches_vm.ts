// The MMU memory caches in the running x86 model (mmu.md Part A, A.5.6): per vCPU the era's cache set
// (mmu_memory_caches.ts), per VM the paging-structure pages (kvm_mmu_page.ts) and the host allocator
// (page_alloc.ts), and the places where the fault path tops up, loads a root and takes objects under
// mmu_lock. Opt-in (VmConfig.mmu_caches, with mmu_notifiers): without it vm.memcache is null and no code
// here runs.
//
// The kernel facts this follows:
// - kvm_mmu_load (vcpu_enter_guest's kvm_mmu_reload when the root is invalid) tops up, then allocates the
//   root from the caches; a failure is returned from KVM_RUN (X52/X68: `r = mmu_topup_memory_caches(...);
//   if (r) goto out;`);
// - the fault tops up before fast_page_fault in 5.2 (tdp_page_fault) and after it from 5.9 (A.5.6); an
//   error ends the fault and KVM_RUN returns it to user space (-ENOMEM);
// - under mmu_lock each missing paging level takes one shadow page and one page header (kvm_mmu_alloc_page
//   5.2, kvm_mmu_alloc_shadow_page / tdp_mmu_alloc_sp later), plus for an indirect MMU a second page-cache
//   object (5.2, sp->gfns) or a shadowed_info object (5.9+);
// - rmap: a direct SPTE's rmap head holds its first SPTE itself (pte_list_add); a pte_list_desc is needed
//   only when a second SPTE maps the same gfn, or a shadow page gets a second parent. The model maps each
//   gfn once (one memslot, one address space, no aliasing, no prefetch of neighbours) and each table has
//   one parent, so it never takes a pte_list_desc: the cache is topped up and stays full.
import { ENOMEM } from '../../abi/errno.ts';
import {
  type KvmMmuMemoryCache,
  kvm_mmu_memory_cache_alloc,
  type MemCacheHost,
} from '../kvm_mmu_memory_cache.ts';
import type { EraConfig } from './era.ts';
import {
  type KvmMmuPages,
  kvm_mmu_root_valid,
  kvm_mmu_zap_all_fast_pages,
  newKvmMmuPages,
  PT64_ROOT_LEVEL,
  sp_link,
  sp_present,
} from './kvm_mmu_page.ts';
import {
  cachedBytes,
  type MemcacheEra,
  memcacheEra,
  mmu_topup_memory_caches,
  newX86MmuMemoryCaches,
  type X86MmuMemoryCaches,
} from './mmu_memory_caches.ts';
import { type HostPageAlloc, host_alloc, host_free, newHostPageAlloc } from './page_alloc.ts';

/** The per-vCPU caches by index (taken counts, encodings, metrics). */
export const MC_PTE_LIST_DESC = 0;
export const MC_SHADOW_PAGE = 1;
export const MC_SHADOWED_INFO = 2;
export const MC_PAGE_HEADER = 3;
export const MC_COUNT = 4;

/** What a step checks (HostHooks.memcacheEvent; the explorer's properties). */
/** An allocation found its cache empty (BUG in 5.2, WARN + GFP_ATOMIC from 5.9). */
export const MC_EV_EMPTY = 1;
/** A fault took more objects from a cache than its topup guaranteed (the era's minimum). */
export const MC_EV_OVER_MIN = 2;
/** A sleepable allocation while mmu_lock is held. */
export const MC_EV_SLEEP_UNDER_LOCK = 3;
/** A kernel BUG: the host is dead. */
export const MC_EV_BUG = 4;

export interface MmuCachesStat {
  /** mmu_topup_memory_caches calls (fault path and kvm_mmu_load). */
  topups: number;
  /** … of which returned an error (-ENOMEM) to the fault. */
  topup_failures: number;
  /** Allocations that found their cache empty. */
  empty_cache_allocs: number;
  /** GFP_ATOMIC emergency allocations (5.9+ empty cache). */
  emergency_allocs: number;
  /** Sleepable allocations under mmu_lock. */
  sleep_under_lock: number;
  /** Topups that allocated at least one object (mmu.md §D: most find every cache at its minimum). */
  topups_allocating: number;
  /** The most objects one batch (a fault's install, or a root load) took from the caches (§D). */
  max_batch_objects: number;
  /** Roots allocated (kvm_mmu_load). */
  roots: number;
  /** Page tables below the root allocated. */
  tables: number;
  /** KVM_RUN returned an error to user space. */
  kvm_run_errors: number;
}

export interface MmuCachesVm {
  readonly era: MemcacheEra;
  /** An indirect (shadow-paging) MMU: maybe_indirect for the topup, the extra object per table. */
  readonly indirect: boolean;
  /** The era's minimum per cache (MC_*), the what-if cache-min-too-small applied. */
  readonly min: Int32Array;
  readonly topupUnderLock: boolean;
  readonly caches: readonly X86MmuMemoryCaches[];
  readonly pages: KvmMmuPages;
  readonly alloc: HostPageAlloc;
  /** The host's MemCacheHost for the vCPU whose fault is running (set before each call). */
  readonly host: MemCacheHost;
  /**
   * Objects each vCPU took per cache in its current batch (vcpus × MC_COUNT): a root load or one fault's
   * install. Each batch follows its own topup (one topup per fault; a retried fault tops up again), so
   * the count starts at each batch and needs no encoding.
   */
  readonly taken: Int32Array;
  mmu_lock_held: boolean;
  /** Objects the current batch took (all caches). */
  batch: number;
  /** stat.sleep_under_lock when mmu_lock was last taken (one report per hold). */
  sleepSeen: number;
  /** The vCPU whose fault runs now (for hooks and taken counts). */
  cur: number;
  /** A kernel BUG killed the host: its message (null: alive). */
  bug: string | null;
  /** Per vCPU: kvm_mmu_load ran since the root was (re)allocated (mmu->root.hpa is valid). */
  readonly root_loaded: Uint8Array;
  /** Per vCPU: the errno KVM_RUN returned (0: none). The VMM stops the VM on one (see kvm_run_failed). */
  readonly run_error: Int32Array;
  readonly stat: MmuCachesStat;
  /** Reported events: (vcpu, MC_EV_*). */
  event: ((vcpu: number, ev: number, what: string) => void) | null;
}

/** The cache of index `c` in a vCPU's set (null: the era or MMU has no such cache). */
export function cacheOf(s: X86MmuMemoryCaches, c: number): KvmMmuMemoryCache | null {
  switch (c) {
    case MC_PTE_LIST_DESC:
      return s.mmu_pte_list_desc_cache;
    case MC_SHADOW_PAGE:
      return s.mmu_shadow_page_cache;
    case MC_SHADOWED_INFO:
      return s.mmu_shadowed_info_cache;
    default:
      return s.mmu_page_header_cache;
  }
}

export function newMmuCachesVm(
  host: EraConfig,
  vcpus: number,
  npages: number,
  indirect: boolean,
): MmuCachesVm {
  // cache-min-too-small (a what-if): the shadow-page minimum below the 3 levels a first fault under an
  // existing root may need.
  const faithful = memcacheEra(host.name);
  const era: MemcacheEra = host.mmu.cacheMinTooSmall ? { ...faithful, minShadowPage: 1 } : faithful;
  const min = Int32Array.from([
    era.minPteListDesc,
    era.minShadowPage,
    era.minShadowedInfo,
    era.minPageHeader,
  ]);
  const m: MmuCachesVm = {
    era,
    indirect,
    min,
    topupUnderLock: host.mmu.topupUnderMmuLock,
    caches: Array.from({ length: vcpus }, () => newX86MmuMemoryCaches(era)),
    pages: newKvmMmuPages(npages),
    alloc: newHostPageAlloc(),
    host: null as unknown as MemCacheHost,
    taken: new Int32Array(vcpus * MC_COUNT),
    mmu_lock_held: false,
    batch: 0,
    sleepSeen: 0,
    cur: 0,
    bug: null,
    root_loaded: new Uint8Array(vcpus),
    run_error: new Int32Array(vcpus),
    stat: {
      topups: 0,
      topup_failures: 0,
      topups_allocating: 0,
      max_batch_objects: 0,
      empty_cache_allocs: 0,
      emergency_allocs: 0,
      sleep_under_lock: 0,
      roots: 0,
      tables: 0,
      kvm_run_errors: 0,
    },
    event: null,
  };
  (m as { host: MemCacheHost }).host = {
    alloc(atomic: boolean): number {
      if (!atomic && m.mmu_lock_held) {
        // Reported once per lock hold (the kernel's might_sleep splat is once per call site, too).
        if (m.stat.sleep_under_lock++ === m.sleepSeen)
          m.event?.(m.cur, MC_EV_SLEEP_UNDER_LOCK, 'GFP_KERNEL allocation while holding mmu_lock');
      }
      if (atomic) m.stat.emergency_allocs++;
      return host_alloc(m.alloc);
    },
    free(id: number): void {
      host_free(m.alloc, id);
    },
    warn(what: string): void {
      m.event?.(m.cur, 0, what);
    },
    bug(what: string): void {
      if (m.bug === null) m.bug = what;
      m.event?.(m.cur, MC_EV_BUG, what);
    },
  };
  return m;
}

/** The vCPU set's topup (the era's minima; cache-min-too-small lowers one). 0 or -ENOMEM. */
export function kvm_mmu_topup_vcpu(m: MmuCachesVm, vcpu: number): number {
  m.cur = vcpu;
  m.stat.topups++;
  // Every cache the topup looks at holds its minimum: each kvm_mmu_topup_memory_cache returns 0 without
  // allocating (A.5.1 step 2), so the call is skipped (the simulator's common case).
  if (topupNoop(m, vcpu)) return 0;
  const before = m.alloc.allocated;
  const r = mmu_topup_memory_caches(m.caches[vcpu]!, m.indirect, m.host);
  if (m.alloc.allocated !== before) m.stat.topups_allocating++;
  if (r !== 0) m.stat.topup_failures++;
  return r;
}

function topupNoop(m: MmuCachesVm, vcpu: number): boolean {
  const s = m.caches[vcpu]!;
  if (s.mmu_pte_list_desc_cache.nobjs < m.min[MC_PTE_LIST_DESC]!) return false;
  if (s.mmu_shadow_page_cache.nobjs < m.min[MC_SHADOW_PAGE]!) return false;
  if (
    m.indirect &&
    s.mmu_shadowed_info_cache !== null &&
    s.mmu_shadowed_info_cache.nobjs < m.min[MC_SHADOWED_INFO]!
  )
    return false;
  if (s.mmu_external_spt_cache !== null && s.mirroredTdp) return false;
  return s.mmu_page_header_cache.nobjs >= m.min[MC_PAGE_HEADER]!;
}

/** kvm_mmu_memory_cache_alloc from cache `c` of the vCPU, with the checks of the properties. 0: BUG. */
function take(m: MmuCachesVm, vcpu: number, c: number): number {
  const mc = cacheOf(m.caches[vcpu]!, c)!;
  const i = vcpu * MC_COUNT + c;
  if (++m.batch > m.stat.max_batch_objects) m.stat.max_batch_objects = m.batch;
  if (++m.taken[i]! > m.min[c]!)
    m.event?.(vcpu, MC_EV_OVER_MIN, `${mc.name}: object ${m.taken[i]} of one fault, minimum ${m.min[c]}`);
  if (mc.nobjs === 0) {
    m.stat.empty_cache_allocs++;
    m.event?.(vcpu, MC_EV_EMPTY, `${mc.name} empty under mmu_lock`);
  }
  return kvm_mmu_memory_cache_alloc(mc, m.host);
}

const spObjs = new Int32Array(3);

/**
 * kvm_mmu_alloc_page (5.2) / kvm_mmu_alloc_shadow_page: one table's objects into spObjs, in the kernel's
 * order (the header, the page table, then for an indirect MMU sp->gfns from the page cache in 5.2, the
 * shadowed_info object from 5.9). Returns false after a BUG (the host is dead).
 */
function alloc_sp_objects(m: MmuCachesVm, vcpu: number): boolean {
  spObjs[2] = 0;
  spObjs[1] = take(m, vcpu, MC_PAGE_HEADER);
  if (spObjs[1] === 0) return false;
  spObjs[0] = take(m, vcpu, MC_SHADOW_PAGE);
  if (spObjs[0] === 0) return false;
  if (!m.indirect) return true;
  spObjs[2] = take(m, vcpu, m.era.form === 'x86-5.2' ? MC_SHADOW_PAGE : MC_SHADOWED_INFO);
  return spObjs[2] !== 0;
}

function alloc_shadow_page(m: MmuCachesVm, vcpu: number, level: number, gfn: number): boolean {
  if (!alloc_sp_objects(m, vcpu)) return false;
  sp_link(m.pages, level, gfn, spObjs[0]!, spObjs[1]!, spObjs[2]!);
  if (level === PT64_ROOT_LEVEL) m.stat.roots++;
  else m.stat.tables++;
  return true;
}

/**
 * kvm_mmu_load: topup, then (under mmu_lock) the root. 0, or the errno for KVM_RUN (-ENOMEM); after a BUG
 * the host is dead (m.bug) and 0 is returned: nothing runs any more.
 */
export function kvm_mmu_load(m: MmuCachesVm, vcpu: number): number {
  // topup-under-mmu-lock (a what-if) takes mmu_lock before the topup.
  if (m.topupUnderLock) mmu_lock(m);
  const r = kvm_mmu_topup_vcpu(m, vcpu);
  if (r !== 0) {
    m.mmu_lock_held = false;
    return r;
  }
  m.taken.fill(0, vcpu * MC_COUNT, vcpu * MC_COUNT + MC_COUNT);
  m.batch = 0;
  mmu_lock(m);
  // mmu_alloc_direct_roots: the VM's root for this role is shared (the TDP MMU's root list, the legacy
  // MMU's shadow-page hash): only the first vCPU to load after a zap allocates it.
  const ok = kvm_mmu_root_valid(m.pages) || alloc_shadow_page(m, vcpu, PT64_ROOT_LEVEL, 0);
  m.mmu_lock_held = false;
  if (ok) m.root_loaded[vcpu] = 1;
  return 0;
}

/**
 * Under mmu_lock, before the SPTE install: a table for every missing level below the root (the
 * kvm_tdp_mmu_map / __direct_map walk). `obsolete`: the install goes into a root a memslot update made
 * obsolete (before 5.16, or root-vs-memslot-update), whose tables were all zapped: every level is
 * missing, and what is allocated there is freed with that root. Returns false after a BUG.
 */
export function kvm_mmu_alloc_levels(m: MmuCachesVm, vcpu: number, gfn: number, obsolete: boolean): boolean {
  if (!obsolete && sp_present(m.pages, 1, gfn)) return true; // the common case: the walk allocates nothing
  m.cur = vcpu;
  m.taken.fill(0, vcpu * MC_COUNT, vcpu * MC_COUNT + MC_COUNT);
  m.batch = 0;
  for (let l = PT64_ROOT_LEVEL - 1; l >= 1; l--) {
    if (obsolete) {
      if (!alloc_sp_objects(m, vcpu)) return false;
      for (let k = 0; k < 3; k++) host_free(m.alloc, spObjs[k]!);
    } else if (!sp_present(m.pages, l, gfn) && !alloc_shadow_page(m, vcpu, l, gfn)) return false;
  }
  return true;
}

/** kvm_mmu_zap_all_fast (a memslot update): every table and the root are freed; vCPUs reload. */
export function kvm_mmu_zap_all_fast(m: MmuCachesVm): void {
  kvm_mmu_zap_all_fast_pages(m.pages, (id) => host_free(m.alloc, id));
  m.root_loaded.fill(0);
}

/** mmu->root.hpa of vCPU v is valid: kvm_mmu_reload has nothing to do. */
export const kvm_mmu_root_loaded = (m: MmuCachesVm, v: number): boolean => m.root_loaded[v] !== 0;

/** -ENOMEM as KVM_RUN returns it. */
export const KVM_RUN_ENOMEM = -ENOMEM;

/** Idle memory in vCPU v's caches, in bytes (the era's object sizes; mmu_memory_caches.ts cachedBytes). */
export const idleCacheBytes = (m: MmuCachesVm, v: number): number => cachedBytes(m.caches[v]!);

/** spin_lock(&kvm->mmu_lock) (write_lock from 5.12): what the properties need to know of it. */
export function mmu_lock(m: MmuCachesVm): void {
  m.mmu_lock_held = true;
  m.sleepSeen = m.stat.sleep_under_lock;
}
