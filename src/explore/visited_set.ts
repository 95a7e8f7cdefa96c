import { hashWords } from './hash.ts';

/** Returned by {@link VisitedSet.findOrAdd} when a new state does not fit: call `grow()` or stop. */
export const VISITED_FULL = -0x80000000;

/** Largest number of states a set may hold (indices + 1 stay int32, table length stays below 2^32). */
export const VISITED_MAX_STATES = 0x30000000;

/** Table slots per state of capacity: the table is at most 3/4 full. */
const MAX_LOAD_NUM = 3;
const MAX_LOAD_DEN = 4;

/**
 * The set of visited states: no JS object or string per state.
 *
 * Layout:
 * - the arena: every stored encoding back to back, in discovery order, so the state index is the
 *   position divided by the stride: the table stores indices (32 bits whatever the arena's size) and the
 *   arena doubles as the BFS queue. It is held in chunks that are never moved: chunk 0 holds the first
 *   `capacity` states of the initial capacity, and each `grow()` adds a chunk as large as everything
 *   before it (so the capacity doubles, as one reallocated array would, but nothing is copied and only
 *   the new half is allocated). State i of chunk k sits at words [(i - chunkStart(k)) * words, ...) of
 *   it; `chunkOf` and `offsetOf` locate a state.
 * - `table`: open addressing with linear probing over a power-of-two number of slots, each two int32s:
 *   the state's 32-bit hash and `index + 1` (0 = empty). Keeping the hash beside the index costs 4 bytes
 *   a slot but pays twice: a probe that meets another state compares hashes in the same cache line
 *   instead of fetching that state from the arena (a cache miss), and growing re-inserts entries by
 *   scanning the old table in order, with no rehashing and nearly sequential writes. Since probes are
 *   cheap, the table may fill to 3/4, which keeps it as small as a half-full table of bare indices.
 *
 * Growth is explicit: when a new state does not fit, `findOrAdd` returns {@link VISITED_FULL} and the
 * caller decides (within its memory budget) whether to `grow()`. So a budget stop is always clean.
 */
export class VisitedSet {
  /** Encoding length in 32-bit words. */
  readonly words: number;
  /** Number of stored states. */
  size = 0;
  /** States storable before the next `grow()`. */
  capacity: number;
  /** The arena's chunks (see the class comment); chunk k ≥ 1 starts at state first · 2^(k-1). */
  private readonly chunks: Int32Array[] = [];
  /** The first state of each chunk. */
  private readonly starts: number[] = [0];
  /** States in chunk 0 (the initial capacity). */
  private readonly first: number;
  private table: Int32Array;
  /** Slot mask (slots - 1). */
  private mask: number;
  /** A cap on `size` below the capacity (a maxStates budget): new states past it are refused too. */
  private maxSize = VISITED_MAX_STATES;
  /** min(capacity, maxSize): the size at which findOrAdd refuses new states. */
  private room: number;

  constructor(words: number, initialCapacity = 1024) {
    if (!Number.isInteger(words) || words < 1) throw new RangeError(`state words ${words}`);
    this.words = words;
    let slots = 16;
    while ((slots / MAX_LOAD_DEN) * MAX_LOAD_NUM < initialCapacity && slots < VISITED_MAX_STATES) slots *= 2;
    this.mask = slots - 1;
    this.capacity = (slots / MAX_LOAD_DEN) * MAX_LOAD_NUM;
    this.first = this.capacity;
    this.room = this.capacity;
    this.chunks.push(new Int32Array(this.capacity * words));
    this.table = new Int32Array(slots * 2);
  }

  /** The chunk number holding state `index`. */
  private chunkNo(index: number): number {
    return index < this.first ? 0 : 32 - Math.clz32((index / this.first) | 0);
  }

  /** The arena chunk holding state `index` (its words start at `offsetOf(index)` in it). */
  chunkOf(index: number): Int32Array {
    return this.chunks[this.chunkNo(index)]!;
  }

  /** Where state `index`'s words start in `chunkOf(index)`. */
  offsetOf(index: number): number {
    return (index - this.starts[this.chunkNo(index)]!) * this.words;
  }

