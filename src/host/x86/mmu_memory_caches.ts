// x86's MMU memory caches (mmu.md A.2, A.3, A.5.6): the per-vCPU set that `mmu_topup_memory_caches`
// fills before a fault takes mmu_lock, the per-VM caches of eager huge-page split, and the per-era facts
// (form, minima, where the topup sits, zeroing, object sizes) that the fault path and the simulator read.
//
// Kernel trees read for this file (GitHub imports of release tarballs; "V x.y" in mmu.md §0):
// 4.19.95 Pascal-0x90/linux-4.19, 5.2.1 wangliang-cs/linux-5.2.1 (arch/x86/kvm/mmu.c,
// arch/x86/include/asm/kvm_host.h); 5.9.1 ach84/linux-5.9.1, 5.15.85 Tptogiar/linux-5.15.85, 6.1.20
// c1336658570/linux-6.1.20, 6.8.0 vivo50kff/linux-6.8, 6.9.0 ec-jt/linux-6.9.0, 6.10.0
// msgeden/cryptocap-arm64-linux-6.10, 6.13.7 ChenRuiwei/linux-6.13.7, 6.14.0
// perishh/linux-6.14, 6.18.2 gfunkmonk/linux-6.18.2 (arch/x86/kvm/mmu/mmu.c, mmu_internal.h, mmu.h,
// arch/x86/include/asm/kvm_host.h, virt/kvm/kvm_main.c).

import {
  __kvm_mmu_topup_memory_cache,
  KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE,
  type KvmMmuMemoryCache,
  kvm_mmu_free_memory_cache,
  kvm_mmu_memory_cache_nr_free_objects,
  kvm_mmu_topup_memory_cache,
  type MemCacheForm,
  type MemCacheHost,
  newKvmMmuMemoryCache,
} from '../kvm_mmu_memory_cache.ts';
import type { EraName } from './era.ts';

/** x86 `PTE_PREFETCH_NUM` (5.2, 6.8). */
export const PTE_PREFETCH_NUM = 8;
/** x86 `PT64_ROOT_MAX_LEVEL` (5.2 and later). */
export const PT64_ROOT_MAX_LEVEL = 5;
/** `SPTE_ENT_PER_PAGE`: 512 8-byte SPTEs in a 4 KiB page table. */
export const SPTE_ENT_PER_PAGE = 512;
/** `SPLIT_DESC_CACHE_MIN_NR_OBJECTS` = SPTE_ENT_PER_PAGE + 1 (arch/x86/include/asm/kvm_host.h, 6.1+). */
export const SPLIT_DESC_CACHE_MIN_NR_OBJECTS = SPTE_ENT_PER_PAGE + 1;
/** x86_64 `SHADOW_NONPRESENT_VALUE` = BIT_ULL(63) (arch/x86/kvm/mmu/spte.h, 6.13.7, 6.18.2); 0 on 32-bit. */
export const SHADOW_NONPRESENT_VALUE = 2 ** 63;
export const PAGE_SIZE = 4096;

/** Byte sizes of the objects an x86 cache holds, for memory accounting (x86_64). */
export interface MemcacheObjectBytes {
  /** Shadow-page tables, gfns / shadowed_info arrays, TDX external page tables: whole pages. */
  readonly page: number;
  /** sizeof(struct pte_list_desc) (kmem_cache object; the slab may round it up). */
  readonly pteListDesc: number;
  /** sizeof(struct kvm_mmu_page) (kmem_cache mmu_page_header_cache; the slab may round it up). */
  readonly mmuPage: number;
  /** Which of the two struct sizes are not read from this era's own source (see memcacheEra). */
  readonly approximate: readonly ('pteListDesc' | 'mmuPage')[];
}

