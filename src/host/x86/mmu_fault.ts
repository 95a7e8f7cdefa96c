// The async-or-sync decision of a guest memory fault (x86-apf §3.6): kvm_mmu_do_page_fault reaching
// __kvm_mmu_faultin_pfn for a page whose host copy is not resident.
import { KVM_REQ_APF_HALT } from '../../abi/kvm_host.ts';
import { gpaToGfn } from '../../mem/guest_memory.ts';
import { host_page_fault_in_and_map, PAGE_HOST_RESIDENT, spte_install } from '../../mem/page_state.ts';
import { alloc_apf_token, kvm_can_do_async_pf } from './apf.ts';
import { kvm_setup_async_pf } from './async_pf.ts';
import { kvm_find_async_pf_gfn } from './async_pf_hash.ts';
import { TP_KVM_ASYNC_PF_REPEATED_FAULT, TP_KVM_TRY_ASYNC_GET_PAGE } from './trace.ts';
import { type KvmVcpu, kvm_make_request } from './vcpu.ts';
import type { KvmVm } from './vm.ts';
import { kvm_vmexit } from './x86.ts';

/** RET_PF_*: what the fault handler tells the run loop. */
export const RET_PF_FIXED = 0;
/** The instruction did not complete; a #PF may be queued or APF_HALT requested. */
export const RET_PF_RETRY = 1;
/** The vCPU thread is blocked in a synchronous fault-in (hooks.syncFault); it resumes later. */
export const RET_PF_SYNC = 2;
/** No memslot: the access is MMIO (emulated; not modelled further). */
export const RET_PF_MMIO = 3;
export type RetPf = typeof RET_PF_FIXED | typeof RET_PF_RETRY | typeof RET_PF_SYNC | typeof RET_PF_MMIO;

/**
 * @kernel kvm_mmu_do_page_fault → __kvm_mmu_faultin_pfn (x86-apf §3.6). `addr` is the faulting address
 * (a GPA under TDP, a GVA under shadow paging; the bare guests identity-map, so gfn = addr >> 12).
 */
export function kvm_mmu_do_page_fault(
  vm: KvmVm,
  vcpu: KvmVcpu,
  addr: number,
  errorCode: number,
  prefetch: boolean,
): RetPf {
  if (!prefetch) kvm_vmexit(vcpu); // an EPT/NPT violation (or a #PF intercept under shadow paging)
  const gfn = gpaToGfn(addr);
  if (gfn >= vm.mem.npages) return RET_PF_MMIO;
  const st = vm.mem.pageState;
  if (st[gfn]! & PAGE_HOST_RESIDENT) {
    // The non-blocking GUP found the page: map it.
    spte_install(st, gfn);
    return RET_PF_FIXED;
  }
  // KVM_PFN_ERR_NEEDS_IO
  if (!prefetch && vm.config.async_pf !== false && kvm_can_do_async_pf(vm, vcpu)) {
    vm.hooks.trace?.(vcpu.vcpu_id, TP_KVM_TRY_ASYNC_GET_PAGE, addr, gfn);
    if (kvm_find_async_pf_gfn(vcpu.apf.gfns, gfn)) {
      vm.hooks.trace?.(vcpu.vcpu_id, TP_KVM_ASYNC_PF_REPEATED_FAULT, addr, gfn);
      kvm_make_request(vcpu, KVM_REQ_APF_HALT);
      return RET_PF_RETRY;
    }
    // The token is consumed even if the setup then fails (x86-apf §8 case 39).
    const token = alloc_apf_token(vm, vcpu);
    if (kvm_setup_async_pf(vm, vcpu, addr, token, gfn, errorCode)) return RET_PF_RETRY;
  }
  // A blocking GUP on the vCPU thread.
  vcpu.sync_fault_gfn = gfn;
  vcpu.stat.sync_faults++;
  vm.hooks.syncFault(vcpu, gfn);
  return RET_PF_SYNC;
}

/**
 * The blocking GUP of a synchronous fault returned: the page is resident and mapped.
 * @model no kernel function of this name: the return of the blocking fault-in inside
 * __kvm_mmu_faultin_pfn, split off as its own step so schedulers can time it.
 */
export function kvm_sync_fault_done(vm: KvmVm, vcpu: KvmVcpu): void {
  const gfn = vcpu.sync_fault_gfn;
  if (gfn < 0) return;
  host_page_fault_in_and_map(vm.mem.pageState, gfn);
  vcpu.sync_fault_gfn = -1;
}
