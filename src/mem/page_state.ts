// The one owner of per-gfn host state. Every change to a guest page's host state goes through a named
// transition here, so the MMU model can hook each one (an invalidation around an eviction, a generation
// per identity change) in one place, and no scheduler writes the byte.
//
// One byte per gfn:
// - PAGE_HOST_RESIDENT: the host page backing the gfn is in RAM, so a fault on it needs no I/O;
// - PAGE_SPTE_MAPPED: the guest's secondary MMU (EPT/NPT or the shadow page tables) maps it, so a guest
//   access does not exit;
// - PAGE_HOST_RO: the host PTE is write-protected (a KSM page, mprotect PROT_READ): a write needs a COW;
// - PAGE_SPTE_RO: the SPTE is present but not writable (mapped from a read-only host PTE, or rewritten
//   read-only by change_pte); PAGE_SPTE_OLD: its accessed bit is clear (aged, or access-tracked);
// - PAGE_KSM: the host page is a KSM-shared page;
// - PAGE_SPTE_STALE: the SPTE maps a host frame that no longer backs the gfn. Only a bug gets here: the
//   MMU notifiers exist so that KVM never keeps such a mapping (the explorer's no-stale-spte);
// - PAGE_HOST_PROTNONE: a NUMA-hinting scan made the host PTE PROT_NONE; the next GUP takes the hinting
//   fault, which restores it.
// The bits that describe an SPTE are 0 in the common case (writable, young, current), so a VM that never
// sees a host memory operation has the two-bit states of old.
// Without the notifier model (mmu_notifier.ts) a mapped page is always resident: reclaim unmaps the host
// PTE, and the MMU notifier that the unmap fires zaps the SPTE, so both bits go together (host_page_evict).
//
// Everyone else sees the table through the read-only `PageStates` type; writing an element outside this
// module is a type error, and test/layering.test.ts's owner check greps for casts around it.

/** Per-gfn host state bits. */
export const PAGE_HOST_RESIDENT = 1 << 0;
export const PAGE_SPTE_MAPPED = 1 << 1;
export const PAGE_HOST_RO = 1 << 2;
export const PAGE_SPTE_RO = 1 << 3;
export const PAGE_SPTE_OLD = 1 << 4;
export const PAGE_KSM = 1 << 5;
export const PAGE_SPTE_STALE = 1 << 6;
export const PAGE_HOST_PROTNONE = 1 << 7;
const NOT_RESIDENT_NOR_MAPPED = ~(PAGE_HOST_RESIDENT | PAGE_SPTE_MAPPED) & 0xff;
/** Every bit that describes the SPTE rather than the host page. */
const SPTE_BITS = PAGE_SPTE_MAPPED | PAGE_SPTE_RO | PAGE_SPTE_OLD | PAGE_SPTE_STALE;
/** Every bit that describes the host page's identity (a new frame starts without them). */
const FRAME_BITS = PAGE_HOST_RESIDENT | PAGE_HOST_RO | PAGE_KSM | PAGE_HOST_PROTNONE;

/** The per-gfn host state of one VM, read-only outside this module. */
export interface PageStates {
  readonly [gfn: number]: number;
  readonly length: number;
}

/**
 * The guest accesses `gfn` through its SPTE. When the SPTE is present and, for a write, writable, the CPU
 * sets its accessed bit (clears PAGE_SPTE_OLD) and the access completes without an exit (true). Otherwise
 * it is an EPT violation for KVM's fault path (false): a write to a read-only SPTE (a KSM page, a page
 * mapped from a read-only host PTE, a change_pte rewrite) is a write-protection fault, where KVM breaks a
 * KSM page by COW.
 */