/** One era's memory-cache facts (mmu.md A.2, A.5.3, A.5.6). */
export interface MemcacheEra {
  readonly name: EraName;
  readonly form: MemCacheForm;
  /** Topup minima: pte_list_desc, shadow pages, shadowed_info (0 = no such cache), page headers. */
  readonly minPteListDesc: number;
  readonly minShadowPage: number;
  readonly minShadowedInfo: number;
  readonly minPageHeader: number;
  /** The fifth per-vCPU cache, mmu_external_spt_cache (6.14+); topped up only for a mirrored-TDP (TDX) VM. */
  readonly hasExternalSptCache: boolean;
  readonly minExternalSpt: number;
  /**
   * A VM of type KVM_X86_TDX_VM can exist, so kvm_has_mirrored_tdp can be true. 6.14.0 declares the cache
   * and the check but has no TDX code under arch/x86/kvm/vmx (the cache is never topped up); 6.18.2
   * advertises KVM_X86_TDX_VM (vmx/main.c). 6.15 and 6.17 were not read: TDX host support is taken to have
   * landed in 6.16 (unverified), so 6.15 false and 6.17 true.
   */
  readonly mirroredTdpPossible: boolean;
  /**
   * The kernel name of the third cache: 5.2 has none (gfns come from `mmu_page_cache`),
   * 5.9–5.19 `mmu_gfn_array_cache`, 6.0+ `mmu_shadowed_info_cache` (both: pages, topped up only when the
   * MMU may be indirect).
   */
  readonly shadowedInfoName: 'mmu_gfn_array_cache' | 'mmu_shadowed_info_cache' | null;
  /** The shadow-page cache's kernel name: `mmu_page_cache` (≤5.8), `mmu_shadow_page_cache` (5.9+). */
  readonly shadowPageName: 'mmu_page_cache' | 'mmu_shadow_page_cache';
  /**
   * 5.2: `tdp_page_fault` tops up first, before fast_page_fault; 5.9+: fast_page_fault first, so a fault
   * it fixes tops up nothing (mmu.md A.5.6, §E 16).
   */
  readonly topupBeforeFastPageFault: boolean;
  /**
   * Shadow pages are prepared at topup, outside mmu_lock: zeroed (gfp_zero, 5.9+) or, from 6.10 on x86_64,
   * filled with SHADOW_NONPRESENT_VALUE (init_value). 5.2: not at topup; the page is cleared later under
   * mmu_lock (mmu.md A.5.3, HA2).
   */
  readonly shadowPagePreparedAtTopup: boolean;
  /** 6.10+: the shadow-page cache uses init_value = SHADOW_NONPRESENT_VALUE instead of gfp_zero. */
  readonly shadowPageInitValue: boolean;
  /**
   * Objects an indirect (shadow-paging) shadow page takes: 5.2 two from the page cache (spt + gfns);
   * 5.9+ one shadow page plus one shadowed_info (gfn array) page. A direct page takes one shadow page.
   */
  readonly indirectPageObjects: { readonly shadowPage: number; readonly shadowedInfo: number };
  /** 6.1+ (the 6.0 form): the per-VM split caches of eager huge-page split exist. */
  readonly hasSplitCaches: boolean;
  readonly bytes: MemcacheObjectBytes;
  /** False for eras whose minima/forms are carried over from the nearest tree read, not read themselves. */
  readonly verified: boolean;
}

const SIZES_5_2: MemcacheObjectBytes = {
  page: PAGE_SIZE,
  // 5.2.1: struct pte_list_desc { u64 *sptes[PTE_LIST_EXT = 3]; struct pte_list_desc *more; } = 32.
  pteListDesc: 32,
  // 5.2.1 arch/x86/include/asm/kvm_host.h struct kvm_mmu_page laid out by hand for x86_64: 152.
  mmuPage: 152,
  approximate: [],
};
const SIZES_4_19: MemcacheObjectBytes = {
  ...SIZES_5_2,
  // 4.19.95 (a stable tree: its kvm_mmu_page carries the lpage_disallowed backport) lays out to 184;
  // 4.19.0 and older releases differ and are not read.
  mmuPage: 184,
  approximate: ['mmuPage'],
};
const SIZES_OLD: MemcacheObjectBytes = { ...SIZES_5_2, approximate: ['pteListDesc', 'mmuPage'] };
// 5.9.1 mmu_internal.h: kvm_mmu_page gains lpage_disallowed_link (168); pte_list_desc still 3 entries.
const SIZES_5_9: MemcacheObjectBytes = { page: PAGE_SIZE, pteListDesc: 32, mmuPage: 168, approximate: [] };
// 5.10–5.13 not read: pte_list_desc 3 entries assumed (5.9.1 has 3, 5.15.85 has 14); the TDP MMU (5.10)
// added fields to kvm_mmu_page, so 184 as in 5.15.85.
const SIZES_5_10: MemcacheObjectBytes = {
  page: PAGE_SIZE,
  pteListDesc: 32,
  mmuPage: 184,
  approximate: ['pteListDesc', 'mmuPage'],
};
// 5.15.85: PTE_LIST_EXT 14 with `more` + a u64 count = 128; kvm_mmu_page (tdp_mmu fields, rcu_head) 184.
// 6.1.20, 6.8.0, 6.13.7, 6.18.2: pte_list_desc 128 (6.8+: u32 spte_count + u32 tail_count). kvm_mmu_page
// laid out by hand for 6.1.20, 6.8.0 and 6.18.2: 184 each; the other 6.x releases were not laid out.
const SIZES_5_15: MemcacheObjectBytes = { page: PAGE_SIZE, pteListDesc: 128, mmuPage: 184, approximate: [] };
const SIZES_6_X: MemcacheObjectBytes = { ...SIZES_5_15, approximate: ['mmuPage'] };

