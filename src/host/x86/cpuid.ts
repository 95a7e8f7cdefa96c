// The KVM leaves of the guest's CPUID (arch/x86/kvm/cpuid.c), as far as this model knows them: the
// signature leaf 0x40000000 and the PV feature leaf 0x40000001 (x86-apf §1.5). Other leaves come from
// the host CPU and the VMM, which the model does not have; the script schema refuses them.
import { KVM_CPUID_FEATURES, KVM_CPUID_SIGNATURE, KVM_FEATURE_PV_UNHALT } from '../../abi/kvm_para.ts';
import { TP_KVM_CPUID } from './trace.ts';
import type { KvmVcpu } from './vcpu.ts';
import type { KvmVm } from './vm.ts';

/** "KVMKVMKVM\0\0\0" in ebx, ecx, edx. */
const KVM_SIGNATURE = [0x4b4d564b, 0x564b4d56, 0x4d] as const;

/**
 * The guest's KVM_CPUID_FEATURES.eax: the VMM's value, with PV_UNHALT cleared when HLT does not exit
 * (kvm_update_cpuid_runtime / __kvm_update_cpuid_runtime: "kvm_hlt_in_guest → ~PV_UNHALT"; read in the
 * 4.19, 5.2.1, 5.10.13, 6.1.20 and 6.18.2 trees). guest_pv_has reads this value.
 */
export function kvm_cpuid_features(vm: KvmVm): number {
  const f = vm.config.kvm_features >>> 0;
  return vm.config.hlt_in_guest ? (f & ~(1 << KVM_FEATURE_PV_UNHALT)) >>> 0 : f;
}

export type CpuidReg = 'eax' | 'ebx' | 'ecx' | 'edx';
const REG_INDEX: Record<CpuidReg, number> = { eax: 0, ebx: 1, ecx: 2, edx: 3 };

/**
 * @kernel kvm_emulate_cpuid for the KVM leaves: 0x40000000 gives the highest KVM leaf (0x40000001, as the
 * VMM copies it from KVM_GET_SUPPORTED_CPUID) and the signature; 0x40000001 the PV features in eax, no
 * hints in edx. Null for a leaf outside the model.
 */
export function kvm_cpuid_kvm_leaf(vm: KvmVm, leaf: number, reg: CpuidReg): number | null {
  const i = REG_INDEX[reg];
  if (leaf === KVM_CPUID_SIGNATURE) return i === 0 ? KVM_CPUID_FEATURES : KVM_SIGNATURE[i - 1]!;
  if (leaf === KVM_CPUID_FEATURES) return i === 0 ? kvm_cpuid_features(vm) : 0;
  return null;
}

/** The four registers of a KVM leaf (eax, ebx, ecx, edx), or null outside the model. */
function kvm_cpuid_kvm_regs(vm: KvmVm, leaf: number): bigint[] | null {
  if (kvm_cpuid_kvm_leaf(vm, leaf, 'eax') === null) return null;
  return (['eax', 'ebx', 'ecx', 'edx'] as const).map((r) => BigInt(kvm_cpuid_kvm_leaf(vm, leaf, r)!));
}

/**
 * @kernel kvm_emulate_cpuid for the KVM leaves, after the CPUID exit: the kvm_cpuid tracepoint (index 0:
 * the model has no ECX input; the entry is found, as the VMM installs both KVM leaves), then the value
 * of `reg` (null for a leaf outside the model).
 */
export function kvm_emulate_cpuid(vm: KvmVm, vcpu: KvmVcpu, leaf: number, reg: CpuidReg): number | null {
  vm.hooks.kvmTrace?.(
    vcpu.vcpu_id,
    TP_KVM_CPUID,
    leaf,
    0,
    kvm_cpuid_kvm_regs(vm, leaf) ? 1 : 0,
    0n,
    kvm_cpuid_kvm_regs(vm, leaf),
  );
  return kvm_cpuid_kvm_leaf(vm, leaf, reg);
}
