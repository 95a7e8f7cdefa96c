// arm64's stage-2 fault and its memory cache (mmu.md A.5.7, §E 17): whether `user_mem_abort` tops up the
// vCPU's mmu_page_cache, and how many pages it asks for. Kept to what the conformance cases need.
//
// Trees read: 5.2.1 virt/kvm/arm/mmu.c (tops up on every fault, mmu_topup_memory_cache(min, 40)); 5.9.1
// arch/arm64/kvm/mmu.c (every fault, kvm_mmu_topup_memory_cache); 5.11.0, 5.12.9, 6.1.20, 6.8.0,
// 6.13.7, 6.18.2 arch/arm64/kvm/mmu.c (only `!perm || (logging_active && write_fault)`; 6.18.2 computes
// it as `topup_memcache` and passes it to prepare_mmu_memcache, which under pKVM tops up the hyp memcache
// instead). 5.10 was not read: it is taken as conditional, on the belief (unverified) that the change
// came with the 5.10 stage-2 page-table rewrite; 5.9.1 is the last release read with the old rule.

/** A kernel release as "major.minor" (era names like '2026' count as later than every release). */
function releaseAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (m === null) return /^\d{4}$/.test(release) && Number(release) >= 2021;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

/**
 * Does a stage-2 abort top up the memory cache? ≤5.9: on every fault. 5.10+: not for a permission fault,
 * unless dirty logging is active and the fault is a write (a block mapping may have to be split).
 */
export function user_mem_abort_tops_up(
  release: string,
  fault: { readonly fault_is_perm: boolean; readonly logging_active: boolean; readonly write_fault: boolean },
): boolean {
  if (!releaseAtLeast(release, 5, 10)) return true;
  return !fault.fault_is_perm || (fault.logging_active && fault.write_fault);
}

/**
 * `kvm_mmu_cache_min_pages(mmu)` = stage-2 levels − 1 (arch/arm64/include/asm/stage2_pgtable.h, 6.8):
 * one page per table level below the root. 3 for 4 levels, 2 for 3 levels.
 */
export function kvm_mmu_cache_min_pages(stage2Levels: number): number {
  return stage2Levels - 1;
}
