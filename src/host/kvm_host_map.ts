// KVM's guest mapping API (virt/kvm/kvm_main.c, include/linux/kvm_host.h; mmu.md Part C): a kernel mapping
// of one guest page for host-internal callers (nested VMX's vmcs12 and its APIC-access page, the SEV GHCB,
// steal time …), in each form it has had:
// - '5.2' (e45adf665a53, Linux 5.2): kvm_vcpu_map / kvm_vcpu_unmap(dirty); a struct page is kmap'ed and
//   referenced, other memory memremap'ed with page = KVM_UNMAPPED_PAGE; vCPU (SMM-aware) memslots;
// - '5.6' (CVE-2019-3016, 5.6 … 5.16): the same plus kvm_map_gfn / kvm_unmap_gfn with a gfn_to_pfn_cache
//   and an atomic mode;
// - '5.17' (357a18ad230f / 982ed0de4753): kvm_map_gfn is gone; kvm_vcpu_map resolves through the VM's
//   memslots (address space 0), not the vCPU's;
// - '6.13' (the "Stop grabbing references to PFNMAP'd pages" series): writable is chosen at map time
//   (__kvm_vcpu_map, kvm_vcpu_map_readonly), unmap has no dirty argument, struct pages are pinned
//   (FOLL_PIN), page NULL means memremap'ed, and VM_PFNMAP/VM_IO memory is refused unless the module
//   parameter allow_unsafe_mappings is set.
// Kernel errors are return values (-EINVAL, -EFAULT, -EAGAIN). Generic KVM code: it knows nothing of x86
// beyond "is this vCPU in SMM", which the caller passes.
import {
  BACKING_DEVMEM,
  BACKING_NONREFCOUNTED,
  BACKING_RAM,
  backing_lookup,
  type HostBacking,
  mark_page_dirty_in_slot,
} from '../mem/host_backing.ts';
import { host_page_fault_in, type PageStates } from '../mem/page_state.ts';

export const EINVAL = 22;
export const EFAULT = 14;
export const EAGAIN = 11;
export const errnoName = (r: number): string =>
  r === 0 ? 'ok' : r === -EINVAL ? '-EINVAL' : r === -EFAULT ? '-EFAULT' : r === -EAGAIN ? '-EAGAIN' : `${r}`;

export const HOST_MAP_FORMS = ['5.2', '5.6', '5.17', '6.13'] as const;
export type HostMapForm = (typeof HOST_MAP_FORMS)[number];

/** `page` values that are not a struct page: NULL, and 5.x's poison KVM_UNMAPPED_PAGE (0x500 + delta). */
export const PAGE_NULL = 0;
export const KVM_UNMAPPED_PAGE = -0x500;
/** `hva`: NULL, a kmap address, a memremap address (the model keeps which mapping made it). */
export const HVA_NULL = 0;
export const HVA_KMAP = 1;
export const HVA_MEMREMAP = 2;

/**
 * struct kvm_host_map in both forms: `page` is a frame id (host_backing.ts), PAGE_NULL or
 * KVM_UNMAPPED_PAGE; `pinned_page` (≥6.13) a frame id or PAGE_NULL; `pfn` a frame id; `writable` (≥6.13).
 * `written` is the model's: a write went through this mapping since it was made (for dirty-logged).
 */
export interface KvmHostMap {
  page: number;
  pinned_page: number;
  hva: number;
  pfn: number;
  gfn: number;
  writable: boolean;
  written: boolean;
}

export const newHostMap = (): KvmHostMap => ({
  page: PAGE_NULL,
  pinned_page: PAGE_NULL,
  hva: HVA_NULL,
  pfn: 0,
  gfn: -1,
  writable: false,
  written: false,
});

/** struct gfn_to_pfn_cache of 5.6 … 5.16 (x86 steal time): the cached pfn keeps its reference. */
export interface GfnToPfnCache {
  generation: number;
  gfn: number;
  /** Frame id, 0: empty; KVM_PFN_ERR: the cached lookup failed. */
  pfn: number;
  dirty: boolean;
}
export const KVM_PFN_ERR = -1;
export const newGfnToPfnCache = (): GfnToPfnCache => ({ generation: 0, gfn: -1, pfn: 0, dirty: false });