const ERA_5_2: Omit<MemcacheEra, 'name' | 'bytes' | 'verified'> = {
  form: 'x86-5.2',
  // 5.2.1 and 4.19.95 mmu_topup_memory_caches: 8 + PTE_PREFETCH_NUM, 8 pages, 4 headers.
  minPteListDesc: 8 + PTE_PREFETCH_NUM,
  minShadowPage: 8,
  minShadowedInfo: 0,
  minPageHeader: 4,
  hasExternalSptCache: false,
  minExternalSpt: 0,
  mirroredTdpPossible: false,
  shadowedInfoName: null,
  shadowPageName: 'mmu_page_cache',
  topupBeforeFastPageFault: true,
  shadowPagePreparedAtTopup: false,
  shadowPageInitValue: false,
  indirectPageObjects: { shadowPage: 2, shadowedInfo: 0 },
  hasSplitCaches: false,
};
const ERA_5_9: Omit<MemcacheEra, 'name' | 'bytes' | 'verified'> = {
  form: '5.9',
  // 5.9.1 mmu_topup_memory_caches: 1 + PT64_ROOT_MAX_LEVEL + PTE_PREFETCH_NUM, then PT64_ROOT_MAX_LEVEL each.
  minPteListDesc: 1 + PT64_ROOT_MAX_LEVEL + PTE_PREFETCH_NUM,
  minShadowPage: PT64_ROOT_MAX_LEVEL,
  minShadowedInfo: PT64_ROOT_MAX_LEVEL,
  minPageHeader: PT64_ROOT_MAX_LEVEL,
  hasExternalSptCache: false,
  minExternalSpt: 0,
  mirroredTdpPossible: false,
  shadowedInfoName: 'mmu_gfn_array_cache',
  shadowPageName: 'mmu_shadow_page_cache',
  topupBeforeFastPageFault: false,
  shadowPagePreparedAtTopup: true,
  shadowPageInitValue: false,
  indirectPageObjects: { shadowPage: 1, shadowedInfo: 1 },
  hasSplitCaches: false,
};
// 6.1.20, 6.8.0, 6.9.0: variable capacity, mmu_shadowed_info_cache, split caches.
const ERA_6_1 = {
  ...ERA_5_9,
  form: '6.0',
  shadowedInfoName: 'mmu_shadowed_info_cache',
  hasSplitCaches: true,
} as const;
// 6.10.0 and 6.13.7 kvm_mmu_create: init_value = SHADOW_NONPRESENT_VALUE, gfp_zero only if that is 0;
// 6.9.0 still sets gfp_zero.
const ERA_6_10 = { ...ERA_6_1, form: '6.10', shadowPageInitValue: true } as const;
// 6.14.0 and 6.18.2: mmu_external_spt_cache, topped up (min PT64_ROOT_MAX_LEVEL) after the pte_list_desc
// cache iff kvm_has_mirrored_tdp(kvm), i.e. vm_type == KVM_X86_TDX_VM. Absent in 6.13.7. 6.15 and 6.17
// were not read; they lie between two trees that have it.
const ERA_6_14 = { ...ERA_6_10, hasExternalSptCache: true, minExternalSpt: PT64_ROOT_MAX_LEVEL } as const;
const ERA_TDX = { ...ERA_6_14, mirroredTdpPossible: true } as const;

