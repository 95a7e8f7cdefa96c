// INIT and SIPI as the local APIC accepts them (kvm_apic_accept_events; x86-apf §3.12, §8 case 57). One
// implementation for every scheduler: the script runners' `init` and `cpu_online` ops and the explorer's
// environment INIT all come here.
//
// INIT resets the vCPU (kvm_vcpu_reset with init_event: the async-PF MSRs, the queue and the hash are
// cleared, the halt ends) and whatever the guest CPU was doing is gone: the guest model drops its context
// (GuestModel.onInit). SIPI starts the CPU at the guest's startup trampoline (GuestModel.onSipi: a Linux
// AP turns paging on, which from 6.18 rescans the queue, and runs the CPU-online path).
import type { KvmVcpu } from './vcpu.ts';
import type { KvmVm } from './vm.ts';
import { kvm_vcpu_reset } from './x86.ts';

/** @kernel kvm_apic_accept_events, the INIT branch: kvm_vcpu_reset(vcpu, init_event = true). */
export function deliverInit(vm: KvmVm, vcpu: KvmVcpu): void {
  kvm_vcpu_reset(vm, vcpu, true);
  vm.guest.onInit(vcpu);
}

/** @kernel kvm_apic_accept_events, the SIPI branch: the AP runs the guest's startup code. */
export function deliverSipi(vm: KvmVm, vcpu: KvmVcpu): void {
  vm.guest.onSipi(vcpu);
}
