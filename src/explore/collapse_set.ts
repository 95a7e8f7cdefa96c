import { hashWords } from './hash.ts';
import { VISITED_FULL, VisitedSet } from './visited_set.ts';

/** Words per component when the model names no components (fixed-size chunks). */
export const COLLAPSE_CHUNK_WORDS = 8;

/**
 * The visited set with spin's "collapse" compression (Holzmann, spin's -DCOLLAPSE): a state's encoding
 * is cut into components (the model's `components`, e.g. one per vCPU, per guest CPU, per task; else
 * fixed chunks), every distinct component is stored once in a table of its length, and a state is stored
 * as the short vector of its components' indices in those tables. States of one protocol share most of
 * their components (a step changes one vCPU or one task), so the tables stay small and a state costs
 * 4 bytes per component instead of 4 per word.
 *
 * The interface is VisitedSet's (findOrAddHashed, read, grow, ...), and a state's index is its index in
 * the vector set, so the searches, the parent links and the discovery order are the same with or without
 * it. Component tables grow on their own when full; their bytes are counted in `byteLength`.
 */
export class CollapseSet {
  /** Encoding length in 32-bit words. */
  readonly words: number;
  /** Start word of each component, ascending from 0. */
  private readonly starts: Int32Array;
  private readonly lens: Int32Array;
  /** The table each component is interned in (components of one length share a table). */
  private readonly tableOf: Int32Array;
  private readonly tables: VisitedSet[];
  /** States as vectors of component indices. */
  private readonly vectors: VisitedSet;
  private readonly ids: Int32Array;
  private readonly seg: Int32Array;

  constructor(words: number, components: readonly number[] | undefined, initialCapacity = 1024) {
    this.words = words;
    const starts: number[] = [];
    if (components !== undefined && components.length > 0) {
      for (const c of components) {
        if (!Number.isInteger(c) || c < 0 || c >= words || (starts.length > 0 && c <= starts.at(-1)!))
          throw new RangeError(`collapse: component starts must ascend within [0, ${words}): ${components}`);
        starts.push(c);
      }
      if (starts[0] !== 0) starts.unshift(0);
    } else for (let c = 0; c < words; c += COLLAPSE_CHUNK_WORDS) starts.push(c);
    const k = starts.length;
    this.starts = Int32Array.from(starts);
    this.lens = Int32Array.from(starts, (s, i) => (i + 1 < k ? starts[i + 1]! : words) - s);
    const byLen = new Map<number, number>();
    this.tables = [];
    this.tableOf = Int32Array.from(this.lens, (len) => {
      let t = byLen.get(len);
      if (t === undefined) {
        t = this.tables.length;
        byLen.set(len, t);
        this.tables.push(new VisitedSet(len, 16));
      }
      return t;
    });
    this.vectors = new VisitedSet(k, initialCapacity);
    this.ids = new Int32Array(k);
    let longest = 0;
    for (const len of this.lens) longest = Math.max(longest, len);
    this.seg = new Int32Array(longest);
  }

  /** Components per state (the length of a stored vector). */
  get components(): number {
    return this.starts.length;
  }

  get size(): number {
    return this.vectors.size;
  }

  get capacity(): number {
    return this.vectors.capacity;
  }

  /** Looks up, or stores, the encoding `buf[0 .. words)`; as VisitedSet.findOrAddHashed (`h` is unused). */
  findOrAddHashed(buf: Int32Array, _h?: number): number {
    const ids = this.ids;
    const seg = this.seg;
    for (let c = 0; c < ids.length; c++) {
      const at = this.starts[c]!;
      const len = this.lens[c]!;
      for (let j = 0; j < len; j++) seg[j] = buf[at + j]!;
      const t = this.tables[this.tableOf[c]!]!;
      const h = hashWords(seg, 0, len);
      let r = t.findOrAddHashed(seg, h);
      if (r === VISITED_FULL) {
        t.grow();
        r = t.findOrAddHashed(seg, h);
      }
      ids[c] = r >= 0 ? r : -r - 1;
    }
    return this.vectors.findOrAddHashed(ids, hashWords(ids, 0, ids.length));
  }

  findOrAdd(buf: Int32Array): number {
    return this.findOrAddHashed(buf);
  }

  /** Writes state `index`'s encoding into `out[0 .. words)`. */
  read(index: number, out: Int32Array): void {
    const v = this.vectors.chunkOf(index);
    const base = this.vectors.offsetOf(index);
    for (let c = 0; c < this.ids.length; c++) {
      const t = this.tables[this.tableOf[c]!]!;
      const len = this.lens[c]!;
      const id = v[base + c]!;
      const a = t.chunkOf(id);
      const from = t.offsetOf(id);
      const at = this.starts[c]!;
      for (let j = 0; j < len; j++) out[at + j] = a[from + j]!;
    }
  }

  limitSize(n: number): void {
    this.vectors.limitSize(n);
  }

  /** Bytes allocated: the vector set plus every component table. */
  get byteLength(): number {
    let b = this.vectors.byteLength;
    for (const t of this.tables) b += t.byteLength;
    return b;
  }

  /** Bytes after one `grow()` of the vector set (the component tables grow on their own). */
  get grownByteLength(): number {
    return this.byteLength + this.vectors.byteLength;
  }

  grow(): void {
    this.vectors.grow();
  }
}
