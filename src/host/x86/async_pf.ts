// The generic half of async page faults (virt/kvm/async_pf.c, x86-apf §2.2, §3.7, §3.9–§3.12): creating
// a work, the worker's completion, draining `done`, wakeup-all and clearing the queue.
import { ASYNC_PF_PER_VCPU } from '../../abi/kvm_host.ts';
import { gfnToGpa } from '../../mem/guest_memory.ts';
import { host_page_fault_in } from '../../mem/page_state.ts';
import {
  fill_arch_async_pf,
  kvm_arch_async_page_not_present,
  kvm_arch_async_page_present,
  kvm_arch_async_page_present_queued,
  kvm_arch_async_page_ready,
  kvm_arch_can_dequeue_async_page_present,
} from './apf.ts';
import {
  allocWork,
  doneEmpty,
  donePop,
  donePush,
  freeWork,
  W_EXECUTED,
  W_IN_USE,
  W_NOTPRESENT_INJECTED,
  W_ON_QUEUE,
  W_WAKEUP_ALL,
  WORK_POOL_SIZE,
} from './async_pf_work.ts';
import { TP_KVM_ASYNC_PF_COMPLETED } from './trace.ts';
import type { KvmVcpu } from './vcpu.ts';
import type { KvmVm } from './vm.ts';

/**
 * @kernel kvm_setup_async_pf (x86-apf §3.7): false when 64 works are outstanding (or the hva is bad);
 * otherwise the work is queued, 'not present' is injected or the vCPU halts, and the worker is
 * scheduled (the scheduler hook).
 */
export function kvm_setup_async_pf(
  vm: KvmVm,
  vcpu: KvmVcpu,
  cr2_or_gpa: number,
  token: number,
  gfn: number,
  errorCode: number,
): boolean {
  const w = vcpu.async_pf;
  if (w.queued >= ASYNC_PF_PER_VCPU) return false;
  if (gfn >= vm.mem.npages) return false; // kvm_is_error_hva
  const slot = allocWork(w);
  if (slot < 0) return false;
  w.wCr2OrGpa[slot] = cr2_or_gpa;
  fill_arch_async_pf(vm, vcpu, w, slot, token, gfn, errorCode);
  w.wFlags[slot] = w.wFlags[slot]! | W_ON_QUEUE;
  w.queued++;
  if (kvm_arch_async_page_not_present(vm, vcpu, slot))
    w.wFlags[slot] = w.wFlags[slot]! | W_NOTPRESENT_INJECTED;
  vm.hooks.asyncWorkQueued(vcpu, slot);
  return true;
}

/**
 * @kernel async_pf_execute (x86-apf §3.9 step 3): the worker thread faults the page in (for write), puts
 * the work on `done`, raises APF_READY and kicks if `done` was empty, then wakes a blocked vCPU.
 * One atomic step: it takes async_pf.lock once and the vCPU side only ever observes it whole.
 */
export function async_pf_execute(vm: KvmVm, vcpu: KvmVcpu, slot: number): void {
  const w = vcpu.async_pf;
  const gfn = w.wGfn[slot]!;
  if (gfn < vm.mem.npages) host_page_fault_in(vm.mem.pageState, gfn);
  w.wFlags[slot] = w.wFlags[slot]! | W_EXECUTED;
  const first = doneEmpty(w);
  donePush(w, slot);
  if (first) kvm_arch_async_page_present_queued(vm, vcpu);
  vm.hooks.trace?.(vcpu.vcpu_id, TP_KVM_ASYNC_PF_COMPLETED, vm.hva_base + gfnToGpa(gfn), w.wCr2OrGpa[slot]!);
  // __kvm_vcpu_wake_up: a blocked vCPU re-checks kvm_arch_vcpu_runnable; `done` is now non-empty.
}

/**
 * @kernel kvm_check_async_pf_completion (x86-apf §3.10): while `done` is non-empty and the guest can take
 * a notification, prefault, notify and free the head item.
 */
export function kvm_check_async_pf_completion_model(vm: KvmVm, vcpu: KvmVcpu): void {
  const w = vcpu.async_pf;
  while (!doneEmpty(w) && kvm_arch_can_dequeue_async_page_present(vm, vcpu)) {
    const slot = donePop(w);
    kvm_arch_async_page_ready(vm, vcpu, slot);
    kvm_arch_async_page_present(vm, vcpu, slot);
    w.wFlags[slot] = w.wFlags[slot]! & ~W_ON_QUEUE;
    w.queued--;
    freeWork(w, slot);
  }
}

/**
 * @kernel kvm_async_pf_wakeup_all (x86-apf §3.11): queue a broadcast item, but only onto an empty
 * `done`. Called from every successful enabling EN write.
 */
export function kvm_async_pf_wakeup_all(vm: KvmVm, vcpu: KvmVcpu): void {
  const w = vcpu.async_pf;
  if (!doneEmpty(w)) return;
  const slot = allocWork(w);
  if (slot < 0) return; // -ENOMEM, ignored by the caller
  w.wFlags[slot] = W_IN_USE | W_WAKEUP_ALL | W_EXECUTED;
  const first = doneEmpty(w);
  donePush(w, slot);
  if (first) kvm_arch_async_page_present_queued(vm, vcpu);
  w.queued++;
}

/**
 * @kernel kvm_clear_async_pf_completion_queue (x86-apf §3.12): cancel works whose worker has not run,
 * free everything on `done`, queued := 0. The guest is not told; its tokens are forgotten.
 */
export function kvm_clear_async_pf_completion_queue(vcpu: KvmVcpu): void {
  const w = vcpu.async_pf;
  for (let i = 0; i < WORK_POOL_SIZE; i++) {
    const f = w.wFlags[i]!;
    if (f & W_ON_QUEUE) {
      w.wFlags[i] = f & ~W_ON_QUEUE;
      if (!(f & W_EXECUTED)) freeWork(w, i); // cancel_work_sync succeeded
    }
  }
  while (!doneEmpty(w)) freeWork(w, donePop(w));
  w.queued = 0;
}

// The hookable functions (kernel_fns.ts): each runs its model body above, or the variants' version.

/** kvm_check_async_pf_completion, or a variant's version of it (kernel_fns.ts) when the era has a table. */
export function kvm_check_async_pf_completion(vm: KvmVm, vcpu: KvmVcpu): void {
  const k = vm.era.kfn;
  if (k === null) kvm_check_async_pf_completion_model(vm, vcpu);
  else k.kvm_check_async_pf_completion(vm, vcpu);
}
