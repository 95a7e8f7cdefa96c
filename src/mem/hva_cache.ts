// struct gfn_to_hva_cache: KVM maps a guest range once (kvm_gfn_to_hva_cache_init) and then reads and
// writes it without a memslot lookup (kvm_read/write_guest_offset_cached). The cache records the memslot
// generation it was initialized for; an accessor that finds the VM's memslots changed since initializes
// it again from the range it keeps (x86-apf §3.1, the 2026 bullet; 6.19 virt/kvm/kvm_main.c).
//
// Eras (read in the release trees): up to 5.5 the init wrote the new gpa/len first, so a failed init
// left the cache pointing at the bad range (V 5.2.1); from 5.6, 6ad1e29fe0ab "KVM: Clean up
// __kvm_gfn_to_hva_cache_init() and its callers" (Sean Christopherson, posted 2020-01-09), gpa/len are
// written only on success and a failed init keeps the old range (5.6.4, V 5.9.1, 6.19). `keepOnFailure`
// selects the rule.
import { type GuestMemory, gpaToGfn, PAGE_SIZE } from './guest_memory.ts';

export interface GfnToHvaCache {
  /** The range the cache maps; from 5.6 written only by a successful init (kept when one fails). */
  gpa: number;
  len: number;
  /** The memslot generation of the last init, successful or not (set before any error check). */
  generation: number;
  /** The hva is not an error value: the last init succeeded (a stale generation re-initializes first). */
  valid: boolean;
  /** The page holding the range when it does not cross a page (the "hva"), else null. */
  page: DataView | null;
  off: number;
}

export const newHvaCache = (): GfnToHvaCache => ({
  gpa: 0,
  len: 0,
  generation: 0,
  valid: false,
  page: null,
  off: 0,
});

/** What the cache reads of the VM's memslots (the model's one slot; KvmMmuNotifier has both fields). */
export interface MemslotsView {
  /** kvm_memslots(kvm)->generation. */
  readonly memslots_generation: number;
  /** The slot is flagged KVM_MEMSLOT_INVALID (a DELETE/MOVE in progress): its hva lookups fail. */
  readonly slot_invalid: boolean;
}

/** -EINVAL from the accessors: the WARN_ON_ONCE(offset + len > ghc->len) path. */
export const GHC_EINVAL = -22;
/** -EFAULT from the accessors: an error hva (a failed init, now or on re-initialization). */
export const GHC_EFAULT = -14;

/**
 * Whether __kvm_gfn_to_hva_cache_init would succeed for [gpa, gpa+len) now: start_gfn ≤ end_gfn, and
 * every page in a memslot that is not INVALID (gfn_to_hva_many).
 */
export function ghc_range_mappable(mem: GuestMemory, gpa: number, len: number, slotInvalid = false): boolean {
  if (!Number.isSafeInteger(gpa) || slotInvalid) return false;
  if (Math.floor((gpa + len - 1) / PAGE_SIZE) < Math.floor(gpa / PAGE_SIZE)) return false; // -EINVAL
  return mem.contains(gpa, len);
}

/**
 * @kernel kvm_gfn_to_hva_cache_init (virt/kvm/kvm_main.c, __kvm_gfn_to_hva_cache_init): records
 * `generation`, then fails when the range is not in a (valid) memslot. From 5.6 (`keepOnFailure`) a
 * failure changes only the generation and the hva (an error value): gpa/len keep the last good range;
 * before, gpa/len were written first.
 */
export function kvm_gfn_to_hva_cache_init(
  mem: GuestMemory,
  ghc: GfnToHvaCache,
  gpa: number,
  len: number,
  generation: number,
  slotInvalid = false,
  keepOnFailure = true,
): boolean {
  ghc.generation = generation;
  const ok = ghc_range_mappable(mem, gpa, len, slotInvalid);
  if (ok || !keepOnFailure) {
    ghc.gpa = gpa;
    ghc.len = len;
  }
  ghc.valid = ok;
  ghc.off = ok ? gpa % PAGE_SIZE : 0;
  ghc.page = ok && ghc.off + len <= PAGE_SIZE ? mem.page(gpaToGfn(gpa)) : null;
  return ok;
}

/**
 * The common head of the cached accessors: GHC_EINVAL for the WARN, GHC_EFAULT for an error hva after
 * re-initializing a stale cache from the range it keeps, 0 when the access may go ahead. Up to 5.5 the
 * head differed: BUG_ON instead of the WARN (never reached by APF: a failed init wrote len), the result of
 * the re-initialization ignored, and a cache without a memslot (a failed init) read through the slow path
 * kvm_read_guest(gpa), which fails unless the range is mappable now.
 */
function ghc_access(
  mem: GuestMemory,
  slots: MemslotsView,
  ghc: GfnToHvaCache,
  offset: number,
  size: number,
  keepOnFailure: boolean,
): number {
  if (offset + size > ghc.len) return GHC_EINVAL;
  if (slots.memslots_generation !== ghc.generation) {
    const ok = kvm_gfn_to_hva_cache_init(
      mem,
      ghc,
      ghc.gpa,
      ghc.len,
      slots.memslots_generation,
      slots.slot_invalid,
      keepOnFailure,
    );
    if (!ok && keepOnFailure) return GHC_EFAULT;
  }
  if (ghc.valid) return 0;
  if (!keepOnFailure && ghc_range_mappable(mem, ghc.gpa + offset, size, slots.slot_invalid)) return 0;
  return GHC_EFAULT;
}

/**
 * @kernel kvm_read_guest_offset_cached: the u32 at `offset` (≥ 0), or GHC_EINVAL (the caller's WARN)
 * or GHC_EFAULT.
 */
export function kvm_read_guest_offset_cached_u32(
  mem: GuestMemory,
  slots: MemslotsView,
  ghc: GfnToHvaCache,
  offset: number,
  keepOnFailure = true,
): number {
  const r = ghc_access(mem, slots, ghc, offset, 4, keepOnFailure);
  if (r !== 0) return r;
  if (ghc.page !== null) return ghc.page.getUint32(ghc.off + offset, true);
  return mem.readU32(ghc.gpa + offset);
}

/** @kernel kvm_write_guest_offset_cached: a u32 at `offset`; 0, GHC_EINVAL (the caller's WARN) or GHC_EFAULT. */
export function kvm_write_guest_offset_cached_u32(
  mem: GuestMemory,
  slots: MemslotsView,
  ghc: GfnToHvaCache,
  offset: number,
  value: number,
  keepOnFailure = true,
): number {
  const r = ghc_access(mem, slots, ghc, offset, 4, keepOnFailure);
  if (r !== 0) return r;
  if (ghc.page !== null) ghc.page.setUint32(ghc.off + offset, value >>> 0, true);
  else mem.writeU32(ghc.gpa + offset, value);
  return 0;
}
