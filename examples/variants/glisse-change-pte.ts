// Jérôme Glisse, "Restore change_pte optimization to its former glory" (RFC, 2019-01-31; v2 2019-02-20;
// never merged). Since 3.7 (6bdb913f0a70) KSM and COW bracket set_pte_at_notify with invalidate_range_start
// and _end, so KVM's start has already zapped the SPTE by the time change_pte runs, and change_pte finds
// nothing to update: the guest's next access faults. The RFC flags those ranges
// (MMU_NOTIFIER_USE_CHANGE_PTE) and has KVM's start and end return at once for them, leaving the update
// to change_pte, which repoints the SPTE read-only at the new page.
//
// kvmsim models the RFC's mechanism as a switch of KVM's MMU-notifier behaviour (mmu.useChangePte: the
// bracket of a flagged range skipped, change_pte bumping the sequence and rewriting the SPTE); this variant
// turns it on through the same `host` hook the built-in eras and bug switches use. change_pte exists up to
// 6.9 (f3b65bbaed7c removed it in 6.10), so the variant refuses later eras with one clear line.
//
// Verdicts: `kvmsim explore examples/variants/glisse-change-pte.explore.yaml` (change_pte is useful again,
// and no SPTE is ever stale); `kvmsim compare examples/variants/ksm-small.yaml --variant
// examples/variants/glisse-change-pte.ts` (what it buys on a KSM host: the refault after each merge).
import { defineVariant } from 'kvmsim';

export default defineVariant({
  name: 'glisse-change-pte',
  description: 'KSM and COW ranges flagged MMU_NOTIFIER_USE_CHANGE_PTE: KVM updates the SPTE in change_pte',
  host: (b) => {
    if (b.mmu.changePte === 'removed')
      throw new Error(
        `change_pte does not exist in ${b.name} (removed in 6.10 by f3b65bbaed7c): use an era up to 6.9`,
      );
    return { ...b, mmu: { ...b.mmu, useChangePte: true } };
  },
});
