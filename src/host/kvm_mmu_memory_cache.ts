// `struct kvm_mmu_memory_cache` (mmu.md Part A): the per-vCPU / per-VM stash of pre-allocated objects that
// KVM fills ("tops up") where it may sleep and pops under mmu_lock, where it may not. Arch-neutral: one
// model for every kernel form, chosen per cache by `form`.
//
// Forms (mmu.md A.1, A.3, A.5):
// - 'x86-5.2' (≤5.8 x86, arch/x86/kvm/mmu.c): fixed 40-slot array; topup fills to 40, keeps a partial fill
//   and succeeds when it reached `min`; alloc on an empty cache is BUG_ON.
// - 'arm-5.2' (≤5.8 arm/arm64, virt/kvm/arm/mmu.c): `mmu_topup_memory_cache(cache, min, max)`, BUG when
//   max > 40, fills to `max`, and any allocation failure is -ENOMEM even past `min`; alloc BUG_ON on empty.
// - '5.9' (virt/kvm/kvm_main.c, Sean Christopherson's 5.9 series): fixed array of the arch capacity;
//   `gfp_zero` and `kmem_cache` are properties of the cache; alloc on an empty cache WARNs and falls back
//   to an atomic allocation, BUG only when that fails too.
// - '6.0': 837f66c71207 (variable capacity, lazily allocated array, `__kvm_mmu_topup_memory_cache`) and
//   4ab0e470c06d (`gfp_custom`).
// - '6.10': `init_value` (page caches pre-filled with a 64-bit pattern; conflicts with zeroing → -EIO).
//
// Objects are positive integer ids the host hands out; the cache never makes one up. A kernel BUG is
// reported through `host.bug` and the function returns MEMCACHE_BUGGED (or 0 from alloc); a WARN through
// `host.warn`. Nothing here throws for a kernel event; only a call the kernel cannot make for a form
// (e.g. `mmu_topup_memory_cache` on a 6.0 cache, or `gfp_custom` on a 5.9 cache) throws, as a model bug.

import { EIO, ENOMEM } from '../abi/errno.ts';

export type MemCacheForm = 'x86-5.2' | 'arm-5.2' | '5.9' | '6.0' | '6.10';

export const MEM_CACHE_FORMS: readonly MemCacheForm[] = ['x86-5.2', 'arm-5.2', '5.9', '6.0', '6.10'];

/**
 * `KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE` per arch (mmu.md A.2): arch/x86/include/asm/kvm_types.h 40,
 * arm64 40, MIPS 4, RISC-V 32, LoongArch 40. ≤5.8 x86 and arm: `KVM_NR_MEM_OBJS` = 40.
 */
export const KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE = {
  x86: 40,
  arm64: 40,
  mips: 4,
  riscv: 32,
  loongarch: 40,
} as const;
export type MemCacheArch = keyof typeof KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE;

/** ≤5.8 x86 and arm `KVM_NR_MEM_OBJS` (X52, A52). */
export const KVM_NR_MEM_OBJS = 40;

/**
 * Returned by a topup that hit a kernel BUG (arm 5.2 `max > KVM_NR_MEM_OBJS`). Not an errno: the host is
 * dead and `host.bug` has been called; the caller stops.
 */
export const MEMCACHE_BUGGED = -0x10000;

