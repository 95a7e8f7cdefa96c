// The notifier-aware gfn_to_pfn_cache of 5.17+ (virt/kvm/pfncache.c, 982ed0de4753; mmu.md C.6), as far as
// mmu.md §E 49 needs it: a cache that maps a guest page for long-lived kernel use (Xen shared info,
// kvmclock …) and, unlike kvm_vcpu_map, is invalidated by the MMU notifiers. invalidate_range_start marks
// every valid cache whose host address lies in the range invalid; its user then sees `check` fail and
// calls `refresh`, whose retry loop (hva_to_pfn_retry) resolves the pfn again and keeps retrying while an
// invalidation is active or the sequence moved. From 6.0 the cache holds no page reference: it relies on
// the notifiers instead. Not wired into scripts or the explorer.
import { backing_lookup, type HostBacking } from '../mem/host_backing.ts';

export interface GfnToPfnCacheGpc {
  gfn: number;
  /** The host address (slot page) it was resolved at. */
  uhva: number;
  pfn: number;
  generation: number;
  active: boolean;
  valid: boolean;
}

export const newGpc = (): GfnToPfnCacheGpc => ({
  gfn: -1,
  uhva: -1,
  pfn: 0,
  generation: 0,
  active: false,
  valid: false,
});

/** What refresh needs of the VM's notifier state and memslot. */
export interface GpcHost {
  readonly backing: HostBacking;
  readonly mn_active_invalidate_count: number;
  readonly mmu_invalidate_seq: number;
  /** The slot page of gfn 0 (host address of guest RAM). */
  readonly slot_base: number;
}

/** The refresh loop cannot finish: an invalidation is active (it spins until invalidate_range_end). */
export const GPC_REFRESH_SPINS = 1;

/** @kernel kvm_gpc_check: usable as is (active, valid, same memslot generation). */
export const kvm_gpc_check = (gpc: GfnToPfnCacheGpc, generation: number): boolean =>
  gpc.active && gpc.valid && gpc.generation === generation;

/**
 * @kernel kvm_gpc_refresh (hva_to_pfn_retry): snapshot mmu_invalidate_seq, resolve the pfn, retry while
 * mn_active_invalidate_count is non-zero or the sequence changed. Run whole, a loop that would spin returns
 * GPC_REFRESH_SPINS without touching the cache; otherwise 0.
 */
export function kvm_gpc_refresh(h: GpcHost, gpc: GfnToPfnCacheGpc): number {
  const seq = h.mmu_invalidate_seq;
  if (h.mn_active_invalidate_count !== 0) return GPC_REFRESH_SPINS;
  const pfn = backing_lookup(h.backing, gpc.gfn);
  if (h.mmu_invalidate_seq !== seq) return GPC_REFRESH_SPINS;
  gpc.pfn = pfn;
  gpc.uhva = gpc.gfn + h.slot_base;
  gpc.generation = h.backing.generation;
  gpc.valid = true;
  return 0;
}

/** @kernel kvm_gpc_activate: bind the cache to `gfn` and refresh it. */
export function kvm_gpc_activate(h: GpcHost, gpc: GfnToPfnCacheGpc, gfn: number): number {
  gpc.gfn = gfn;
  gpc.active = true;
  gpc.valid = false;
  return kvm_gpc_refresh(h, gpc);
}

/**
 * @kernel gfn_to_pfn_cache_invalidate_start: called from invalidate_range_start before mmu_lock; every
 * valid cache whose host address is in [start, end) is marked invalid.
 */
export function gfn_to_pfn_cache_invalidate_start(
  gpcs: readonly GfnToPfnCacheGpc[],
  start: number,
  end: number,
): void {
  for (const g of gpcs) if (g.valid && g.uhva >= start && g.uhva < end) g.valid = false;
}