  /**
   * Looks up the encoding `buf[0 .. words)`. Returns its index as `-(index + 1)` if present; else stores
   * it and returns its new index (>= 0); or returns VISITED_FULL if it is new and the set is full.
   */
  findOrAdd(buf: Int32Array): number {
    return this.findOrAddHashed(buf, hashWords(buf, 0, this.words));
  }

  /** {@link findOrAdd} with the encoding's hash, `hashWords(buf, 0, words)`, already computed. */
  findOrAddHashed(buf: Int32Array, h: number): number {
    const w = this.words;
    const table = this.table;
    const mask = this.mask;
    let slot = h & mask;
    for (;;) {
      const e = table[2 * slot + 1];
      if (e === 0) break;
      if (table[2 * slot] === h) {
        const a = this.chunkOf(e - 1);
        const off = this.offsetOf(e - 1);
        let j = 0;
        while (j < w && a[off + j] === buf[j]) j++;
        if (j === w) return -e;
      }
      slot = (slot + 1) & mask;
    }
    const index = this.size;
    if (index === this.room) return VISITED_FULL;
    const a = this.chunkOf(index);
    const at = this.offsetOf(index);
    if (buf.length === w) a.set(buf, at);
    else for (let j = 0; j < w; j++) a[at + j] = buf[j]!;
    table[2 * slot] = h;
    table[2 * slot + 1] = index + 1;
    this.size = index + 1;
    return index;
  }

  /** True iff the encoding `buf[0 .. words)` is stored. */
  has(buf: Int32Array): boolean {
    const w = this.words;
    const h = hashWords(buf, 0, w);
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const e = this.table[2 * slot + 1];
      if (e === 0) return false;
      if (this.table[2 * slot] !== h) continue;
      const a = this.chunkOf(e - 1);
      const off = this.offsetOf(e - 1);
      let j = 0;
      while (j < w && a[off + j] === buf[j]) j++;
      if (j === w) return true;
    }
  }

  /** Refuses new states once `size` reaches `n` (findOrAdd returns VISITED_FULL), whatever the capacity. */
  limitSize(n: number): void {
    this.maxSize = n;
    this.room = Math.min(this.capacity, n);
  }

  /** Copies state `index`'s encoding into `out[0 .. words)`. */
  read(index: number, out: Int32Array): void {
    const a = this.chunkOf(index);
    const at = this.offsetOf(index);
    out.set(a.subarray(at, at + this.words));
  }

  /** Bytes currently allocated (arena + table). */
  get byteLength(): number {
    let b = this.table.byteLength;
    for (const c of this.chunks) b += c.byteLength;
    return b;
  }

  /** Bytes that would be allocated after one `grow()` (for budget checks before growing). */
  get grownByteLength(): number {
    return 2 * this.byteLength;
  }

  /**
   * Doubles the capacity: adds an arena chunk as large as the arena so far (nothing is copied), and
   * re-inserts the table's entries in old-table order. In a linear-probing table every cluster is
   * contiguous and, within it, entries sit at or after their home slot, so this order writes the new
   * table almost sequentially.
   */
  grow(): void {
    const slots = (this.mask + 1) * 2;
    const cap = (slots / MAX_LOAD_DEN) * MAX_LOAD_NUM;
    if (cap > VISITED_MAX_STATES)
      throw new RangeError(`a visited set holds at most ${VISITED_MAX_STATES} states`);
    this.chunks.push(new Int32Array((cap - this.capacity) * this.words));
    this.starts.push(this.capacity);
    const old = this.table;
    const table = new Int32Array(slots * 2);
    const mask = slots - 1;
    for (let k = 0; k < old.length; k += 2) {
      const e = old[k + 1];
      if (e === 0) continue;
      const h = old[k];
      let slot = h & mask;
      while (table[2 * slot + 1] !== 0) slot = (slot + 1) & mask;
      table[2 * slot] = h;
      table[2 * slot + 1] = e;
    }
    this.table = table;
    this.mask = mask;
    this.capacity = cap;
    this.room = Math.min(cap, this.maxSize);
  }
}
