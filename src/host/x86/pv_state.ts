// The per-vCPU and per-VM state behind KVM's paravirtual MSRs other than async PF (x86-apf §1.1):
// kvmclock (vcpu->arch.time, kvm->arch.wall_clock), steal time (vcpu->arch.st), PV EOI
// (vcpu->arch.pv_eoi) and poll control (vcpu->arch.msr_kvm_poll_control). Plain data; the rules that
// read and write it are in pv_msrs.ts.
import { type GfnToHvaCache, newHvaCache } from '../../mem/hva_cache.ts';

/** The PV-MSR fields of struct kvm_vcpu_arch this model keeps. */
export interface KvmVcpuPv {
  /** vcpu->arch.time: the last MSR_KVM_SYSTEM_TIME(_NEW) value, both MSRs read it back. */
  time: bigint;
  /** vcpu->arch.st.msr_val (MSR_KVM_STEAL_TIME). */
  st_msr_val: bigint;
  /** vcpu->arch.st.stime: ≤5.4 the write itself initialized this hva cache (kvm_steal_time, 64 bytes). */
  readonly st_cache: GfnToHvaCache;
  /** vcpu->arch.pv_eoi.msr_val (MSR_KVM_PV_EOI_EN). */
  pv_eoi_msr_val: bigint;
  /** vcpu->arch.pv_eoi.data: the hva cache of the PV EOI byte. */
  readonly pv_eoi_data: GfnToHvaCache;
  /** vcpu->arch.msr_kvm_poll_control; kvm_arch_vcpu_postcreate sets 1 where the MSR exists (5.3+). */
  msr_kvm_poll_control: bigint;
}

export const newVcpuPv = (): KvmVcpuPv => ({
  time: 0n,
  st_msr_val: 0n,
  st_cache: newHvaCache(),
  pv_eoi_msr_val: 0n,
  pv_eoi_data: newHvaCache(),
  msr_kvm_poll_control: 0n,
});

/** The PV-MSR fields of struct kvm_arch: MSR_KVM_WALL_CLOCK(_NEW) is one value per VM. */
export interface KvmVmPv {
  /** kvm->arch.wall_clock */
  wall_clock: bigint;
}