export interface KvmMmuMemoryCache {
  readonly form: MemCacheForm;
  /** The kernel field name of this cache (for WARN/BUG messages), e.g. 'mmu_pte_list_desc_cache'. */
  readonly name: string;
  /** Objects in the cache (`objects[0..nobjs)`). */
  nobjs: number;
  /**
   * Size of the object array. Fixed (arch capacity, or 40 in the 5.2 forms) before 6.0; in '6.0'/'6.10'
   * 0 until the first topup allocates the array, and back to 0 after `kvm_mmu_free_memory_cache`.
   */
  capacity: number;
  /** Object ids, LIFO: `objects[nobjs - 1]` is popped first. null while capacity is 0 (≥6.0). */
  objects: Int32Array | null;
  /** Objects are zeroed when allocated (`__GFP_ZERO`; 5.2 x86: kmem objects yes, pages no; arm 5.2 yes). */
  gfp_zero: boolean;
  /** ≥6.0: topup allocates with a custom gfp; the only user's gfp is GFP_ATOMIC (RISC-V ioremap). */
  gfp_custom: boolean;
  /**
   * ≥6.10: a 64-bit pattern written into every page allocated for this cache (x86: SHADOW_NONPRESENT_VALUE
   * = bit 63). 0 = none. Kept as a number: only "zero or not" and equality matter to the model.
   */
  init_value: number;
  /** Objects come from a kmem_cache (e.g. pte_list_desc); false = whole pages. */
  kmem_cache: boolean;
}

/** What the host gives a cache: an allocator that may fail, and WARN/BUG reporting. */
export interface MemCacheHost {
  /**
   * A fresh object id > 0 for `mc` (a page or a kmem_cache object, per mc.kmem_cache), or 0 when the
   * allocation fails. `atomic` = GFP_ATOMIC (the emergency allocation in alloc, or gfp_custom topups).
   */
  alloc(atomic: boolean, mc: KvmMmuMemoryCache): number;
  /** Frees an object that was in the cache (kmem_cache_free / free_page). */
  free(id: number, mc: KvmMmuMemoryCache): void;
  /**
   * ≥6.0: kvmalloc_array of the object array on the first topup; false = the allocation failed
   * (-ENOMEM). Absent: it always succeeds.
   */
  allocArray?(capacity: number, atomic: boolean, mc: KvmMmuMemoryCache): boolean;
  /** A kernel WARN. The message starts with WARN_ON or WARN_ON_ONCE and names the function and cache. */
  warn(what: string): void;
  /** A kernel BUG: the host is dead; the caller records it. Never a JS throw. */
  bug(what: string): void;
  /**
   * The static "already fired" flags of the WARN_ON_ONCE call sites in kvm_main.c (bit per WARN_SITE_*),
   * kernel-wide like the real ones. Created as 0 on first use when absent; hash it if you explore.
   */
  warnedOnce?: number;
}

/** WARN_ON_ONCE(!capacity) in __kvm_mmu_topup_memory_cache (≥6.0). */
export const WARN_SITE_CAPACITY_ZERO = 1;
/** WARN_ON_ONCE(init_value && (kmem_cache || gfp_zero)) (≥6.10). */
export const WARN_SITE_INIT_VALUE_CONFLICT = 2;
/** WARN_ON_ONCE(capacity != mc->capacity) (≥6.0). */
export const WARN_SITE_CAPACITY_MISMATCH = 4;

export interface NewMemCacheOptions {
  name?: string;
  /** Arch whose KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE sizes the fixed array ('5.9'); default x86. */
  arch?: MemCacheArch;
  gfp_zero?: boolean;
  gfp_custom?: boolean;
  init_value?: number;
  kmem_cache?: boolean;
}

const hasVariableCapacity = (f: MemCacheForm): boolean => f === '6.0' || f === '6.10';

/**
 * A zero-initialised cache as the kernel embeds it in struct kvm_vcpu_arch / kvm_arch, with the config
 * fields the arch sets at vCPU/VM creation. The 5.2 x86 page cache is not zeroed at topup; pass
 * gfp_zero: false for it.
 */
