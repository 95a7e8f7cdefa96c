// The host's allocator as KVM's MMU sees it (mm/page_alloc.c for whole pages, the slab for the
// pte_list_desc and kvm_mmu_page objects): every allocation either returns an object or fails. The
// environment controls memory pressure (a script's `host_alloc_fail` op, the explorer's `mmu.alloc_fail`):
// after `grant` more allocations succeed, the next `fails` fail (-1: all of them, until released). Objects
// are numbered (1, 2, …; 0 means "failed"); only counts and ids exist, no memory. Plain numbers only: the
// fault path calls this with no allocation of its own.

/** No pressure: every allocation succeeds. */
export const NO_PRESSURE = -1;
/** `fails` value: every allocation fails once the grants are used, until the pressure is released. */
export const FAIL_FOREVER = -1;

export interface HostPageAlloc {
  /** Allocations still granted before the failures begin (NO_PRESSURE: no failure is coming). */
  grant: number;
  /** Failures still to come once `grant` is 0 (FAIL_FOREVER: every later allocation fails). */
  fails: number;
  /** The next object id. */
  next_id: number;
  /** Objects allocated, freed, and allocations that failed (statistics; the explorer does not encode them). */
  allocated: number;
  freed: number;
  failed: number;
}

export const newHostPageAlloc = (): HostPageAlloc => ({
  grant: NO_PRESSURE,
  fails: 0,
  next_id: 1,
  allocated: 0,
  freed: 0,
  failed: 0,
});

/**
 * Memory pressure from now on: `after` more allocations succeed, then `fails` fail (FAIL_FOREVER: every
 * one), then allocations succeed again.
 * @model the environment's knob, no kernel function (a real host gets there by running out of memory).
 */
export function host_alloc_pressure(a: HostPageAlloc, after: number, fails: number): void {
  a.grant = after;
  a.fails = fails;
}

/**
 * One allocation (__get_free_page or kmem_cache_alloc, sleepable or GFP_ATOMIC alike: under this model's
 * pressure both fail). Returns the object's id, or 0 when it failed.
 */
export function host_alloc(a: HostPageAlloc): number {
  if (a.grant !== NO_PRESSURE) {
    if (a.grant > 0) a.grant--;
    else if (a.fails !== 0) {
      if (a.fails > 0 && --a.fails === 0) a.grant = NO_PRESSURE;
      a.failed++;
      return 0;
    } else a.grant = NO_PRESSURE;
  }
  a.allocated++;
  return a.next_id++;
}

/** free_page / kmem_cache_free of an object `host_alloc` returned. */
export function host_free(a: HostPageAlloc, id: number): void {
  if (id !== 0) a.freed++;
}
