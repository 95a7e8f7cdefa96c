// The kernel functions a variant may replace or wrap (docs/variants.md). Each is an ordinary model
// function (apf.ts, async_pf.ts, msr.ts, mmu_notifier.ts) that dispatches through its era's table when
// the era has one: `era.kfn === null` (every built-in era) runs the model's own body at the cost of one
// null test; a table built by src/variant/compose.ts runs the variants' versions, which receive the
// model's body (or the previous variant's version) as `orig`.
//
// The table names the kernel's functions with the kernel's spelling, so a variant reads like a patch.

import type { MmuHost } from './mmu_notifier.ts';
import type { KvmVcpu } from './vcpu.ts';
import type { KvmVm } from './vm.ts';

export interface X86KernelFns {
  /** P-DELIVER: may 'not present' be delivered to the guest now (else the artificial halt)? */
  kvm_can_deliver_async_pf(vm: KvmVm, vcpu: KvmVcpu): boolean;
  /** P-DO: may this fault be handled asynchronously at all? */
  kvm_can_do_async_pf(vm: KvmVm, vcpu: KvmVcpu): boolean;
  /** P-FREE: the guest's page-ready token slot reads 0. */
  apf_pageready_slot_free(vm: KvmVm, vcpu: KvmVcpu): boolean;
  /** P-DEQ: may the next completed work be taken off `done` and presented now? */
  kvm_arch_can_dequeue_async_page_present(vm: KvmVm, vcpu: KvmVcpu): boolean;
  /** The next token of this vCPU. */
  alloc_apf_token(vm: KvmVm, vcpu: KvmVcpu): number;
  /** Inject 'not present' for work `slot` (or request the artificial halt); returns notpresent_injected. */
  kvm_arch_async_page_not_present(vm: KvmVm, vcpu: KvmVcpu, slot: number): boolean;
  /** Prefault the page of a completed work before it is presented. */
  kvm_arch_async_page_ready(vm: KvmVm, vcpu: KvmVcpu, slot: number): void;
  /** Notify the guest of a completed work: the token and the page-ready interrupt (≤5.7: the #PF). */
  kvm_arch_async_page_present(vm: KvmVm, vcpu: KvmVcpu, slot: number): void;
  /** The first work landed on an empty `done`: raise KVM_REQ_APF_READY and kick. */
  kvm_arch_async_page_present_queued(vm: KvmVm, vcpu: KvmVcpu): void;
  /** Drain `done` while the guest can take a notification. */
  kvm_check_async_pf_completion(vm: KvmVm, vcpu: KvmVcpu): void;
  /** A write of MSR_KVM_ASYNC_PF_EN (guest or host): 0 accepted, 1 refused (#GP for a guest WRMSR). */
  kvm_pv_enable_async_pf(vm: KvmVm, vcpu: KvmVcpu, data: bigint): 0 | 1;
  /**
   * Zap the SPTEs of slot pages [start, end) for an invalidation; returns whether anything was zapped.
   * `h.zapOp` is the host memory operation (its mmu_notifier event) that is invalidating.
   */
  kvm_unmap_gfn_range(h: MmuHost, start: number, end: number): boolean;
}

export type X86KernelFnName = keyof X86KernelFns;

/** Every hookable function, in the order docs/variants.md lists them. */
export const X86_KERNEL_FN_NAMES: readonly X86KernelFnName[] = [
  'kvm_can_deliver_async_pf',
  'kvm_can_do_async_pf',
  'apf_pageready_slot_free',
  'kvm_arch_can_dequeue_async_page_present',
  'alloc_apf_token',
  'kvm_arch_async_page_not_present',
  'kvm_arch_async_page_ready',
  'kvm_arch_async_page_present',
  'kvm_arch_async_page_present_queued',
  'kvm_check_async_pf_completion',
  'kvm_pv_enable_async_pf',
  'kvm_unmap_gfn_range',
];

/**
 * Where a replay collects the variant code that ran during a step (null: nobody is asking, the normal
 * case): src/variant/compose.ts notes each call of a variant's kernel function, the Linux guest each
 * instruction a variant's handler order changed. A counterexample names them under its steps.
 */
export const variantNotes: { into: string[] | null } = { into: null };

/** Notes `what` once per step while a replay collects. */
export function noteVariant(what: string): void {
  const into = variantNotes.into;
  if (into !== null && !into.includes(what)) into.push(what);
}