/** Counters of what went wrong (the properties read them). */
export interface HostMapStats {
  /** kvm_vcpu_unmap took the kunmap branch for a memremap'ed mapping (5.2.0–5.2.2). */
  kunmap_of_remap: number;
  /** A memremap'ed unmap from atomic context (kvm_unmap_gfn's WARN_ONCE). */
  warns: number;
  /** memremap mappings not memunmap'ed (an unmap that took the kunmap branch leaves one behind). */
  remaps_live: number;
  /** Unmaps of a map written through while the slot logs dirty pages that left the gfn out of the log. */
  dirty_lost: number;
}

/** What the API works with: the VM's host backing, its form, the module parameter and the switches. */
export interface HostMapContext {
  readonly backing: HostBacking;
  readonly form: HostMapForm;
  /** kvm.allow_unsafe_mappings (0444, default off; ≥6.13). */
  readonly allow_unsafe_mappings: boolean;
  /** CONFIG_HAS_IOMEM (x86: yes; s390: no, so memory without a struct page cannot be mapped). */
  readonly has_iomem: boolean;
  /** Switch unmap-poison-page-check: unmap tests `if (map->page)` (5.2.0–5.2.2). */
  readonly unmapPoisonBug: boolean;
  /** Switch refcount-nonrefcounted-page: a valid non-refcounted struct page is referenced (CVE-2021-22543). */
  readonly refcountBug: boolean;
  /** The VM's page states: a lookup that faults a page in makes it resident (null: not tracked). */
  readonly pages: PageStates | null;
  readonly stats: HostMapStats;
}

export const newHostMapStats = (): HostMapStats => ({
  kunmap_of_remap: 0,
  warns: 0,
  remaps_live: 0,
  dirty_lost: 0,
});

/** After an unmap: a write through the map that the dirty log does not show (migration would lose it). */
function checkDirtyLogged(ctx: HostMapContext, map: KvmHostMap): void {
  const b = ctx.backing;
  if (map.written && b.dirtyLogging && b.dirtyBitmap[map.gfn] === 0) ctx.stats.dirty_lost++;
  map.written = false;
}

/** Which address space resolves a vCPU's map: 5.2–5.16 the vCPU's (SMM-aware), from 5.17 the VM's (0). */
const sees = (ctx: HostMapContext, gfn: number, smmAs: boolean): boolean => {
  const b = ctx.backing;
  if (gfn < 0 || gfn >= b.npages) return false;
  return b.smmOnly[gfn] === 0 || smmAs;
};

/** GUP / follow_pfn: the frame backing `gfn`, faulting one in (the host PTE is present afterwards). */
function lookup(ctx: HostMapContext, gfn: number): number {
  const b = ctx.backing;
  if (b.frame[gfn] === 0 && ctx.pages !== null) host_page_fault_in(ctx.pages, gfn);
  return backing_lookup(b, gfn);
}

/** pfn_valid(): the frame has a struct page. */
const pfnValid = (b: HostBacking, gfn: number): boolean => b.kind[gfn] !== BACKING_DEVMEM;

/** Whether put_page applies to the frame (kvm_is_reserved_pfn false: a struct page KVM referenced). */
const refcounted = (ctx: HostMapContext, gfn: number): boolean => {
  const k = ctx.backing.kind[gfn];
  return k === BACKING_RAM || (k === BACKING_NONREFCOUNTED && ctx.refcountBug);
};

/**
 * 5.x gfn_to_pfn_memslot with write access: the frame with a reference taken, or KVM_PFN_ERR (no slot, a
 * read-only slot, or a valid non-refcounted page that get_page_unless_zero refuses: f8be156be163).
 */
