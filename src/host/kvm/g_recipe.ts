// TEMPORARY PLACEHOLDER, written by the kernel-side measurement (src/oracle/notifier_counts.ts) so that
// its test can import the model's prediction. The model side of the mmu §G recipe is being written
// separately and replaces this whole file: predictGRecipeCounts() must run the §G recipe through the
// model's primary-MMU operations and count the kvm_unmap_hva_range trace events per operation.
// Until then it throws, and test/oracle/notifier_counts_live.test.ts reports the comparison as TODO.

export interface GRecipeCounts {
  ksm_merge: number;
  cow_break: number;
  dontneed: number;
  mprotect: number;
  munmap_outside: number;
}

export function predictGRecipeCounts(): GRecipeCounts {
  throw new Error('not implemented: model side of the §G recipe');
}