export function newKvmMmuMemoryCache(form: MemCacheForm, opts: NewMemCacheOptions = {}): KvmMmuMemoryCache {
  const gfp_custom = opts.gfp_custom ?? false;
  const init_value = opts.init_value ?? 0;
  if (gfp_custom && !hasVariableCapacity(form)) {
    throw new RangeError(
      `kvm_mmu_memory_cache: gfp_custom exists from 6.0 (4ab0e470c06d), not in form ${form}`,
    );
  }
  if (init_value !== 0 && form !== '6.10') {
    throw new RangeError(`kvm_mmu_memory_cache: init_value exists from 6.10, not in form ${form}`);
  }
  let capacity = 0;
  if (form === 'x86-5.2' || form === 'arm-5.2') capacity = KVM_NR_MEM_OBJS;
  else if (form === '5.9') capacity = KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE[opts.arch ?? 'x86'];
  return {
    form,
    name: opts.name ?? 'kvm_mmu_memory_cache',
    nobjs: 0,
    capacity,
    objects: capacity > 0 ? new Int32Array(capacity) : null,
    // arm 5.2 allocates with PGALLOC_GFP, which includes __GFP_ZERO.
    gfp_zero: opts.gfp_zero ?? form === 'arm-5.2',
    gfp_custom,
    init_value,
    kmem_cache: opts.kmem_cache ?? false,
  };
}

function warnOnce(host: MemCacheHost, site: number, what: string): void {
  const fired = host.warnedOnce ?? 0;
  if ((fired & site) !== 0) return;
  host.warnedOnce = fired | site;
  host.warn(what);
}

/** Fills `objects[nobjs..limit)`; false when an object allocation failed (the partial fill is kept). */
function fill(mc: KvmMmuMemoryCache, limit: number, atomic: boolean, host: MemCacheHost): boolean {
  const objects = mc.objects!;
  while (mc.nobjs < limit) {
    const id = host.alloc(atomic, mc);
    if (id <= 0) return false;
    objects[mc.nobjs++] = id;
  }
  return true;
}

/**
 * `__kvm_mmu_topup_memory_cache(mc, capacity, min)` (mmu.md A.5.1, ≥6.0; A.5.2 for '5.9', A.5.3 for
 * 'x86-5.2', where `capacity` is ignored: the array is fixed). 0 | -ENOMEM | -EIO. An 'arm-5.2' cache
 * goes through `mmu_topup_memory_cache(mc, min, capacity, host)`.
 */
export function __kvm_mmu_topup_memory_cache(
  mc: KvmMmuMemoryCache,
  capacity: number,
  min: number,
  host: MemCacheHost,
): number {
  if (mc.form === 'arm-5.2') return mmu_topup_memory_cache(mc, min, capacity, host);
  // A.5.1-2: enough objects → nothing is allocated, the cache is not refilled to capacity.
  if (mc.nobjs >= min) return 0;
  if (hasVariableCapacity(mc.form)) {
    if (mc.objects === null) {
      // A.5.1-3a: checked only when the array does not exist yet.
      if (capacity === 0) {
        warnOnce(
          host,
          WARN_SITE_CAPACITY_ZERO,
          `WARN_ON_ONCE(!capacity) in __kvm_mmu_topup_memory_cache (${mc.name})`,
        );
        return -EIO;
      }
      // A.5.1-3b (6.10): a custom fill only for whole pages, and it contradicts zeroing.
      if (mc.init_value !== 0 && (mc.kmem_cache || mc.gfp_zero)) {
        warnOnce(
          host,
          WARN_SITE_INIT_VALUE_CONFLICT,
          `WARN_ON_ONCE(mc->init_value && (mc->kmem_cache || mc->gfp_zero)) in __kvm_mmu_topup_memory_cache (${mc.name})`,
        );
        return -EIO;
      }
      // A.5.1-3c: kvmalloc_array with the topup gfp; failure leaves the cache as it was.
      if (host.allocArray !== undefined && !host.allocArray(capacity, mc.gfp_custom, mc)) return -ENOMEM;
      mc.objects = new Int32Array(capacity);
      mc.capacity = capacity;
    }
    // A.5.1-4: the same cache with another capacity.
    if (mc.capacity !== capacity) {
      warnOnce(
        host,
        WARN_SITE_CAPACITY_MISMATCH,
        `WARN_ON_ONCE(mc->capacity != capacity) in __kvm_mmu_topup_memory_cache (${mc.name}: ${mc.capacity} vs ${capacity})`,
      );
      return -EIO;
    }
  }
  // A.5.1-5 / A.5.2 / A.5.3 x86: a failure keeps the partial fill and succeeds if it reached min.
  if (!fill(mc, mc.capacity, mc.gfp_custom, host)) return mc.nobjs >= min ? 0 : -ENOMEM;
  return 0;
}