function gfn_to_pfn_5x(ctx: HostMapContext, gfn: number, smmAs: boolean): number {
  const b = ctx.backing;
  if (!sees(ctx, gfn, smmAs) || b.readonly[gfn] !== 0) return KVM_PFN_ERR;
  const kind = b.kind[gfn];
  if (kind === BACKING_NONREFCOUNTED && !ctx.refcountBug) return KVM_PFN_ERR; // hva_to_pfn_remapped -EFAULT
  const f = lookup(ctx, gfn);
  if (kind !== BACKING_DEVMEM) b.refcount[f]!++; // gup's get_page, or (bug) kvm_get_pfn: 0 → 1
  return f;
}

/** kvm_release_pfn(pfn, dirty): SetPageDirty and put_page for a struct page KVM referenced. */
function kvm_release_pfn(ctx: HostMapContext, pfn: number, dirty: boolean): void {
  if (pfn <= 0) return;
  const b = ctx.backing;
  const gfn = b.frameGfn[pfn]!;
  if (!refcounted(ctx, gfn)) return;
  if (dirty) b.pageDirty[pfn] = 1;
  b.refcount[pfn]!--;
  // The CVE: the page went 0 → 1 → 0, and put_page freed it under the driver that owns it.
  if (b.kind[gfn] === BACKING_NONREFCOUNTED && b.refcount[pfn] === 0) b.freedInUse[pfn] = 1;
}

/** kmap or memremap of a resolved frame; fills the map. Returns 0 or -EFAULT/-EINVAL. */
function mapFrame(ctx: HostMapContext, map: KvmHostMap, gfn: number, pfn: number, atomic: boolean): number {
  if (pfnValid(ctx.backing, gfn)) {
    map.page = pfn;
    map.hva = HVA_KMAP; // kmap (or kmap_atomic)
  } else {
    if (atomic) return -EINVAL; // no memremap in atomic context
    if (!ctx.has_iomem) return -EFAULT; // memremap does not exist: hva stays NULL
    map.page = KVM_UNMAPPED_PAGE;
    map.hva = HVA_MEMREMAP;
    ctx.stats.remaps_live++;
  }
  map.pfn = pfn;
  map.gfn = gfn;
  map.written = false;
  return 0;
}

/**
 * @kernel kvm_vcpu_map (5.2 … 6.12; mmu.md C.4.1): `smm` is whether the vCPU is in SMM (5.2–5.16 resolve
 * through its memslots). A failure leaves `map` untouched.
 */
export function kvm_vcpu_map(ctx: HostMapContext, smm: boolean, gfn: number, map: KvmHostMap | null): number {
  if (ctx.form === '6.13') return __kvm_vcpu_map(ctx, gfn, map, true);
  if (map === null) return -EINVAL;
  const smmAs = smm && ctx.form !== '5.17';
  const pfn = gfn_to_pfn_5x(ctx, gfn, smmAs);
  if (pfn === KVM_PFN_ERR) return -EINVAL;
  // A frame without a struct page carries no reference, so the -EFAULT path leaks nothing (mmu.md F.6).
  return mapFrame(ctx, map, gfn, pfn, false);
}

/** @kernel kvm_vcpu_mapped: the map holds a mapping (hva set). */
export const kvm_vcpu_mapped = (map: KvmHostMap): boolean => map.hva !== HVA_NULL;

/** kunmap or memunmap (5.x), with the 5.2.0–5.2.2 test of the poison pointer as a boolean. */
function unmapVa(ctx: HostMapContext, map: KvmHostMap, atomic: boolean): void {
  const kmapped = ctx.unmapPoisonBug ? map.page !== PAGE_NULL : map.page !== KVM_UNMAPPED_PAGE;
  if (kmapped) {
    if (map.hva === HVA_MEMREMAP) ctx.stats.kunmap_of_remap++; // kunmap(poison); memunmap never runs
  } else if (atomic)
    ctx.stats.warns++; // "Unexpected unmapping in atomic context"
  else ctx.stats.remaps_live--; // memunmap
}

/**
 * @kernel kvm_vcpu_unmap (5.2 … 6.12, with `dirty`; mmu.md C.4.2). ≥6.13 the argument is ignored: the map's
 * `writable` decides (C.5.2).
 */