const ERAS: Readonly<Record<EraName, MemcacheEra>> = {
  // Before 4.19 nothing was read: the 5.2 form and minima are carried back (PTE_PREFETCH_NUM itself is
  // newer than the 2010 postings), so these rows are unverified.
  '2010': { ...ERA_5_2, name: '2010', bytes: SIZES_OLD, verified: false },
  '2.6.38': { ...ERA_5_2, name: '2.6.38', bytes: SIZES_OLD, verified: false },
  '3.6': { ...ERA_5_2, name: '3.6', bytes: SIZES_OLD, verified: false },
  '3.x': { ...ERA_5_2, name: '3.x', bytes: SIZES_OLD, verified: false },
  '4.14': { ...ERA_5_2, name: '4.14', bytes: SIZES_OLD, verified: false },
  '4.15': { ...ERA_5_2, name: '4.15', bytes: SIZES_OLD, verified: false },
  '4.19': { ...ERA_5_2, name: '4.19', bytes: SIZES_4_19, verified: true },
  '5.2': { ...ERA_5_2, name: '5.2', bytes: SIZES_5_2, verified: true },
  '5.7': { ...ERA_5_2, name: '5.7', bytes: SIZES_5_2, verified: false },
  '5.8': { ...ERA_5_2, name: '5.8', bytes: SIZES_5_2, verified: false },
  '5.9': { ...ERA_5_9, name: '5.9', bytes: SIZES_5_9, verified: true },
  '5.10': { ...ERA_5_9, name: '5.10', bytes: SIZES_5_10, verified: false },
  '5.12': { ...ERA_5_9, name: '5.12', bytes: SIZES_5_10, verified: false },
  '5.13': { ...ERA_5_9, name: '5.13', bytes: SIZES_5_10, verified: false },
  '5.15': { ...ERA_5_9, name: '5.15', bytes: SIZES_5_15, verified: true },
  '6.1': { ...ERA_6_1, name: '6.1', bytes: SIZES_5_15, verified: true },
  '6.8': { ...ERA_6_1, name: '6.8', bytes: SIZES_5_15, verified: true },
  '6.9': { ...ERA_6_1, name: '6.9', bytes: SIZES_6_X, verified: true },
  '6.10': { ...ERA_6_10, name: '6.10', bytes: SIZES_6_X, verified: true },
  '6.13': { ...ERA_6_10, name: '6.13', bytes: SIZES_6_X, verified: true },
  '6.15': { ...ERA_6_14, name: '6.15', bytes: SIZES_6_X, verified: false },
  '6.17': { ...ERA_TDX, name: '6.17', bytes: SIZES_6_X, verified: false },
  '6.18': { ...ERA_TDX, name: '6.18', bytes: SIZES_5_15, verified: true },
  '2026': { ...ERA_TDX, name: '2026', bytes: SIZES_5_15, verified: false },
};

/** The memory-cache facts of an era (era.ts ERA_NAMES). */
export function memcacheEra(name: EraName): MemcacheEra {
  return ERAS[name];
}

/** x86's per-vCPU caches (struct kvm_vcpu_arch). */
export interface X86MmuMemoryCaches {
  readonly era: MemcacheEra;
  /** kvm_has_mirrored_tdp(kvm): a TDX VM (vm_type KVM_X86_TDX_VM); tops up the external_spt cache. */
  readonly mirroredTdp: boolean;
  readonly mmu_pte_list_desc_cache: KvmMmuMemoryCache;
  /** 5.2: `mmu_page_cache` (spt and, for indirect pages, gfns). */
  readonly mmu_shadow_page_cache: KvmMmuMemoryCache;
  /** 5.9–5.19 `mmu_gfn_array_cache`, 6.0+ `mmu_shadowed_info_cache`; null in 5.2. */
  readonly mmu_shadowed_info_cache: KvmMmuMemoryCache | null;
  readonly mmu_page_header_cache: KvmMmuMemoryCache;
  /** 6.14+; null before. */
  readonly mmu_external_spt_cache: KvmMmuMemoryCache | null;
}

/** The caches as kvm_mmu_create configures them for `era` (kmem caches zeroed; shadow pages per era). */
export function newX86MmuMemoryCaches(
  era: EraName | MemcacheEra,
  opts: { mirroredTdp?: boolean } = {},
): X86MmuMemoryCaches {
  const e = typeof era === 'string' ? memcacheEra(era) : era;
  const form = e.form;
  const mirroredTdp = opts.mirroredTdp ?? false;
  if (mirroredTdp && !e.mirroredTdpPossible) {
    throw new RangeError(`mirroredTdp: no TDX VM (KVM_X86_TDX_VM) can be created in era ${e.name}`);
  }
  return {
    era: e,
    mirroredTdp,
    mmu_pte_list_desc_cache: newKvmMmuMemoryCache(form, {
      name: 'mmu_pte_list_desc_cache',
      kmem_cache: true,
      gfp_zero: true,
    }),
    mmu_shadow_page_cache: newKvmMmuMemoryCache(form, {
      name: e.shadowPageName,
      gfp_zero: e.shadowPagePreparedAtTopup && !e.shadowPageInitValue,
      init_value: e.shadowPageInitValue ? SHADOW_NONPRESENT_VALUE : 0,
    }),
    mmu_shadowed_info_cache:
      e.shadowedInfoName === null ? null : newKvmMmuMemoryCache(form, { name: e.shadowedInfoName }),
    mmu_page_header_cache: newKvmMmuMemoryCache(form, {
      name: 'mmu_page_header_cache',
      kmem_cache: true,
      gfp_zero: true,
    }),
    mmu_external_spt_cache: e.hasExternalSptCache
      ? newKvmMmuMemoryCache(form, { name: 'mmu_external_spt_cache' })
      : null,
  };
}

