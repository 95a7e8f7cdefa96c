// What backs each guest page on the host, as far as the guest mapping API (kvm_vcpu_map, mmu.md Part C)
// cares: the kind of memory, the host frame that backs the gfn now, the struct page's reference and pin
// counts and dirty flag, and the memslot's read-only flag and dirty bitmap. One typed array per field,
// indexed by gfn. It exists only in VMs that use guest maps (VmConfig.host_maps); page_state.ts keeps the
// residency and SPTE bits for every VM.
//
// Frames have ids (1, 2, …; 0 = no frame): every host operation that puts another frame behind the gfn
// (migration, a KSM replace, a COW break, a THP collapse, a memslot move) gives it a new id, and an
// operation that frees the frame (MADV_DONTNEED, munmap, reclaim) leaves 0 until the next lookup faults a
// new one in. A map remembers the id it mapped, so it can be compared with the gfn's current frame.
//
// Reference counts are the references KVM took (gup's get_page) and pins are FOLL_PIN pins (≥6.13); the
// page's own mapping references are not counted, so "0" means "nobody but the page tables".

/** Ordinary RAM: a refcounted struct page (anonymous or file memory). */
export const BACKING_RAM = 0;
/** Memory without a struct page: /dev/mem of RAM hidden with mem=, a VM_PFNMAP/VM_IO mapping. */
export const BACKING_DEVMEM = 1;
/**
 * Valid struct pages that are not reference counted, mapped VM_PFNMAP by a driver (the tail pages of a
 * non-compound higher-order allocation: CVE-2021-22543). Their refcount is 0 while the driver owns them.
 */
export const BACKING_NONREFCOUNTED = 2;
export const BACKING_KIND_NAMES = ['ram', 'devmem', 'nonrefcounted'] as const;
export type BackingKindName = (typeof BACKING_KIND_NAMES)[number];

export class HostBacking {
  /** BACKING_* per gfn. */
  readonly kind: Uint8Array;
  /** The frame that backs the gfn now (0: none; the next lookup faults one in). */
  readonly frame: Int32Array;
  /** Per gfn: the memslot is read-only (KVM_MEM_READONLY). */
  readonly readonly: Uint8Array;
  /** Per gfn: the page exists only in the SMM address space (x86 address space 1). */
  readonly smmOnly: Uint8Array;
  /** Per gfn: set in the memslot's dirty bitmap (mark_page_dirty_in_slot). */
  readonly dirtyBitmap: Uint8Array;
  // Per frame id (index 0 unused); the arrays grow as ids are handed out.
  /** References KVM holds (get_page), and FOLL_PIN pins. */
  refcount: Int32Array;
  pincount: Int32Array;
  /** The struct page's dirty flag (SetPageDirty / folio_mark_dirty). */
  pageDirty: Uint8Array;
  /** Freed (its last reference went) while its owner still used it: the CVE's symptom. */
  freedInUse: Uint8Array;
  /** What the page holds (one word stands for its contents; 0 for a fresh page). */
  content: Int32Array;
  /** The gfn it was faulted in for (-1: never). */
  frameGfn: Int32Array;
  /** KVM_MEM_LOG_DIRTY_PAGES on the memslot. */
  dirtyLogging = false;
  /** The memslot generation (bumped by every memslot update). */
  generation = 0;
  /** The next frame id to hand out. */
  nextFrame = 1;

  constructor(
    readonly npages: number,
    /** Frame ids to provide for at first (the arrays grow beyond it). */
    frames = npages + 16,
  ) {
    this.kind = new Uint8Array(npages);
    this.frame = new Int32Array(npages);
    this.readonly = new Uint8Array(npages);
    this.smmOnly = new Uint8Array(npages);
    this.dirtyBitmap = new Uint8Array(npages);
    this.refcount = new Int32Array(frames + 1);
    this.pincount = new Int32Array(frames + 1);
    this.pageDirty = new Uint8Array(frames + 1);
    this.freedInUse = new Uint8Array(frames + 1);
    this.content = new Int32Array(frames + 1);
    this.frameGfn = new Int32Array(frames + 1).fill(-1);
  }

  /** Room for frame ids up to at least `id`. */
  ensure(id: number): void {
    if (id < this.refcount.length) return;
    const n = Math.max(id + 1, this.refcount.length * 2);
    const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.refcount = grow(this.refcount, (k) => new Int32Array(k));
    this.pincount = grow(this.pincount, (k) => new Int32Array(k));
    this.pageDirty = grow(this.pageDirty, (k) => new Uint8Array(k));
    this.freedInUse = grow(this.freedInUse, (k) => new Uint8Array(k));
    this.content = grow(this.content, (k) => new Int32Array(k));
    const g = new Int32Array(n).fill(-1);
    g.set(this.frameGfn);
    this.frameGfn = g;
  }
}

/** A fresh frame for `gfn` (a fault-in, a copy): a new id, clean, unreferenced. Returns it. */
export function backing_new_frame(b: HostBacking, gfn: number): number {
  const f = b.nextFrame++;
  b.ensure(f);
  b.refcount[f] = 0;
  b.pincount[f] = 0;
  b.pageDirty[f] = 0;
  b.freedInUse[f] = 0;
  b.content[f] = 0;
  b.frameGfn[f] = gfn;
  b.frame[gfn] = f;
  return f;
}

/** The frame backing `gfn`, faulting one in when there is none (what GUP does). */
export function backing_lookup(b: HostBacking, gfn: number): number {
  const f = b.frame[gfn]!;
  return f !== 0 ? f : backing_new_frame(b, gfn);
}

/** Whether someone besides the page tables holds the frame backing `gfn` (a reference or a pin). */
export function backing_page_held(b: HostBacking, gfn: number): boolean {
  const f = b.frame[gfn]!;
  return f !== 0 && (b.refcount[f]! > 0 || b.pincount[f]! > 0);
}

/** The host PTE of `gfn` goes and its frame with it (MADV_DONTNEED, munmap, reclaim). */
export function backing_frame_gone(b: HostBacking, gfn: number): void {
  b.frame[gfn] = 0;
}

/**
 * The host PTE of `gfn` maps another frame now, a copy of the old one (migration, KSM replace, COW, THP
 * collapse, the VMM moving guest RAM). A gfn without a frame gets none (nothing to copy).
 */
export function backing_frame_replaced(b: HostBacking, gfn: number): void {
  const old = b.frame[gfn]!;
  if (old === 0) return;
  const f = backing_new_frame(b, gfn);
  b.content[f] = b.content[old]!;
}

/** mark_page_dirty_in_slot: the gfn goes into the dirty bitmap when the slot logs dirty pages. */
export function mark_page_dirty_in_slot(b: HostBacking, gfn: number): void {
  if (b.dirtyLogging) b.dirtyBitmap[gfn] = 1;
}

/** Sets the backing kind of gfns [start, end). */
export function backing_set_kind(b: HostBacking, start: number, end: number, kind: number): void {
  b.kind.fill(kind, start, end);
}
