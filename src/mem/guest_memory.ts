// Guest physical memory: one RAM memslot at GPA 0, stored sparsely (a page is allocated on first write,
// so a 16 GiB guest costs nothing until written), plus per-gfn host state in one byte each (page_state.ts
// owns it: whether the host page is resident, and whether the guest's secondary MMU maps it).
import { newPageStates, type PageStates } from './page_state.ts';

export const PAGE_SIZE = 4096;

export const gpaToGfn = (gpa: number): number => Math.floor(gpa / PAGE_SIZE);
export const gfnToGpa = (gfn: number): number => gfn * PAGE_SIZE;

export class GuestMemory {
  /** Bytes of RAM in the memslot at GPA 0. */
  readonly size: number;
  readonly npages: number;
  /** PAGE_HOST_RESIDENT | PAGE_SPTE_MAPPED per gfn; written only through page_state.ts's transitions. */
  readonly pageState: PageStates;
  private readonly pages = new Map<number, DataView>();
  /** The last page looked up: the guest's hot data (apf_reason, its own stack) sits in a page or two. */
  private lastGfn = -1;
  private lastPage: DataView | null = null;

  constructor(size: number) {
    this.size = size;
    this.npages = Math.ceil(size / PAGE_SIZE);
    this.pageState = newPageStates(this.npages);
  }

  /**
   * The RAM memslot does not exist yet: a migration destination before the VMM's
   * KVM_SET_USER_MEMORY_REGION (script op host_add_memslot). Every lookup fails, as gfn_to_memslot finds
   * no slot.
   */
  slotAbsent = false;

  /** The memslot covers [gpa, gpa+len). */
  contains(gpa: number, len: number): boolean {
    return !this.slotAbsent && gpa >= 0 && len >= 0 && gpa + len <= this.size;
  }

  /** Migration: the source's RAM contents arrive (the migration stream, or the snapshot file mapped). */
  copyFrom(src: GuestMemory): void {
    for (const [gfn, p] of src.pages)
      if (gfn < this.npages) new Uint8Array(this.page(gfn).buffer).set(new Uint8Array(p.buffer));
  }

  /** The page holding `gpa`, allocated on demand; the caller has checked `contains`. */
  page(gfn: number): DataView {
    if (gfn === this.lastGfn) return this.lastPage!;
    let p = this.pages.get(gfn);
    if (p === undefined) {
      p = new DataView(new ArrayBuffer(PAGE_SIZE));
      this.pages.set(gfn, p);
    }
    this.lastGfn = gfn;
    this.lastPage = p;
    return p;
  }

  /** Reads `size` (1, 2, 4 or 8) bytes little-endian; null outside the memslot. */
  read(gpa: number, size: number): bigint | null {
    if (!this.contains(gpa, size)) return null;
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.readU8(gpa + i));
    return v;
  }

  /** Writes `size` bytes little-endian; false outside the memslot. */
  write(gpa: number, size: number, value: bigint): boolean {
    if (!this.contains(gpa, size)) return false;
    for (let i = 0; i < size; i++) this.writeU8(gpa + i, Number((value >> BigInt(8 * i)) & 0xffn));
    return true;
  }

  readU32(gpa: number): number {
    const off = gpa % PAGE_SIZE;
    if (off <= PAGE_SIZE - 4) return this.page(gpaToGfn(gpa)).getUint32(off, true);
    return Number(this.read(gpa, 4) ?? 0n);
  }

  writeU32(gpa: number, value: number): void {
    const off = gpa % PAGE_SIZE;
    if (off <= PAGE_SIZE - 4) this.page(gpaToGfn(gpa)).setUint32(off, value >>> 0, true);
    else this.write(gpa, 4, BigInt(value >>> 0));
  }

  private readU8(gpa: number): number {
    const p = this.pages.get(gpaToGfn(gpa));
    return p === undefined ? 0 : p.getUint8(gpa % PAGE_SIZE);
  }

  private writeU8(gpa: number, v: number): void {
    this.page(gpaToGfn(gpa)).setUint8(gpa % PAGE_SIZE, v);
  }

  /** The pages written so far, for state encoding: [gfn, bytes] in gfn order. */
  writtenPages(): Array<[number, DataView]> {
    return [...this.pages.entries()].sort((a, b) => a[0] - b[0]);
  }
}
