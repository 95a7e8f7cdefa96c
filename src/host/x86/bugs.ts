// Historical bug switches (x86-apf §6): each re-creates the behaviour a fix removed, so the simulator
// and the explorer can show the symptom, and the same scenario without it shows none. docs/bugs.md
// lists switch → commit → symptom → scenario.

/** The MMU model's switches (mmu_era.ts MmuBehaviour): they need the notifier model (an `mmu:` block). */
export const MMU_BUG_NAMES = [
  'mmu-seq-sign-extension',
  'seq-snapshot-late',
  'no-retry-check',
  'end-order-reversed',
  'change-pte-outside-window',
  'use-change-pte',
  'no-memslot-interlock',
  'root-vs-memslot-update',
  // MMU memory caches (mmu.md Part A): what-ifs that break what the caches exist for.
  'cache-min-too-small',
  'topup-under-mmu-lock',
  // The guest mapping API (mmu.md Part C).
  'unmap-poison-page-check',
  'apic-access-page-unmapped-clean',
  'refcount-nonrefcounted-page',
] as const;

export const BUG_NAMES = [
  'token-zero',
  'pageready-without-notpresent',
  'apf-vs-disabled-lapic',
  'cr0pg-clears-queue',
  'en-commit-before-validate',
  'present-queued-barrier',
  'df-on-back-to-back-pf',
  'df-fix-drops-unrelated',
  'ack-before-clear',
  'int-after-en',
  'wake-all-leaks-dummies',
  ...MMU_BUG_NAMES,
] as const;
export type BugName = (typeof BUG_NAMES)[number];

/** A set of bugs as a bit mask (bit i = BUG_NAMES[i]), so the hot path tests a number. */
export type BugSet = number;

export const bugBit = (name: BugName): number => 1 << BUG_NAMES.indexOf(name);
export const bugSet = (names: readonly BugName[]): BugSet => names.reduce((m, n) => m | bugBit(n), 0);
export const hasBug = (set: BugSet, name: BugName): boolean => (set & bugBit(name)) !== 0;

export const BUG_TOKEN_ZERO = bugBit('token-zero');
export const BUG_PAGEREADY_WITHOUT_NOTPRESENT = bugBit('pageready-without-notpresent');
export const BUG_APF_VS_DISABLED_LAPIC = bugBit('apf-vs-disabled-lapic');
export const BUG_CR0PG_CLEARS_QUEUE = bugBit('cr0pg-clears-queue');
export const BUG_EN_COMMIT_BEFORE_VALIDATE = bugBit('en-commit-before-validate');
export const BUG_PRESENT_QUEUED_BARRIER = bugBit('present-queued-barrier');
export const BUG_DF_ON_BACK_TO_BACK_PF = bugBit('df-on-back-to-back-pf');
export const BUG_DF_FIX_DROPS_UNRELATED = bugBit('df-fix-drops-unrelated');
export const BUG_ACK_BEFORE_CLEAR = bugBit('ack-before-clear');
export const BUG_INT_AFTER_EN = bugBit('int-after-en');
export const BUG_WAKE_ALL_LEAKS_DUMMIES = bugBit('wake-all-leaks-dummies');
// The MMU model's switches (mmu_era.ts MmuBehaviour has what each one does).
export const BUG_MMU_SEQ_SIGN_EXTENSION = bugBit('mmu-seq-sign-extension');
export const BUG_SEQ_SNAPSHOT_LATE = bugBit('seq-snapshot-late');
export const BUG_NO_RETRY_CHECK = bugBit('no-retry-check');
export const BUG_END_ORDER_REVERSED = bugBit('end-order-reversed');
export const BUG_CHANGE_PTE_OUTSIDE_WINDOW = bugBit('change-pte-outside-window');
export const BUG_USE_CHANGE_PTE = bugBit('use-change-pte');
export const BUG_NO_MEMSLOT_INTERLOCK = bugBit('no-memslot-interlock');
export const BUG_ROOT_VS_MEMSLOT_UPDATE = bugBit('root-vs-memslot-update');
export const BUG_CACHE_MIN_TOO_SMALL = bugBit('cache-min-too-small');
export const BUG_TOPUP_UNDER_MMU_LOCK = bugBit('topup-under-mmu-lock');
export const BUG_UNMAP_POISON_PAGE_CHECK = bugBit('unmap-poison-page-check');
export const BUG_APIC_ACCESS_PAGE_UNMAPPED_CLEAN = bugBit('apic-access-page-unmapped-clean');
export const BUG_REFCOUNT_NONREFCOUNTED_PAGE = bugBit('refcount-nonrefcounted-page');