export function kvm_vcpu_unmap(ctx: HostMapContext, map: KvmHostMap | null, dirty: boolean): void {
  if (ctx.form === '6.13') {
    if (map !== null) kvm_vcpu_unmap_613(ctx, map);
    return;
  }
  if (map === null || map.hva === HVA_NULL) return;
  unmapVa(ctx, map, false);
  if (dirty) mark_page_dirty_in_slot(ctx.backing, map.gfn);
  kvm_release_pfn(ctx, map.pfn, dirty);
  checkDirtyLogged(ctx, map);
  map.hva = HVA_NULL;
  map.page = PAGE_NULL;
}

/**
 * @kernel __kvm_vcpu_map (≥6.13; mmu.md C.5.1): kvm_follow_pfn with FOLL_PIN (and FOLL_WRITE when
 * `writable`) through the VM's memslots. The fields are reset first, so a failure leaves hva NULL.
 */
export function __kvm_vcpu_map(
  ctx: HostMapContext,
  gfn: number,
  map: KvmHostMap | null,
  writable: boolean,
): number {
  if (map === null) return -EINVAL;
  map.pinned_page = PAGE_NULL;
  map.page = PAGE_NULL;
  map.hva = HVA_NULL;
  map.gfn = gfn;
  map.writable = writable;
  map.written = false;
  const b = ctx.backing;
  if (!sees(ctx, gfn, false)) return -EINVAL; // no memslot (VM address space 0)
  if (writable && b.readonly[gfn] !== 0) return -EINVAL; // KVM_PFN_ERR_RO_FAULT
  const kind = b.kind[gfn];
  if (kind !== BACKING_RAM) {
    // hva_to_pfn_remapped: a VM_IO | VM_PFNMAP vma cannot be pinned; refused unless the parameter is set,
    // and then mapped without any reference.
    if (!ctx.allow_unsafe_mappings) return -EINVAL;
    const f = lookup(ctx, gfn);
    map.pfn = f;
    if (kind === BACKING_DEVMEM) {
      if (!ctx.has_iomem) return -EFAULT;
      map.hva = HVA_MEMREMAP;
      ctx.stats.remaps_live++;
    } else {
      map.page = f; // pfn_valid: kmap, nothing pinned
      map.hva = HVA_KMAP;
    }
    return 0;
  }
  const f = lookup(ctx, gfn);
  b.pincount[f]!++; // FOLL_PIN
  map.pinned_page = f;
  map.pfn = f;
  map.page = f;
  map.hva = HVA_KMAP;
  return 0;
}

/** @kernel kvm_vcpu_map_readonly (≥6.13). */
export const kvm_vcpu_map_readonly = (ctx: HostMapContext, gfn: number, map: KvmHostMap | null): number =>
  __kvm_vcpu_map(ctx, gfn, map, false);

/** @kernel kvm_vcpu_unmap (≥6.13, no dirty argument; mmu.md C.5.2). */
function kvm_vcpu_unmap_613(ctx: HostMapContext, map: KvmHostMap): void {
  if (map.hva === HVA_NULL) return;
  // page non-NULL → kunmap, else memunmap: no poison value any more.
  if (map.page === PAGE_NULL) ctx.stats.remaps_live--;
  if (map.writable) mark_page_dirty_in_slot(ctx.backing, map.gfn);
  const p = map.pinned_page;
  if (p !== PAGE_NULL) {
    if (map.writable) ctx.backing.pageDirty[p] = 1;
    ctx.backing.pincount[p]!--; // unpin_user_page (after marking it accessed)
  }
  checkDirtyLogged(ctx, map);
  map.hva = HVA_NULL;
  map.page = PAGE_NULL;
  map.pinned_page = PAGE_NULL;
}

/**
 * @kernel kvm_map_gfn (5.6 … 5.16; mmu.md C.4.3) through the VM's memslots. With a cache, a miss (empty,
 * another gfn, an older memslot generation) is -EAGAIN in atomic mode and a refill otherwise; without a
 * cache, atomic mode is always -EAGAIN.
 */
