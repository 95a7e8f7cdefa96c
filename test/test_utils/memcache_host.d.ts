import type { KvmMmuMemoryCache, MemCacheHost } from '../../src/host/kvm_mmu_memory_cache.ts';
export interface AllocRecord {
    readonly id: number;
    readonly atomic: boolean;
    readonly zeroed: boolean;
    readonly init_value: number;
    readonly cache: string;
}
export declare class TestMemCacheHost implements MemCacheHost {
    /** Successful object allocations still allowed; Infinity = unlimited. */
    budget: number;
    /** When set, decides per call instead of the budget (true = succeed). */
    decide: ((atomic: boolean) => boolean) | null;
    arrayFails: boolean;
    next: number;
    readonly allocs: AllocRecord[];
    readonly failedAllocs: {
        atomic: boolean;
        cache: string;
    }[];
    readonly freed: number[];
    readonly arrays: {
        capacity: number;
        atomic: boolean;
    }[];
    readonly warns: string[];
    readonly bugs: string[];
    warnedOnce?: number;
    constructor(budget?: number);
    alloc(atomic: boolean, mc: KvmMmuMemoryCache): number;
    free(id: number): void;
    allocArray(capacity: number, atomic: boolean): boolean;
    warn(what: string): void;
    bug(what: string): void;
    allocsFor(cache: string): number;
}
