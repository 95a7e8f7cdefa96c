// A MemCacheHost for tests: numbered objects, an allocation budget (then every allocation fails), and a
// record of everything the cache asked of it.
import type { KvmMmuMemoryCache, MemCacheHost } from '../../src/host/kvm_mmu_memory_cache.ts';

export interface AllocRecord {
  readonly id: number;
  readonly atomic: boolean;
  readonly zeroed: boolean;
  readonly init_value: number;
  readonly cache: string;
}

export class TestMemCacheHost implements MemCacheHost {
  /** Successful object allocations still allowed; Infinity = unlimited. */
  budget: number;
  /** When set, decides per call instead of the budget (true = succeed). */
  decide: ((atomic: boolean) => boolean) | null = null;
  arrayFails = false;
  next = 1;
  readonly allocs: AllocRecord[] = [];
  readonly failedAllocs: { atomic: boolean; cache: string }[] = [];
  readonly freed: number[] = [];
  readonly arrays: { capacity: number; atomic: boolean }[] = [];
  readonly warns: string[] = [];
  readonly bugs: string[] = [];
  warnedOnce?: number;

  constructor(budget = Number.POSITIVE_INFINITY) {
    this.budget = budget;
  }

  alloc(atomic: boolean, mc: KvmMmuMemoryCache): number {
    const ok = this.decide !== null ? this.decide(atomic) : this.budget > 0;
    if (!ok) {
      this.failedAllocs.push({ atomic, cache: mc.name });
      return 0;
    }
    if (this.decide === null) this.budget--;
    const id = this.next++;
    this.allocs.push({ id, atomic, zeroed: mc.gfp_zero, init_value: mc.init_value, cache: mc.name });
    return id;
  }

  free(id: number): void {
    this.freed.push(id);
  }

  allocArray(capacity: number, atomic: boolean): boolean {
    if (this.arrayFails) return false;
    this.arrays.push({ capacity, atomic });
    return true;
  }

  warn(what: string): void {
    this.warns.push(what);
  }

  bug(what: string): void {
    this.bugs.push(what);
  }

  allocsFor(cache: string): number {
    return this.allocs.filter((a) => a.cache === cache).length;
  }
}