export function kvm_map_gfn(
  ctx: HostMapContext,
  gfn: number,
  map: KvmHostMap | null,
  cache: GfnToPfnCache | null,
  atomic: boolean,
): number {
  if (map === null) return -EINVAL;
  const b = ctx.backing;
  let pfn: number;
  if (cache !== null) {
    if (cache.pfn === 0 || cache.gfn !== gfn || cache.generation !== b.generation) {
      if (atomic) return -EAGAIN;
      // kvm_cache_gfn_to_pfn: release the old pfn honouring its dirty flag, look up the new one.
      kvm_release_pfn(ctx, cache.pfn, cache.dirty);
      cache.pfn = gfn_to_pfn_5x(ctx, gfn, false);
      cache.gfn = gfn;
      cache.dirty = false;
      cache.generation = b.generation;
    }
    pfn = cache.pfn;
  } else {
    if (atomic) return -EAGAIN;
    pfn = gfn_to_pfn_5x(ctx, gfn, false);
  }
  if (pfn === KVM_PFN_ERR) return -EINVAL;
  return mapFrame(ctx, map, gfn, pfn, atomic);
}

/** @kernel kvm_unmap_gfn (5.6 … 5.16): with a cache, the reference stays with it and only `dirty` adds up. */
export function kvm_unmap_gfn(
  ctx: HostMapContext,
  map: KvmHostMap | null,
  cache: GfnToPfnCache | null,
  dirty: boolean,
  atomic: boolean,
): void {
  if (map === null || map.hva === HVA_NULL) return;
  unmapVa(ctx, map, atomic);
  if (dirty) mark_page_dirty_in_slot(ctx.backing, map.gfn);
  if (cache !== null) cache.dirty ||= dirty;
  else kvm_release_pfn(ctx, map.pfn, dirty);
  checkDirtyLogged(ctx, map);
  map.hva = HVA_NULL;
  map.page = PAGE_NULL;
}

/** The vCPU goes away (kvm_arch_vcpu_destroy): the steal-time cache drops its pfn. */
export function kvm_release_gfn_to_pfn_cache(ctx: HostMapContext, cache: GfnToPfnCache): void {
  kvm_release_pfn(ctx, cache.pfn, cache.dirty);
  cache.pfn = 0;
  cache.gfn = -1;
  cache.dirty = false;
  cache.generation = 0;
}

/** A write through the mapping (the caller checked kvm_vcpu_mapped): the frame it maps gets `value`. */
export function host_map_write(b: HostBacking, map: KvmHostMap, value: number): void {
  b.content[map.pfn] = value;
  map.written = true;
}

/** Whether the map names the frame that backs its gfn now (false after a host remap: not notifier-aware). */
export const host_map_coherent = (b: HostBacking, map: KvmHostMap): boolean => b.frame[map.gfn] === map.pfn;

/** One line for transcripts: the map's fields as the kernel has them. */
export function describeHostMap(ctx: HostMapContext, map: KvmHostMap): string {
  if (map.hva === HVA_NULL)
    return ctx.form === '6.13' && map.gfn >= 0 ? `unmapped gfn=${hex(map.gfn)}` : 'unmapped';
  const page =
    map.page === KVM_UNMAPPED_PAGE
      ? 'KVM_UNMAPPED_PAGE'
      : map.page === PAGE_NULL
        ? 'NULL'
        : `frame${map.page}`;
  const via = map.hva === HVA_KMAP ? 'kmap' : 'memremap';
  const pinned =
    ctx.form === '6.13'
      ? ` pinned_page=${map.pinned_page === PAGE_NULL ? 'NULL' : `frame${map.pinned_page}`}`
      : '';
  const w = ctx.form === '6.13' ? ` writable=${map.writable}` : '';
  return `${via} gfn=${hex(map.gfn)} pfn=frame${map.pfn} page=${page}${pinned}${w}`;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
