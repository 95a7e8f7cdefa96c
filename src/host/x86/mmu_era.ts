// KVM's MMU-notifier side per kernel generation (mmu.md Part B). These transitions do not line up with the
// async-PF eras, so an era (era.ts) carries one of these rows; docs/mmu.md has the table with the commits.

/**
 * What KVM's change_pte callback does (mmu.md B.4.3):
 * - `unbracketed` (≤3.6): KSM and COW call set_pte_at_notify with no invalidate_range_start/end around
 *   it; KVM bumps the sequence and rewrites the SPTE in place (the optimisation works);
 * - `seq_bump` (3.7–5.12): every caller brackets it (6bdb913f0a70), so start() has zapped the SPTE first;
 *   the handler still bumps the sequence and walks;
 * - `warn_count` (5.13–5.14): WARN_ON_ONCE(!mmu_notifier_count) instead of the bump (c13fda237f08), then
 *   the walk;
 * - `early_return` (5.15–6.9): WARN_ON_ONCE(!mn_active_invalidate_count); return at once when no
 *   in-progress invalidation hit a memslot; else the walk, skipping memslots flagged INVALID;
 * - `removed` (≥6.10): f3b65bbaed7c deleted the callback, 997308f9ae72 the notifier op.
 */
export type ChangePteForm = 'unbracketed' | 'seq_bump' | 'warn_count' | 'early_return' | 'removed';

/**
 * The fault path's staleness predicate under mmu_lock (mmu.md B.3.7): `count` = in_progress ≠ 0 or
 * seq ≠ snapshot (mmu_notifier_retry); `hva` (5.12, David Stevens) and `gfn` (6.8, Chao Peng) only retry
 * for an in-progress invalidation whose recorded range covers the fault (or a changed seq).
 */
export type RetryForm = 'count' | 'hva' | 'gfn';

export interface MmuEraConfig {
  /** The kernel release this row starts at (for docs and errors). */
  readonly since: string;
  readonly changePte: ChangePteForm;
  readonly retry: RetryForm;
  /**
   * 5.15 (071064f14d87, 52ac8b358b0c): start()/end() that hit no memslot take no mmu_lock and leave
   * in_progress and seq alone; mn_active_invalidate_count counts every window and memslot publication
   * waits for it to reach 0.
   */
  readonly lockElision: boolean;
  /** 5.16 (a955cad84cda): is_page_fault_stale also retries when the root was made obsolete. */
  readonly obsoleteRoot: boolean;
  /** 6.8 (d02c357e5bfa): kvm_faultin_pfn's lockless mmu_invalidate_retry_gfn_unsafe before and after GUP. */
  readonly unsafePrecheck: boolean;
  /** x86 ≥6.13 (CONFIG_KVM_ELIDE_TLB_FLUSH_IF_YOUNG): clear_flush_young does not flush. */
  readonly agingFlushElided: boolean;
  /**
   * x86 ≥6.12 (548f87f667a3): the shadow MMU's rmap zap from invalidate_range_start drops and retakes
   * mmu_lock when someone waits for it (cond_resched_rwlock_write, if the range may block); before, the
   * whole zap ran under one hold. Only the simulator's mmu_lock timing reads it (src/sim/mmu_lock.ts).
   */
  readonly rmapZapYields: boolean;
  /**
   * Generic KVM code emits the notifier tracepoints (kvm_unmap_hva_range, kvm_age_hva, kvm_test_age_hva,
   * kvm_set_spte_hva) for x86 from 5.13, when the hva walkers moved to kvm_main.c.
   */
  readonly genericTracepoints: boolean;
}

const base = {
  retry: 'count',
  lockElision: false,
  obsoleteRoot: false,
  unsafePrecheck: false,
  agingFlushElided: false,
  rmapZapYields: false,
  genericTracepoints: false,
} as const;