/**
 * `mmu_topup_memory_caches(vcpu, maybe_indirect)`: 0 or the first failing cache's error (-ENOMEM, or -EIO
 * from a ≥6.0 misuse). Order and minima per era: 5.2 pte_list_desc 16, pages 8, headers 4 (maybe_indirect
 * does not exist and is ignored); 5.9+ pte_list_desc 14, [external_spt 5 if mirrored TDP, 6.14+], shadow
 * pages 5, [shadowed_info 5 if maybe_indirect], headers 5.
 */
export function mmu_topup_memory_caches(
  caches: X86MmuMemoryCaches,
  maybe_indirect: boolean,
  host: MemCacheHost,
): number {
  const e = caches.era;
  let r = kvm_mmu_topup_memory_cache(caches.mmu_pte_list_desc_cache, e.minPteListDesc, host);
  if (r !== 0) return r;
  if (caches.mmu_external_spt_cache !== null && caches.mirroredTdp) {
    r = kvm_mmu_topup_memory_cache(caches.mmu_external_spt_cache, e.minExternalSpt, host);
    if (r !== 0) return r;
  }
  r = kvm_mmu_topup_memory_cache(caches.mmu_shadow_page_cache, e.minShadowPage, host);
  if (r !== 0) return r;
  if (caches.mmu_shadowed_info_cache !== null && maybe_indirect) {
    r = kvm_mmu_topup_memory_cache(caches.mmu_shadowed_info_cache, e.minShadowedInfo, host);
    if (r !== 0) return r;
  }
  return kvm_mmu_topup_memory_cache(caches.mmu_page_header_cache, e.minPageHeader, host);
}

/** `mmu_free_memory_caches(vcpu)`: frees every cache (vCPU teardown, and after a failed root load). */
export function mmu_free_memory_caches(caches: X86MmuMemoryCaches, host: MemCacheHost): void {
  kvm_mmu_free_memory_cache(caches.mmu_pte_list_desc_cache, host);
  kvm_mmu_free_memory_cache(caches.mmu_shadow_page_cache, host);
  if (caches.mmu_shadowed_info_cache !== null)
    kvm_mmu_free_memory_cache(caches.mmu_shadowed_info_cache, host);
  if (caches.mmu_external_spt_cache !== null) kvm_mmu_free_memory_cache(caches.mmu_external_spt_cache, host);
  kvm_mmu_free_memory_cache(caches.mmu_page_header_cache, host);
}
/** Same as mmu_free_memory_caches (the name the integration asked for). */
export const kvm_mmu_free_memory_caches = mmu_free_memory_caches;

/** Objects in the vCPU's caches, per cache (for tests and metrics). */
export function nrFreeObjects(caches: X86MmuMemoryCaches): {
  pteListDesc: number;
  shadowPage: number;
  shadowedInfo: number;
  pageHeader: number;
  externalSpt: number;
} {
  return {
    pteListDesc: kvm_mmu_memory_cache_nr_free_objects(caches.mmu_pte_list_desc_cache),
    shadowPage: kvm_mmu_memory_cache_nr_free_objects(caches.mmu_shadow_page_cache),
    shadowedInfo: caches.mmu_shadowed_info_cache?.nobjs ?? 0,
    pageHeader: kvm_mmu_memory_cache_nr_free_objects(caches.mmu_page_header_cache),
    externalSpt: caches.mmu_external_spt_cache?.nobjs ?? 0,
  };
}

/**
 * Bytes held by a vCPU's caches: every cached object at its era size, plus the ≥6.0 kvmalloc'd object
 * arrays (8 bytes a slot). The ≤5.9 arrays are inside struct kvm_vcpu_arch and not counted.
 */