export function spte_guest_access(st: PageStates, gfn: number, write: boolean): boolean {
  const b = bytes(st);
  const s = b[gfn]!;
  if ((s & PAGE_SPTE_MAPPED) === 0 || (write && (s & PAGE_SPTE_RO) !== 0)) return false;
  if (s & PAGE_SPTE_OLD) b[gfn] = s & ~PAGE_SPTE_OLD;
  return true;
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

/** The fault path installs the SPTE for a resident `gfn` (a fixed fault, a prefault): writable, young. */
export function spte_install(st: PageStates, gfn: number): void {
  const b = bytes(st);
  b[gfn] = b[gfn]! | PAGE_SPTE_MAPPED;
}

/**
 * The notifier-aware fault installs the SPTE from the pfn it resolved earlier: `writable` is the GUP's
 * map_writable, `stale` whether that frame stopped backing the gfn since (the retry check should have
 * caught it). The SPTE starts young (the access that faulted).
 */
export function spte_install_pfn(st: PageStates, gfn: number, writable: boolean, stale: boolean): void {
  const b = bytes(st);
  b[gfn] =
    (b[gfn]! & ~SPTE_BITS) | PAGE_SPTE_MAPPED | (writable ? 0 : PAGE_SPTE_RO) | (stale ? PAGE_SPTE_STALE : 0);
}

/** fast_page_fault: a write to a present read-only SPTE of a host-writable page makes it writable in place. */
export function spte_make_writable(st: PageStates, gfn: number): void {
  const b = bytes(st);
  b[gfn] = b[gfn]! & ~(PAGE_SPTE_RO | PAGE_SPTE_OLD);
}

/** The secondary MMU drops the SPTE (kvm_unmap_gfn_range's zap). Returns whether one was present. */
export function spte_zap(st: PageStates, gfn: number): boolean {
  const b = bytes(st);
  const s = b[gfn]!;
  b[gfn] = s & ~SPTE_BITS;
  return (s & PAGE_SPTE_MAPPED) !== 0;
}

/**
 * x86 change_pte over a present SPTE (kvm_set_pte_rmap): the new host PTE is read-only, so the SPTE is
 * rewritten in place to the gfn's current frame, read-only, access-tracked (mmu.md B.4.3 step 4).
 */
export function spte_repoint_readonly(st: PageStates, gfn: number): void {
  const b = bytes(st);
  b[gfn] = (b[gfn]! & ~PAGE_SPTE_STALE) | PAGE_SPTE_RO | PAGE_SPTE_OLD;
}

/** Aging: clears the SPTE's accessed bit. Returns whether it was young. */
export function spte_age(st: PageStates, gfn: number): boolean {
  const b = bytes(st);
  const s = b[gfn]!;
  if ((s & PAGE_SPTE_MAPPED) === 0) return false;
  b[gfn] = s | PAGE_SPTE_OLD;
  return (s & PAGE_SPTE_OLD) === 0;
}

/** A guest access through a present SPTE sets its accessed bit (hardware A/D, or an access-tracking fault). */
export function spte_mark_young(st: PageStates, gfn: number): void {
  const b = bytes(st);
  b[gfn] = b[gfn]! & ~PAGE_SPTE_OLD;
}

/**
 * The primary MMU clears the host PTE and frees the frame (reclaim, MADV_DONTNEED, munmap). A SPTE that is
 * still present now maps a freed frame: stale.
 */
export function host_pte_clear(st: PageStates, gfn: number): void {
  const b = bytes(st);
  const s = b[gfn]!;
  b[gfn] = (s & ~FRAME_BITS) | (s & PAGE_SPTE_MAPPED ? PAGE_SPTE_STALE : 0);
}

/** mprotect / KSM write_protect_page: the host PTE becomes read-only (`ro`) or writable again, same frame. */
export function host_pte_set_ro(st: PageStates, gfn: number, ro: boolean): void {
  const b = bytes(st);
  b[gfn] = ro ? b[gfn]! | PAGE_HOST_RO : b[gfn]! & ~PAGE_HOST_RO;
}

/** change_prot_numa: the host PTE becomes PROT_NONE (on) or the hinting fault restores it (off). */
export function host_pte_set_protnone(st: PageStates, gfn: number, on: boolean): void {
  const b = bytes(st);
  b[gfn] = on ? b[gfn]! | PAGE_HOST_PROTNONE : b[gfn]! & ~PAGE_HOST_PROTNONE;
}

/**
 * The host PTE now maps another frame (KSM replace_page: the shared KSM page, read-only; a COW break:
 * a private copy, writable; migration or a THP collapse: a copy with the same protection). A SPTE that
 * is still present maps the old frame: stale.
 */
export function host_page_replace(st: PageStates, gfn: number, ksm: boolean, ro: boolean): void {
  const b = bytes(st);
  const s = b[gfn]!;
  b[gfn] =
    (s & ~(PAGE_KSM | PAGE_HOST_RO | PAGE_HOST_PROTNONE)) |
    PAGE_HOST_RESIDENT |
    (ksm ? PAGE_KSM : 0) |
    (ro ? PAGE_HOST_RO : 0) |
    (s & PAGE_SPTE_MAPPED ? PAGE_SPTE_STALE : 0);
}

/**
 * KSM made this page the KSM page itself (stable_tree_insert after try_to_merge_two_pages): same frame,
 * already write-protected by write_protect_page; from now on a write breaks it by COW.
 */
export function host_page_set_ksm(st: PageStates, gfn: number): void {
  const b = bytes(st);
  b[gfn] = b[gfn]! | PAGE_KSM | PAGE_HOST_RO;
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
