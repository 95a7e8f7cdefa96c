// kvm_set_msr_common / kvm_get_msr_common for KVM's paravirtual MSRs other than async PF (x86-apf §1.1):
// kvmclock (MSR_KVM_SYSTEM_TIME(_NEW), MSR_KVM_WALL_CLOCK(_NEW), including the legacy 0x11/0x12),
// steal time, PV EOI and poll control. The CPUID gate (guest_pv_has) is applied by the caller (msr.ts);
// these functions are the cases after it. Read in the release trees 4.0.5, 4.14, 4.19, 5.2.1, 5.6.4,
// 5.9.1, 5.10.13, 5.15.85, 5.17, 6.1.20 and 6.18.2 (arch/x86/kvm/x86.c, lapic.c); era switches in era.ts.
//
// What KVM then writes into guest memory (the wall-clock and pvclock structures, kvm_steal_time) carries
// host time and is not modelled: the MSR values and their validity are.
import {
  MSR_KVM_POLL_CONTROL,
  MSR_KVM_PV_EOI_EN,
  MSR_KVM_STEAL_TIME,
  MSR_KVM_SYSTEM_TIME,
  MSR_KVM_SYSTEM_TIME_NEW,
  MSR_KVM_WALL_CLOCK,
  MSR_KVM_WALL_CLOCK_NEW,
} from '../../abi/kvm_para.ts';
import { kvm_gfn_to_hva_cache_init } from '../../mem/hva_cache.ts';
import type { KvmVcpu } from './vcpu.ts';
import type { KvmVm } from './vm.ts';

/** KVM_MSR_ENABLED: bit 0 of the steal-time, PV-EOI and system-time MSRs. */
const KVM_MSR_ENABLED = 1n;
/** KVM_STEAL_RESERVED_MASK: ((1 << KVM_STEAL_ALIGNMENT_BITS) - 1) << 1 with 5 alignment bits = 0x3e. */
export const KVM_STEAL_RESERVED_MASK = 0x3en;
/** KVM_STEAL_VALID_BITS: the 64-byte aligned address. */
const KVM_STEAL_VALID_BITS = ~0x3fn & 0xffff_ffff_ffff_ffffn;
/** sizeof(struct kvm_steal_time) */
const KVM_STEAL_TIME_SIZE = 64;

/** A gpa for the hva cache: an address beyond 2^52 can never be in a memslot. */
const cacheGpa = (gpa: bigint): number => (gpa <= 2n ** 52n ? Number(gpa) : Number.POSITIVE_INFINITY);

function hva_cache_init(vm: KvmVm, ghc: KvmVcpu['pv']['pv_eoi_data'], gpa: bigint, len: number): boolean {
  return kvm_gfn_to_hva_cache_init(
    vm.mem,
    ghc,
    cacheGpa(gpa),
    len,
    vm.mmu.memslots_generation,
    vm.mmu.slot_invalid,
    vm.era.ghcKeepsRangeOnFailure,
  );
}

/**
 * @kernel kvm_write_system_time: any value is accepted and read back; bit 0 activates the pvclock
 * cache, whose failure is ignored (the write still succeeds).
 */
function kvm_write_system_time(vcpu: KvmVcpu, data: bigint): 0 {
  vcpu.pv.time = data;
  return 0;
}

/**
 * @kernel kvm_lapic_set_pv_eoi (≥5.17) / kvm_lapic_enable_pv_eoi (≤5.15): the address (data & ~1) must be
 * 4-byte aligned; with bit 0 the one-byte area must map. ≤5.15 stored msr_val before mapping.
 */
