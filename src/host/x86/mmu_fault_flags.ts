// Flags of a notifier-aware fault in flight (vcpu.mmu_fault_flags; mmu_fault.ts).

/** GUP returned a writable mapping (map_writable): the SPTE may be installed writable. */
export const FAULT_WRITABLE = 1;
/** The frame GUP returned stopped backing the gfn (a host operation replaced or freed it) since. */
export const FAULT_PFN_STALE = 2;
/** The access is a write. */
export const FAULT_WRITE = 4;
/** The mmu_invalidate_seq snapshot was taken (seq-snapshot-late takes it only after GUP). */
export const FAULT_SNAPSHOT = 8;
/** The fault is a prefetch (the async completion's prefault): a retry is dropped, nothing re-executes. */
export const FAULT_PREFETCH = 16;
/** A memslot update made the roots obsolete since the fault began (is_page_fault_stale from 5.16). */
export const FAULT_ROOT_OBSOLETE = 32;
