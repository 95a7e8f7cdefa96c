// The model's side of the notifier-count oracle (mmu.md §G; src/oracle/notifier_counts.ts asks the real
// kernel): the same host operations on a VM of 64 pages with no vCPU run through the model's primary MMU
// (src/host/x86/primary_mmu.ts), counting the kvm_unmap_hva_range tracepoints KVM emits for each.
import { type EraName, eraConfig } from '../host/x86/era.ts';
import { TP_KVM_UNMAP_HVA_RANGE } from '../host/x86/mmu_notifier.ts';
import {
  host_mm_run,
  MM_COW,
  MM_DONTNEED,
  MM_KSM_REPLACE,
  MM_KSM_WRPROTECT,
  MM_MPROTECT_RO,
  MM_MPROTECT_RW,
  MM_MUNMAP,
} from '../host/x86/primary_mmu.ts';
import { createVm, nullHooks } from '../host/x86/vm.ts';

export interface GRecipeCounts {
  ksm_merge: number;
  cow_break: number;
  dontneed: number;
  mprotect: number;
  munmap_outside: number;
}

/** Pages of the memslot, and of them the identical ones KSM merges (the first 32). */
const PAGES = 64;
const IDENTICAL = 32;

/**
 * Runs the §G recipe on the model in `era` (the reference host is 6.18): KSM merges the identical pages
 * (write_protect_page on each; replace_page on all but the one that becomes the KSM page), the host
 * writes one merged page (COW break), MADV_DONTNEED of 8 pages, mprotect read-only then read-write of 4,
 * and munmap of 4 pages outside the memslot.
 */
export function predictGRecipeCounts(era: EraName = '6.18'): GRecipeCounts {
  const hooks = nullHooks();
  let n = 0;
  hooks.mmuTrace = (tp) => {
    if (tp === TP_KVM_UNMAP_HVA_RANGE) n++;
  };
  const vm = createVm(
    eraConfig(era),
    {
      irqchip: true,
      enforce_pv_cpuid: false,
      kvm_features: 0,
      hlt_in_guest: false,
      guest_state_protected: false,
      tdp: false,
      memory: PAGES * 4096,
      vcpus: 1,
      mmu_notifiers: true,
    },
    hooks,
  );
  const count = (f: () => void): number => {
    n = 0;
    f();
    return n;
  };
  const ksm_merge = count(() => {
    for (let g = 0; g < IDENTICAL; g++) {
      host_mm_run(vm, MM_KSM_WRPROTECT, g, g + 1);
      if (g > 0) host_mm_run(vm, MM_KSM_REPLACE, g, g + 1);
    }
  });
  const cow_break = count(() => host_mm_run(vm, MM_COW, 1, 2));
  const dontneed = count(() => host_mm_run(vm, MM_DONTNEED, 40, 48));
  const mprotect = count(() => {
    host_mm_run(vm, MM_MPROTECT_RO, 48, 52);
    host_mm_run(vm, MM_MPROTECT_RW, 48, 52);
  });
  const munmap_outside = count(() => host_mm_run(vm, MM_MUNMAP, PAGES + 16, PAGES + 20));
  return { ksm_merge, cow_break, dontneed, mprotect, munmap_outside };
}
