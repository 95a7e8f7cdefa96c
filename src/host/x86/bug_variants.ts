// The host's historical bug switches (bugs.ts), written as variants on the public API (src/variant/api.ts,
// docs/variants.md): each one is a change of the host behaviour (the era's switches), exactly what a
// user's variant can write. hostBehaviour (era.ts) applies them in BUG_NAMES order. The guest-side
// switches are in src/guest/x86/guest_behaviour.ts (`ack-before-clear`) and the guest model
// (`int-after-en`, `wake-all-leaks-dummies`); the mapping-API switches are read by host_maps.ts.
import type { BugName } from './bugs.ts';
import type { EraConfig } from './era.ts';
import type { MmuBehaviour } from './mmu_era.ts';

/** The host part of a variant: a change of the era's switches (the whole API is src/variant/api.ts). */
export interface HostVariant {
  readonly name: string;
  readonly host?: (b: EraConfig) => EraConfig;
}

const set = (name: BugName, change: Partial<EraConfig>): HostVariant => ({
  name,
  host: (b) => ({ ...b, ...change }),
});

const mmu = (name: BugName, change: Partial<MmuBehaviour>): HostVariant => ({
  name,
  host: (b) => ({ ...b, mmu: { ...b.mmu, ...change } }),
});

export const HOST_BUG_VARIANTS: Partial<Record<BugName, HostVariant>> = {
  // 6f3c1fc53d86 fixed it: alloc_apf_token may return 0 after the id wraps.
  'token-zero': set('token-zero', { tokenNonZero: false }),
  // 2a18b7e7cd88 fixed it: page-ready for a work whose 'not present' was never injected.
  'pageready-without-notpresent': set('pageready-without-notpresent', { notpresentInjectedFilter: false }),
  // 2f15d027c05f fixed it: dequeue while the LAPIC is software-disabled.
  'apf-vs-disabled-lapic': set('apf-vs-disabled-lapic', { lapicDequeueGate: false }),
  // ab4e41eb9fab fixed it: toggling CR0.PG clears the completion queue.
  'cr0pg-clears-queue': set('cr0pg-clears-queue', { cr0PgClearsQueue: true }),
  // Quirk Q-EN-1: msr_en_val committed before the hva cache is validated.
  'en-commit-before-validate': set('en-commit-before-validate', { validateEnBeforeCommit: false }),
  // 68c35f89d016 fixed it: no full barrier between the request and reading pageready_pending.
  'present-queued-barrier': set('present-queued-barrier', { presentQueuedBarrier: false }),
  // Before 9a6e7c39810e (4.15): a 'not present' #PF queued on top of a pending #PF makes a #DF.
  'df-on-back-to-back-pf': set('df-on-back-to-back-pf', { canDoChecksPendingException: false, dfFix: false }),
  // 9a6e7c39810e as merged: cancels both events without comparing tokens.
  'df-fix-drops-unrelated': set('df-fix-drops-unrelated', {
    canDoChecksPendingException: false,
    dfFix: true,
  }),
  // The MMU notifier side (mmu_era.ts MmuBehaviour says what each does).
  'mmu-seq-sign-extension': mmu('mmu-seq-sign-extension', { seqAsInt: true }),
  'seq-snapshot-late': mmu('seq-snapshot-late', { seqSnapshotLate: true }),
  'no-retry-check': mmu('no-retry-check', { noRetryCheck: true }),
  'end-order-reversed': mmu('end-order-reversed', { endOrderReversed: true }),
  'change-pte-outside-window': mmu('change-pte-outside-window', { changePteOutsideWindow: true }),
  'use-change-pte': mmu('use-change-pte', { useChangePte: true }),
  'no-memslot-interlock': mmu('no-memslot-interlock', { noMemslotInterlock: true }),
  'root-vs-memslot-update': mmu('root-vs-memslot-update', { noObsoleteRootCheck: true }),
  'cache-min-too-small': mmu('cache-min-too-small', { cacheMinTooSmall: true }),
  'topup-under-mmu-lock': mmu('topup-under-mmu-lock', { topupUnderMmuLock: true }),
};
