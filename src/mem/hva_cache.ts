// struct gfn_to_hva_cache: KVM maps a guest range once (kvm_gfn_to_hva_cache_init) and then reads and
// writes it without a memslot lookup (kvm_read/write_guest_offset_cached). A cache that failed to
// initialize stays invalid and every access through it fails.
import { type GuestMemory, gpaToGfn, PAGE_SIZE } from './guest_memory.ts';

export interface GfnToHvaCache {
  gpa: number;
  len: number;
  /** Initialized successfully for [gpa, gpa+len). */
  valid: boolean;
  /** The page holding the range when it does not cross a page (the "hva"), else null. */
  page: DataView | null;
  off: number;
}

export const newHvaCache = (): GfnToHvaCache => ({ gpa: 0, len: 0, valid: false, page: null, off: 0 });

/** @kernel kvm_gfn_to_hva_cache_init (virt/kvm/kvm_main.c): fails when the range is not in a memslot. */
export function kvm_gfn_to_hva_cache_init(
  mem: GuestMemory,
  ghc: GfnToHvaCache,
  gpa: number,
  len: number,
): boolean {
  ghc.gpa = gpa;
  ghc.len = len;
  ghc.valid = Number.isSafeInteger(gpa) && mem.contains(gpa, len);
  ghc.off = gpa % PAGE_SIZE;
  ghc.page = ghc.valid && ghc.off + len <= PAGE_SIZE ? mem.page(gpaToGfn(gpa)) : null;
  return ghc.valid;
}

/** @kernel kvm_read_guest_offset_cached: a u32 at `offset`, or null on failure. */
export function kvm_read_guest_offset_cached_u32(
  mem: GuestMemory,
  ghc: GfnToHvaCache,
  offset: number,
): number | null {
  if (!ghc.valid || offset + 4 > ghc.len) return null;
  if (ghc.page !== null) return ghc.page.getUint32(ghc.off + offset, true);
  return mem.readU32(ghc.gpa + offset);
}

/** @kernel kvm_write_guest_offset_cached: a u32 at `offset`; false on failure. */
export function kvm_write_guest_offset_cached_u32(
  mem: GuestMemory,
  ghc: GfnToHvaCache,
  offset: number,
  value: number,
): boolean {
  if (!ghc.valid || offset + 4 > ghc.len) return false;
  if (ghc.page !== null) ghc.page.setUint32(ghc.off + offset, value >>> 0, true);
  else mem.writeU32(ghc.gpa + offset, value);
  return true;
}
