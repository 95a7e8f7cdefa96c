// The one owner of per-gfn host state. Every change to a guest page's host state goes through a named
// transition here, so the MMU model can hook each one (an invalidation around an eviction, a generation
// per identity change) in one place, and no scheduler writes the byte.
//
// One byte per gfn:
// - PAGE_HOST_RESIDENT: the host page backing the gfn is in RAM, so a fault on it needs no I/O;
// - PAGE_SPTE_MAPPED: the guest's secondary MMU (EPT/NPT or the shadow page tables) maps it, so a guest
//   access does not exit.
// A mapped page is always resident: reclaim unmaps the host PTE, and the MMU notifier that the unmap fires
// zaps the SPTE, so both bits go together (host_page_evict).
//
// Everyone else sees the table through the read-only `PageStates` type; writing an element outside this
// module is a type error, and test/layering.test.ts's owner check greps for casts around it.

/** Per-gfn host state bits. */
export const PAGE_HOST_RESIDENT = 1 << 0;
export const PAGE_SPTE_MAPPED = 1 << 1;
const NOT_RESIDENT_NOR_MAPPED = ~(PAGE_HOST_RESIDENT | PAGE_SPTE_MAPPED) & 0xff;

/** The per-gfn host state of one VM, read-only outside this module. */
export interface PageStates {
  readonly [gfn: number]: number;
  readonly length: number;
}

/** The writable table behind a `PageStates` (this module's only way to write). */
const bytes = (st: PageStates): Uint8Array => st as Uint8Array;

/** A table of `npages` gfns, every host page resident and unmapped (a fresh VM on an idle host). */
export function newPageStates(npages: number): PageStates {
  return new Uint8Array(npages).fill(PAGE_HOST_RESIDENT);
}

/**
 * The host reclaims the page behind `gfn` (swap-out, MADV_DONTNEED, a scenario's "not resident"): the host
 * PTE goes, and with it the SPTE. Returns whether the page was resident.
 */
export function host_page_evict(st: PageStates, gfn: number): boolean {
  const b = bytes(st);
  const s = b[gfn]!;
  b[gfn] = s & NOT_RESIDENT_NOR_MAPPED;
  return (s & PAGE_HOST_RESIDENT) !== 0;
}

/** A GUP of the page behind `gfn` returned (the async worker's page-in): resident, not mapped yet. */
export function host_page_fault_in(st: PageStates, gfn: number): void {
  const b = bytes(st);
  b[gfn] = b[gfn]! | PAGE_HOST_RESIDENT;
}

/** The fault path installs the SPTE for a resident `gfn` (a fixed fault, a prefault). */
export function spte_install(st: PageStates, gfn: number): void {
  const b = bytes(st);
  b[gfn] = b[gfn]! | PAGE_SPTE_MAPPED;
}

/** A blocking GUP then the SPTE install, in one step (a synchronous fault-in, a prefault that faulted). */
export function host_page_fault_in_and_map(st: PageStates, gfn: number): void {
  const b = bytes(st);
  b[gfn] = b[gfn]! | PAGE_HOST_RESIDENT | PAGE_SPTE_MAPPED;
}

/** Restores one gfn's byte from an encoded state (the explorer's decode; not a kernel transition). */
export function restorePageState(st: PageStates, gfn: number, value: number): void {
  bytes(st)[gfn] = value;
}

/**
 * A VM's starting residency (the simulator's warm start, not a kernel transition): gfns [0, n) resident and
 * mapped, the rest swapped out.
 */
export function setResidentPrefix(st: PageStates, n: number): void {
  const b = bytes(st);
  b.fill(0);
  b.fill(PAGE_HOST_RESIDENT | PAGE_SPTE_MAPPED, 0, n);
}