export function cachedBytes(caches: X86MmuMemoryCaches): number {
  const b = caches.era.bytes;
  const arr = (mc: KvmMmuMemoryCache | null): number =>
    mc !== null && (mc.form === '6.0' || mc.form === '6.10') ? 8 * mc.capacity : 0;
  let total = caches.mmu_pte_list_desc_cache.nobjs * b.pteListDesc + arr(caches.mmu_pte_list_desc_cache);
  total += caches.mmu_shadow_page_cache.nobjs * b.page + arr(caches.mmu_shadow_page_cache);
  total += (caches.mmu_shadowed_info_cache?.nobjs ?? 0) * b.page + arr(caches.mmu_shadowed_info_cache);
  total += (caches.mmu_external_spt_cache?.nobjs ?? 0) * b.page + arr(caches.mmu_external_spt_cache);
  total += caches.mmu_page_header_cache.nobjs * b.mmuPage + arr(caches.mmu_page_header_cache);
  return total;
}

/** x86's per-VM caches for eager huge-page split (struct kvm_arch, 6.1+); "Protected by kvm->slots_lock". */
export interface X86SplitCaches {
  readonly split_shadow_page_cache: KvmMmuMemoryCache;
  readonly split_page_header_cache: KvmMmuMemoryCache;
  readonly split_desc_cache: KvmMmuMemoryCache;
}

/** As kvm_mmu_init_vm configures them (6.8, 6.18): all three zeroed; header and desc from kmem caches. */
export function newX86SplitCaches(era: EraName | MemcacheEra): X86SplitCaches | null {
  const e = typeof era === 'string' ? memcacheEra(era) : era;
  if (!e.hasSplitCaches) return null;
  return {
    split_shadow_page_cache: newKvmMmuMemoryCache(e.form, {
      name: 'split_shadow_page_cache',
      gfp_zero: true,
    }),
    split_page_header_cache: newKvmMmuMemoryCache(e.form, {
      name: 'split_page_header_cache',
      kmem_cache: true,
      gfp_zero: true,
    }),
    split_desc_cache: newKvmMmuMemoryCache(e.form, {
      name: 'split_desc_cache',
      kmem_cache: true,
      gfp_zero: true,
    }),
  };
}

/** The split_desc_cache capacity: SPLIT_DESC_CACHE_MIN_NR_OBJECTS + KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE = 553. */
export const SPLIT_DESC_CACHE_CAPACITY =
  SPLIT_DESC_CACHE_MIN_NR_OBJECTS + KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE.x86;

/**
 * `topup_split_caches(kvm)` (6.1.20, 6.8.0, 6.18.2): lockdep_assert_held(&kvm->slots_lock) — without the
 * lock a lockdep WARN is reported and the topup still runs, as a CONFIG_LOCKDEP kernel does — then
 * split_desc_cache to capacity 553 with min 513, split_page_header_cache min 1, split_shadow_page_cache
 * min 1 (both at the default capacity 40). 0 or the first error.
 */
export function topup_split_caches(
  split: X86SplitCaches,
  slotsLockHeld: boolean,
  host: MemCacheHost,
): number {
  if (!slotsLockHeld) host.warn('lockdep_assert_held(&kvm->slots_lock) in topup_split_caches');
  let r = __kvm_mmu_topup_memory_cache(
    split.split_desc_cache,
    SPLIT_DESC_CACHE_CAPACITY,
    SPLIT_DESC_CACHE_MIN_NR_OBJECTS,
    host,
  );
  if (r !== 0) return r;
  r = kvm_mmu_topup_memory_cache(split.split_page_header_cache, 1, host);
  if (r !== 0) return r;
  return kvm_mmu_topup_memory_cache(split.split_shadow_page_cache, 1, host);
}

/**
 * `need_topup_split_caches_or_resched` without the resched half: split_desc_cache below 513, or either
 * other split cache empty.
 */
export function need_topup_split_caches(split: X86SplitCaches): boolean {
  return (
    split.split_desc_cache.nobjs < SPLIT_DESC_CACHE_MIN_NR_OBJECTS ||
    split.split_page_header_cache.nobjs < 1 ||
    split.split_shadow_page_cache.nobjs < 1
  );
}

/** `mmu_free_vm_memory_caches(kvm)`: frees the three split caches (VM teardown). */
export function mmu_free_vm_memory_caches(split: X86SplitCaches, host: MemCacheHost): void {
  kvm_mmu_free_memory_cache(split.split_desc_cache, host);
  kvm_mmu_free_memory_cache(split.split_page_header_cache, host);
  kvm_mmu_free_memory_cache(split.split_shadow_page_cache, host);
}
