// The vCPU ioctls a VMM's restore path uses (QEMU kvm_put_msrs / kvm_put_apic, Firecracker's
// restore_state): KVM_SET_MSRS with several entries and KVM_GET_LAPIC / KVM_SET_LAPIC.
import { APIC_SPIV, APIC_TASKPRI } from '../../abi/apicdef.ts';
import { KVM_REQ_APF_READY } from '../../abi/kvm_host.ts';
import { kvm_lapic_reg_write } from './lapic.ts';
import { type KvmVcpu, kvm_make_request } from './vcpu.ts';
import { type KvmVm, lapic_in_kernel } from './vm.ts';
import { kvm_set_msr_host_initiated } from './x86.ts';

/**
 * @kernel msr_io / __msr_io with do_set_msr: the entries in order, stopping at the first one KVM does not
 * process; the ioctl returns how many it processed (a VMM that wants them all compares with nmsrs).
 * `onSet` sees each processed entry.
 */
export function kvm_vcpu_ioctl_set_msrs(
  vm: KvmVm,
  vcpu: KvmVcpu,
  entries: ReadonlyArray<{ msr: number; value: bigint }>,
  onSet: (msr: number, value: bigint) => void = () => {},
): number {
  let i = 0;
  for (; i < entries.length; i++) {
    const e = entries[i]!;
    if (!kvm_set_msr_host_initiated(vm, vcpu, e.msr, e.value)) break;
    onSet(e.msr, e.value);
  }
  return i;
}

/**
 * @kernel kvm_vcpu_ioctl_set_lapic → kvm_apic_set_state, for the registers this model keeps (SPIV, TPR):
 * without an in-kernel LAPIC the ioctl fails. apic_set_spiv asks for an APF rescan when the state it
 * restores is software-enabled (2f15d027c05f, so only where the era has it).
 */
export function kvm_vcpu_ioctl_set_lapic(
  vm: KvmVm,
  vcpu: KvmVcpu,
  regs: { svr?: number | undefined; tpr?: number | undefined },
): boolean {
  if (!lapic_in_kernel(vm)) return false;
  const apic = vcpu.apic;
  if (regs.tpr !== undefined) kvm_lapic_reg_write(apic, APIC_TASKPRI, regs.tpr);
  const r = kvm_lapic_reg_write(apic, APIC_SPIV, regs.svr ?? apic.spiv);
  if (r === 'spiv-enabled' && vm.era.lapicDequeueGate) kvm_make_request(vcpu, KVM_REQ_APF_READY);
  return true;
}

/** @kernel kvm_vcpu_ioctl_get_lapic: one register of the state, or null without an in-kernel LAPIC. */
export function kvm_vcpu_ioctl_get_lapic(vm: KvmVm, vcpu: KvmVcpu, reg: 'svr' | 'tpr'): number | null {
  if (!lapic_in_kernel(vm)) return null;
  return reg === 'svr' ? vcpu.apic.spiv : vcpu.apic.tpr;
}
