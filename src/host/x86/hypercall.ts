// ____kvm_emulate_hypercall (arch/x86/kvm/x86.c, read in the 6.18.2 tree): VMCALL/VMMCALL from the guest.
// Number in RAX, arguments in RBX, RCX, RDX, RSI; outside 64-bit mode all are truncated to 32 bits and so
// is the result. CPL > 0 gets -KVM_EPERM; a PV-feature hypercall whose bit guest_pv_has denies gets
// -KVM_ENOSYS (kvm_pv_test's test_hcall). The other vendor's instruction is fixed up by
// KVM_X86_QUIRK_FIX_HYPERCALL_INSN (on by default), so both instructions behave alike here.
import {
  KVM_ENOSYS,
  KVM_FEATURE_PV_SCHED_YIELD,
  KVM_FEATURE_PV_SEND_IPI,
  KVM_FEATURE_PV_UNHALT,
} from '../../abi/kvm_para.ts';
import { kvm_cpuid_features } from './cpuid.ts';
import { TP_KVM_HYPERCALL } from './trace.ts';
import type { KvmVcpu } from './vcpu.ts';
import { type KvmVm, lapic_in_kernel } from './vm.ts';

export const KVM_HC_VAPIC_POLL_IRQ = 1;
export const KVM_HC_KICK_CPU = 5;
export const KVM_HC_CLOCK_PAIRING = 9;
export const KVM_HC_SEND_IPI = 10;
export const KVM_HC_SCHED_YIELD = 11;
export const KVM_HC_MAP_GPA_RANGE = 12;

/** include/uapi/linux/kvm_para.h */
export const KVM_EPERM = 1;
export const KVM_EINVAL = 22;
/** kvm_pv_send_ipi returns a Linux errno when the VM has no APIC map (no in-kernel LAPIC). */
export const EOPNOTSUPP = 95;

/** APIC_DEST_MASK | APIC_SHORT_MASK: kvm_pv_send_ipi refuses a destination or shorthand in the ICR. */
const ICR_DEST_OR_SHORTHAND = 0x800n | 0xc0000n;

/** guest_pv_has on the guest's runtime CPUID (PV_UNHALT is gone with hlt_in_guest). */
function pv_has(vm: KvmVm, feature: number): boolean {
  if (!vm.config.enforce_pv_cpuid) return true;
  return ((kvm_cpuid_features(vm) >>> feature) & 1) === 1;
}

/**
 * The hypercall's RAX result (already truncated to 32 bits outside 64-bit mode). `args` are a0..a3.
 * KVM_HC_CLOCK_PAIRING depends on the host clocksource and IPI delivery by KVM_HC_SEND_IPI on other
 * vCPUs is not modelled: the script schema refuses both (a SEND_IPI with empty bitmaps is modelled).
 */
export function kvm_emulate_hypercall_op(
  vm: KvmVm,
  vcpu: KvmVcpu,
  nr: bigint,
  args: readonly bigint[],
  op64: boolean,
): bigint {
  // trace_kvm_hypercall comes before the truncation: the registers as the guest left them.
  vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_HYPERCALL, 0, 0, 0, nr, args);
  const mask = op64 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffffn;
  const n = nr & mask;
  const a = [0, 1, 2, 3].map((i) => (args[i] ?? 0n) & mask);
  let ret: bigint;
  if (vcpu.cpl !== 0) ret = -BigInt(KVM_EPERM);
  else ret = hypercall(vm, n, a);
  return ret & mask;
}

/** The switch of ____kvm_emulate_hypercall at CPL 0: the untruncated result. */
export function hypercall(vm: KvmVm, nr: bigint, a: readonly bigint[]): bigint {
  switch (nr) {
    case BigInt(KVM_HC_VAPIC_POLL_IRQ):
      return 0n;
    case BigInt(KVM_HC_KICK_CPU):
      // kvm_pv_kick_cpu_op + kvm_sched_yield; the kick's pv_unhalted wakeup is not modelled.
      return pv_has(vm, KVM_FEATURE_PV_UNHALT) ? 0n : -BigInt(KVM_ENOSYS);
    case BigInt(KVM_HC_SEND_IPI):
      if (!pv_has(vm, KVM_FEATURE_PV_SEND_IPI)) return -BigInt(KVM_ENOSYS);
      if (a[3]! & ICR_DEST_OR_SHORTHAND) return -BigInt(KVM_EINVAL);
      return lapic_in_kernel(vm) ? 0n : -BigInt(EOPNOTSUPP); // empty bitmaps: no IPI sent
    case BigInt(KVM_HC_SCHED_YIELD):
      return pv_has(vm, KVM_FEATURE_PV_SCHED_YIELD) ? 0n : -BigInt(KVM_ENOSYS);
    default:
      // KVM_HC_MAP_GPA_RANGE without KVM_CAP_EXIT_HYPERCALL, and every unknown number.
      return -BigInt(KVM_ENOSYS);
  }
}