function kvm_lapic_set_pv_eoi(vm: KvmVm, vcpu: KvmVcpu, data: bigint): 0 | 1 {
  const addr = data & ~KVM_MSR_ENABLED;
  if (addr & 3n) return 1;
  const pv = vcpu.pv;
  const enable = (data & KVM_MSR_ENABLED) !== 0n;
  // new_len = the cached length when the same gpa is cached with at least 1 byte, else sizeof(u8).
  const len = pv.pv_eoi_data.len >= 1 && pv.pv_eoi_data.gpa === cacheGpa(addr) ? pv.pv_eoi_data.len : 1;
  if (!vm.era.pvEoiValidatesFirst) {
    pv.pv_eoi_msr_val = data;
    if (!enable) return 0;
    return hva_cache_init(vm, pv.pv_eoi_data, addr, len) ? 0 : 1;
  }
  if (enable && !hva_cache_init(vm, pv.pv_eoi_data, addr, len)) return 1;
  pv.pv_eoi_msr_val = data;
  return 0;
}

/** @kernel kvm_set_msr_common, the MSR_KVM_STEAL_TIME case after its CPUID gate (sched_info_on() holds). */
function kvm_set_steal_time(vm: KvmVm, vcpu: KvmVcpu, data: bigint): 0 | 1 {
  if (data & KVM_STEAL_RESERVED_MASK) return 1;
  if (
    vm.era.stealTimeMapsAtWrite &&
    !hva_cache_init(vm, vcpu.pv.st_cache, data & KVM_STEAL_VALID_BITS, KVM_STEAL_TIME_SIZE)
  )
    return 1;
  vcpu.pv.st_msr_val = data;
  return 0;
}

/**
 * The set cases of the non-APF PV MSRs (after the CPUID gate): 0 success, 1 failure (#GP for the guest;
 * host-initiated writes get no exemption here), null for an MSR that is not one of them.
 */
export function kvm_set_msr_pv(vm: KvmVm, vcpu: KvmVcpu, msr: number, data: bigint): 0 | 1 | null {
  switch (msr) {
    case MSR_KVM_WALL_CLOCK:
    case MSR_KVM_WALL_CLOCK_NEW:
      // kvm->arch.wall_clock = data; kvm_write_wall_clock() ignores a gpa it cannot write.
      vm.pv.wall_clock = data;
      return 0;
    case MSR_KVM_SYSTEM_TIME:
    case MSR_KVM_SYSTEM_TIME_NEW:
      return kvm_write_system_time(vcpu, data);
    case MSR_KVM_STEAL_TIME:
      return kvm_set_steal_time(vm, vcpu, data);
    case MSR_KVM_PV_EOI_EN:
      return kvm_lapic_set_pv_eoi(vm, vcpu, data);
    case MSR_KVM_POLL_CONTROL: // "only enable bit supported"
      if (data & ~1n) return 1;
      vcpu.pv.msr_kvm_poll_control = data;
      return 0;
    default:
      return null;
  }
}

/** The get cases of the non-APF PV MSRs (after the CPUID gate); null for another MSR. */
export function kvm_get_msr_pv(vm: KvmVm, vcpu: KvmVcpu, msr: number): bigint | null {
  switch (msr) {
    case MSR_KVM_WALL_CLOCK:
    case MSR_KVM_WALL_CLOCK_NEW:
      return vm.pv.wall_clock;
    case MSR_KVM_SYSTEM_TIME:
    case MSR_KVM_SYSTEM_TIME_NEW:
      return vcpu.pv.time;
    case MSR_KVM_STEAL_TIME:
      return vcpu.pv.st_msr_val;
    case MSR_KVM_PV_EOI_EN:
      return vcpu.pv.pv_eoi_msr_val;
    case MSR_KVM_POLL_CONTROL:
      return vcpu.pv.msr_kvm_poll_control;
    default:
      return null;
  }
}

/**
 * The PV part of kvm_vcpu_reset (INIT and RESET alike, every era read): st.msr_val = 0 and
 * kvmclock_reset (time = 0); kvm_lapic_reset (in-kernel LAPIC only) zeroes pv_eoi.msr_val. Poll control
 * and the per-VM wall clock are left alone.
 */
export function kvm_vcpu_reset_pv(vcpu: KvmVcpu, lapicInKernel: boolean): void {
  vcpu.pv.st_msr_val = 0n;
  vcpu.pv.time = 0n;
  if (lapicInKernel) vcpu.pv.pv_eoi_msr_val = 0n;
}
