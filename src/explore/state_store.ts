import { CollapseSet } from './collapse_set.ts';
import { hashWords } from './hash.ts';
import { ParentLinks } from './parent_links.ts';
import type { BudgetReason, SearchOptions, SearchStats } from './search_types.ts';
import { VISITED_FULL, VISITED_MAX_STATES, VisitedSet } from './visited_set.ts';

export { VISITED_FULL as STORE_FULL };

/** What the store needs of a set of encodings: VisitedSet, or CollapseSet (options.collapse). */
export interface StateSet {
  readonly words: number;
  readonly size: number;
  readonly capacity: number;
  findOrAddHashed(buf: Int32Array, h: number): number;
  /** Writes state `index`'s encoding into `out[0 .. words)`. */
  read(index: number, out: Int32Array): void;
  limitSize(n: number): void;
  readonly byteLength: number;
  readonly grownByteLength: number;
  grow(): void;
}

/**
 * The visited set plus parent links, grown together under the search budget. Both searches store states
 * through it, so budgets, growth and byte accounting live in one place.
 *
 * Budget semantics: `maxStates` caps the number of stored states exactly. `maxMemBytes` caps the
 * steady-state allocation (arena + table + parent links + `extraBytes`); a growth that would exceed it is
 * refused, so the search stops with what it has (while growing, old and new arrays briefly coexist).
 */
export class StateStore {
  readonly set: StateSet;
  /** The set hashes each component itself (collapse): no hash of the whole encoding. */
  private readonly collapsed: boolean;
  readonly links: ParentLinks;
  /** Other search memory (the DFS stack), counted against `maxMemBytes`. */
  extraBytes = 0;
  /** Set when `add` returned STORE_FULL. */
  stopReason: BudgetReason | null = null;
  private readonly maxStates: number;
  private readonly maxMemBytes: number;

  /** `components`: the model's component starts, for options.collapse (collapse_set.ts). */
  constructor(stateWords: number, stepCount: number, options: SearchOptions, components?: readonly number[]) {
    this.maxStates = Math.min(options.maxStates ?? VISITED_MAX_STATES, VISITED_MAX_STATES);
    this.maxMemBytes = options.maxMemBytes ?? Number.POSITIVE_INFINITY;
    if (options.maxStates === undefined && options.maxMemBytes === undefined) {
      throw new RangeError('a search needs a budget: maxStates or maxMemBytes');
    }
    if (!(this.maxStates >= 1) || !(this.maxMemBytes > 0)) throw new RangeError('budgets must be positive');
    const perState = stateWords * 4 + 8 + 5;
    let cap = Math.min(options.initialCapacity ?? 1024, this.maxStates);
    while (cap > 16 && cap * perState > this.maxMemBytes) cap >>>= 1;
    this.collapsed = options.collapse === true;
    this.set = this.collapsed
      ? new CollapseSet(stateWords, components, cap)
      : new VisitedSet(stateWords, cap);
    this.set.limitSize(this.maxStates);
    this.links = new ParentLinks(stepCount, this.set.capacity);
  }

  /**
   * Finds or stores the encoding `buf` reached from `parent` by `step`. Returns the new index (>= 0),
   * `-(index + 1)` for a known state, or STORE_FULL when the budget forbids storing it (see stopReason).
   */
  add(buf: Int32Array, parent: number, step: number): number {
    const h = this.collapsed ? 0 : hashWords(buf, 0, this.set.words);
    let r = this.set.findOrAddHashed(buf, h);
    if (r === VISITED_FULL) {
      if (!this.makeRoom()) return VISITED_FULL;
      r = this.set.findOrAddHashed(buf, h);
    }
    if (r >= 0) this.links.set(r, parent, step);
    return r;
  }

  get size(): number {
    return this.set.size;
  }

  get byteLength(): number {
    return this.set.byteLength + this.links.byteLength + this.extraBytes;
  }

  /** True iff `more` extra bytes fit in the memory budget (for the DFS stack's growth). */
  fits(more: number): boolean {
    return this.byteLength + more <= this.maxMemBytes;
  }

  stats(transitions: number, expanded: number, maxDepth: number): SearchStats {
    const states = this.set.size;
    const bytes = this.byteLength;
    return { states, transitions, expanded, maxDepth, bytes, bytesPerState: states > 0 ? bytes / states : 0 };
  }

  private makeRoom(): boolean {
    const set = this.set;
    if (set.size >= this.maxStates) {
      this.stopReason = 'maxStates';
      return false;
    }
    const cap = set.capacity * 2;
    const after = set.grownByteLength + this.links.byteLengthFor(cap) + this.extraBytes;
    if (after > this.maxMemBytes || cap > VISITED_MAX_STATES) {
      this.stopReason = 'maxMemBytes';
      return false;
    }
    set.grow();
    this.links.resize(cap, set.size);
    return true;
  }
}