/**
 * `kvm_mmu_topup_memory_cache(mc, min)`: capacity = the arch's KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE (x86 by
 * default). For the fixed-array forms the capacity is the array's.
 */
export function kvm_mmu_topup_memory_cache(
  mc: KvmMmuMemoryCache,
  min: number,
  host: MemCacheHost,
  arch: MemCacheArch = 'x86',
): number {
  const capacity = hasVariableCapacity(mc.form) ? KVM_ARCH_NR_OBJS_PER_MEMORY_CACHE[arch] : mc.capacity;
  return __kvm_mmu_topup_memory_cache(mc, capacity, min, host);
}

/**
 * arm/arm64 ≤5.8 `mmu_topup_memory_cache(cache, min, max)` (mmu.md A.5.3, virt/kvm/arm/mmu.c 5.2):
 * BUG_ON(max > KVM_NR_MEM_OBJS); `nobjs ≥ min` → 0; else fill to `max` with zeroed pages; any failed
 * allocation → -ENOMEM, even when `nobjs ≥ min` by then (the pages already taken stay).
 */
export function mmu_topup_memory_cache(
  mc: KvmMmuMemoryCache,
  min: number,
  max: number,
  host: MemCacheHost,
): number {
  if (mc.form !== 'arm-5.2')
    throw new RangeError(`mmu_topup_memory_cache(min, max) is the arm 5.2 form, not ${mc.form}`);
  if (max > KVM_NR_MEM_OBJS) {
    host.bug(`BUG_ON(max > KVM_NR_MEM_OBJS) in mmu_topup_memory_cache (${mc.name}: max ${max})`);
    return MEMCACHE_BUGGED;
  }
  if (mc.nobjs >= min) return 0;
  return fill(mc, max, false, host) ? 0 : -ENOMEM;
}

/**
 * `kvm_mmu_memory_cache_alloc(mc)` (mmu.md A.5.4): pops the most recently added object. Empty cache:
 * 5.2 forms BUG_ON at once; ≥5.9 a plain WARN_ON (every time) and an emergency GFP_ATOMIC allocation,
 * BUG if that fails. Returns the object id, or 0 after a BUG.
 */
export function kvm_mmu_memory_cache_alloc(mc: KvmMmuMemoryCache, host: MemCacheHost): number {
  if (mc.nobjs > 0) return mc.objects![--mc.nobjs]!;
  if (mc.form === 'x86-5.2' || mc.form === 'arm-5.2') {
    host.bug(`BUG_ON(!mc->nobjs) in mmu_memory_cache_alloc (${mc.name})`);
    return 0;
  }
  host.warn(`WARN_ON(!mc->nobjs) in kvm_mmu_memory_cache_alloc (${mc.name})`);
  const id = host.alloc(true, mc);
  if (id <= 0) {
    host.bug(`BUG_ON(!p) in kvm_mmu_memory_cache_alloc (${mc.name}): emergency GFP_ATOMIC allocation failed`);
    return 0;
  }
  return id;
}

/**
 * `kvm_mmu_free_memory_cache(mc)` (mmu.md A.5.5): frees every object still in the cache (LIFO order);
 * ≥6.0 also frees the array (objects null, capacity 0) so the next topup may pick a new capacity. The
 * config fields stay.
 */
export function kvm_mmu_free_memory_cache(mc: KvmMmuMemoryCache, host: MemCacheHost): void {
  while (mc.nobjs > 0) host.free(mc.objects![--mc.nobjs]!, mc);
  if (hasVariableCapacity(mc.form)) {
    mc.objects = null;
    mc.capacity = 0;
  }
}

/** `kvm_mmu_memory_cache_nr_free_objects(mc)` = nobjs. */
export function kvm_mmu_memory_cache_nr_free_objects(mc: KvmMmuMemoryCache): number {
  return mc.nobjs;
}
