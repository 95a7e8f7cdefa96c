// Which paging-structure pages of KVM's MMU exist (struct kvm_mmu_page, one per shadow/TDP page table),
// per VM: the root and, below it, the tables of levels 3, 2 and 1 (4-level paging; a table of level L
// covers the gfns with the same gfn >> 9L). It exists so that an SPTE install knows how many objects it
// really takes from the memory caches (mmu.md A.5.6 step 7): one shadow page and one page header per
// missing level (plus, for an indirect MMU, a second page-cache object in 5.2 — sp->gfns — or a
// shadowed_info object from 5.9). Each present table keeps the ids of the objects it was built from, so
// kvm_mmu_zap_all_fast frees exactly those. Leaf zaps (notifier invalidations) free no table: the kernel
// zaps SPTEs there and keeps the tables (the TDP MMU frees page tables only when zapping a whole root or
// a memslot; the model never zaps a non-leaf range except through kvm_mmu_zap_all_fast).
//
// Typed arrays, sized once from guest memory (gfns are below 2^31); lookups are shifts and array reads.
// Tables are built top-down and freed all at once (kvm_mmu_zap_all_fast), so a present level-1 table
// implies its parents: an install checks that one first.

/** The root's level (4-level EPT/NPT or shadow paging; 5-level paging is not modelled). */
export const PT64_ROOT_LEVEL = 4;
/** Object ids kept per table: the page table itself (spt), its kvm_mmu_page header, the indirect extra. */
const SLOTS = 3;
export const SP_SPT = 0;
export const SP_HEADER = 1;
export const SP_EXTRA = 2;

export interface KvmMmuPages {
  /** The root's objects (root[SP_SPT] === 0: no valid root; vCPUs load one at their next entry). */
  readonly root: Int32Array;
  /** Per level 1..3 (index L-1): SLOTS ids per table index (gfn >> 9L); 0 in SP_SPT: not present. */
  readonly tables: readonly Int32Array[];
  /** Tables present below the root. */
  count: number;
}

export function newKvmMmuPages(npages: number): KvmMmuPages {
  const tables: Int32Array[] = [];
  for (let l = 1; l < PT64_ROOT_LEVEL; l++)
    tables.push(new Int32Array(SLOTS * Math.max(1, Math.ceil(npages / 2 ** (9 * l)))));
  return { root: new Int32Array(SLOTS), tables, count: 0 };
}

/** The root is valid (mmu->root.hpa is VALID_PAGE). */
export const kvm_mmu_root_valid = (p: KvmMmuPages): boolean => p.root[SP_SPT] !== 0;

/** The table of `level` (1..3) covering `gfn` exists. */
export const sp_present = (p: KvmMmuPages, level: number, gfn: number): boolean =>
  p.tables[level - 1]![SLOTS * (gfn >>> (9 * level))] !== 0;

/** How many tables below the root an SPTE for `gfn` still needs (0..3). */
export function sp_missing_levels(p: KvmMmuPages, gfn: number): number {
  let n = 0;
  for (let l = 1; l < PT64_ROOT_LEVEL; l++) if (!sp_present(p, l, gfn)) n++;
  return n;
}

/** Links a new table of `level` for `gfn` (level PT64_ROOT_LEVEL: the root) built from these objects. */
export function sp_link(
  p: KvmMmuPages,
  level: number,
  gfn: number,
  spt: number,
  header: number,
  extra: number,
): void {
  let t: Int32Array;
  let i: number;
  if (level === PT64_ROOT_LEVEL) {
    t = p.root;
    i = 0;
  } else {
    t = p.tables[level - 1]!;
    i = SLOTS * (gfn >>> (9 * level));
    p.count++;
  }
  t[i + SP_SPT] = spt;
  t[i + SP_HEADER] = header;
  t[i + SP_EXTRA] = extra;
}

/**
 * kvm_mmu_zap_all_fast after a memslot update (and the vCPUs dropping their obsolete roots): every table
 * and the root are freed; `free` receives each object id. Returns the number of objects freed.
 */
export function kvm_mmu_zap_all_fast_pages(p: KvmMmuPages, free: (id: number) => void): number {
  let n = 0;
  const drop = (t: Int32Array): void => {
    for (let i = 0; i < t.length; i += SLOTS) {
      if (t[i] === 0) continue;
      for (let k = 0; k < SLOTS; k++) {
        const id = t[i + k]!;
        if (id !== 0) {
          free(id);
          n++;
        }
        t[i + k] = 0;
      }
    }
  };
  drop(p.root);
  for (const t of p.tables) if (p.count > 0) drop(t);
  p.count = 0;
  return n;
}

/** Tables of one level the explorer's encoding can hold (one bit each in a word). */
export const SP_ENCODE_MAX = 31;

/**
 * The explorer's encoding: word 0 the root (0/1), word L (1..3) a bit per table of level L. Object ids
 * are not encoded (they only matter to count frees); decoding gives every present table the id 1, and
 * an extra object only when `indirect`.
 */
export function sp_encode(p: KvmMmuPages, out: Int32Array, w: number): number {
  out[w++] = kvm_mmu_root_valid(p) ? 1 : 0;
  for (let l = 1; l < PT64_ROOT_LEVEL; l++) {
    const t = p.tables[l - 1]!;
    let bits = 0;
    for (let i = 0, k = 0; i < t.length && k < SP_ENCODE_MAX; i += SLOTS, k++) if (t[i] !== 0) bits |= 1 << k;
    out[w++] = bits;
  }
  return w;
}

export function sp_decode(p: KvmMmuPages, words: Int32Array, w: number, indirect: boolean): number {
  const fill = (t: Int32Array, i: number, on: boolean): void => {
    t[i + SP_SPT] = on ? 1 : 0;
    t[i + SP_HEADER] = on ? 1 : 0;
    t[i + SP_EXTRA] = on && indirect ? 1 : 0;
  };
  fill(p.root, 0, words[w++] !== 0);
  p.count = 0;
  for (let l = 1; l < PT64_ROOT_LEVEL; l++) {
    const t = p.tables[l - 1]!;
    const bits = words[w++]!;
    for (let i = 0, k = 0; i < t.length && k < SP_ENCODE_MAX; i += SLOTS, k++) {
      const on = (bits & (1 << k)) !== 0;
      fill(t, i, on);
      if (on) p.count++;
    }
  }
  return w;
}

/** Words of sp_encode. */
export const SP_WORDS = PT64_ROOT_LEVEL;
