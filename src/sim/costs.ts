// What the simulator charges in virtual time for each thing a step of the model did. The model itself
// is untimed: the simulator reads a step's outcome from the VM's StepEffects (the guest step's kind and
// compute ns, the injections, ACK exits, prefaults) and adds these costs. Every cost may be 0, which the
// queueing-theory calibration uses to isolate the swap device.

export interface SimCosts {
  /** A VM exit and the following VM entry (charged once per entry; the first entry too). */
  vm_exit: number;
  /** Injecting an exception (#PF: 'not present', or legacy 'page ready') at VM entry. */
  pf_injection: number;
  /** Injecting an interrupt from the LAPIC at VM entry (page-ready 0xf3, reschedule, tick). */
  irq_delivery: number;
  /** One instruction-sized step of a guest handler (#PF hook, page-ready IRQ, APF wait loop). */
  guest_handler: number;
  /** The page-ready handler's WRMSR(MSR_KVM_ASYNC_PF_ACK) exit, on top of vm_exit. */
  ack_msr: number;
  /** A HLT exit, or entering the artificial halt (the vCPU thread goes to sleep). */
  halt: number;
  /** A blocked vCPU thread being woken and scheduled in again (after HLT, APF halt or a sync fault). */
  wakeup: number;
  /** A guest context switch (__schedule). */
  context_switch: number;
  /** Mapping a page at page-ready time (kvm_arch_async_page_ready's prefetch fault). */
  prefault: number;
  /** A host fault on a resident, unmapped page (RET_PF_FIXED), on top of vm_exit. */
  minor_fault: number;
  /** A guest access to a mapped page (no exit). */
  guest_access: number;
  /** One boot / hotplug kernel op of the guest. */
  kernel_op: number;
  /** A guest fault's part under mmu_lock (is_page_fault_stale, the SPTE install): how long it holds it. */
  mmu_lock_fault: number;
  /** A notifier callback's hold of mmu_lock (invalidate_range_start/end, clear_flush_young), before … */
  mmu_lock_notifier: number;
  /** … and per SPTE it zaps or ages under it (the rmap walk). */
  mmu_lock_spte: number;
  /** Per page, the primary MMU's PTE change of a timed host operation (the NUMA scan's change_prot_numa):
   * how long its invalidation window stays open. */
  host_pte: number;
}

export const COST_NAMES = [
  'vm_exit',
  'pf_injection',
  'irq_delivery',
  'guest_handler',
  'ack_msr',
  'halt',
  'wakeup',
  'context_switch',
  'prefault',
  'minor_fault',
  'guest_access',
  'kernel_op',
  'mmu_lock_fault',
  'mmu_lock_notifier',
  'mmu_lock_spte',
  'host_pte',
] as const satisfies readonly (keyof SimCosts)[];

/**
 * Defaults in ns, of the order measured on current x86 servers (a VM exit round trip ~1 µs with EPT, a
 * guest context switch ~2 µs, waking a sleeping vCPU thread ~5 µs); documented in docs/simulator.md.
 */
export const DEFAULT_COSTS: SimCosts = {
  vm_exit: 1200,
  pf_injection: 300,
  irq_delivery: 300,
  guest_handler: 100,
  ack_msr: 300,
  halt: 1000,
  wakeup: 5000,
  context_switch: 2000,
  prefault: 1000,
  minor_fault: 1500,
  guest_access: 0,
  kernel_op: 100,
  mmu_lock_fault: 300,
  mmu_lock_notifier: 200,
  mmu_lock_spte: 40,
  host_pte: 10,
};
