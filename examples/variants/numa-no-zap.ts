// A proposal the kernel never merged: Yan Zhao's RFC "Reduce NUMA balance caused TLB-shootdowns in a VM"
// (August 2023) gave the mmu_notifier range of a NUMA-hinting protection change a flag
// (MMU_NOTIFIER_RANGE_NUMA) so that KVM could leave its SPTEs alone: change_prot_numa only makes the host
// PTE PROT_NONE to catch the next CPU access; the page itself does not move, so the secondary MMU's mapping
// stays correct. Sean Christopherson objected that NUMA balancing then stops seeing the guest's accesses.
//
// Written here as a replacement of kvm_unmap_gfn_range: inside the invalidation window of a NUMA-hinting
// scan (h.zapOp === MM_NUMA_PROTNONE) nothing is zapped; the window itself (the count and the sequence
// number the fault path re-checks) is kept, so a fault racing the scan still retries.
//
// Verdicts (docs/variants.md): `kvmsim explore examples/variants/numa-no-zap.explore.yaml` — every MMU
// property still holds (the frame never changes under a kept SPTE); `kvmsim compare
// examples/variants/numa-web.yaml --variant examples/variants/numa-no-zap.ts` — the NUMA refaults and SPTE
// zaps go away, and so do the hinting faults that drive migration.
import { defineVariant, MM_NUMA_PROTNONE } from 'kvmsim';

export default defineVariant({
  name: 'numa-no-zap',
  description: 'KVM keeps its SPTEs through a NUMA-hinting protection change (MMU_NOTIFIER_RANGE_NUMA)',
  kernel: {
    kvm_unmap_gfn_range: (orig) => (h, start, end) =>
      h.zapOp === MM_NUMA_PROTNONE ? false : orig(h, start, end),
  },
});