export const MMU_2_6: MmuEraConfig = { ...base, since: '2.6.27', changePte: 'unbracketed' };
export const MMU_3_7: MmuEraConfig = { ...base, since: '3.7', changePte: 'seq_bump' };
export const MMU_5_12: MmuEraConfig = { ...base, since: '5.12', changePte: 'seq_bump', retry: 'hva' };
export const MMU_5_13: MmuEraConfig = {
  ...MMU_5_12,
  since: '5.13',
  changePte: 'warn_count',
  genericTracepoints: true,
};
export const MMU_5_15: MmuEraConfig = {
  ...MMU_5_13,
  since: '5.15',
  changePte: 'early_return',
  lockElision: true,
};
export const MMU_5_16: MmuEraConfig = { ...MMU_5_15, since: '5.16', obsoleteRoot: true };
export const MMU_6_8: MmuEraConfig = { ...MMU_5_16, since: '6.8', retry: 'gfn', unsafePrecheck: true };
export const MMU_6_10: MmuEraConfig = { ...MMU_6_8, since: '6.10', changePte: 'removed' };
export const MMU_6_12: MmuEraConfig = { ...MMU_6_10, since: '6.12', rmapZapYields: true };
export const MMU_6_13: MmuEraConfig = { ...MMU_6_12, since: '6.13', agingFlushElided: true };

/**
 * An era's MMU row with the historical bugs and what-ifs of the MMU model switched on (bugs.ts). Each
 * flag re-creates what a fix removed, or a change that never landed:
 * - `seqAsInt` (mmu-seq-sign-extension, 5.16–6.2): is_page_fault_stale took the snapshot as an int;
 * - `seqSnapshotLate` (seq-snapshot-late): the snapshot is read after the host lookup (13ec9308a857);
 * - `noRetryCheck` (no-retry-check): is_page_fault_stale never retries;
 * - `endOrderReversed` (end-order-reversed): end() lets in_progress-- be seen before seq++;
 * - `changePteOutsideWindow` (change-pte-outside-window): KSM and COW call change_pte without the
 *   start/end bracket of 6bdb913f0a70, in an era whose handler no longer bumps the sequence;
 * - `useChangePte` (use-change-pte): Glisse's 2019 RFC, MMU_NOTIFIER_USE_CHANGE_PTE on KSM and COW ranges;
 * - `noMemslotInterlock` (no-memslot-interlock): 071064f14d87's lock elision without 52ac8b358b0c, so a
 *   memslot update can publish between an invalidation's start() and end();
 * - `noObsoleteRootCheck` (root-vs-memslot-update): is_page_fault_stale without a955cad84cda's check, so
 *   a fault that resolved its pfn before a memslot update installs into the root the update made
 *   obsolete;
 * - `cacheMinTooSmall` (cache-min-too-small, a what-if): the shadow-page cache's topup minimum is 1, below
 *   the 3 tables a first fault under an existing root may need (mmu_caches_vm.ts);
 * - `topupUnderMmuLock` (topup-under-mmu-lock, a what-if): the fault's topup runs in its mmu_lock part,
 *   so its allocations may sleep under a spinlock.
 */
export interface MmuBehaviour extends MmuEraConfig {
  readonly seqAsInt: boolean;
  readonly seqSnapshotLate: boolean;
  readonly noRetryCheck: boolean;
  readonly endOrderReversed: boolean;
  readonly changePteOutsideWindow: boolean;
  readonly useChangePte: boolean;
  readonly noMemslotInterlock: boolean;
  readonly noObsoleteRootCheck: boolean;
  readonly cacheMinTooSmall: boolean;
  readonly topupUnderMmuLock: boolean;
}

export const faithfulMmu = (e: MmuEraConfig): MmuBehaviour => ({
  ...e,
  seqAsInt: false,
  seqSnapshotLate: false,
  noRetryCheck: false,
  endOrderReversed: false,
  changePteOutsideWindow: false,
  useChangePte: false,
  noMemslotInterlock: false,
  noObsoleteRootCheck: false,
  cacheMinTooSmall: false,
  topupUnderMmuLock: false,
});
