// What a host era lets a guest see in CPUID 0x40000001.eax. A VMM builds the guest's CPUID from
// KVM_GET_SUPPORTED_CPUID, so a feature the host kernel does not know never reaches the guest, whatever
// the VMM's CPU model asks for. Only the async-PF bits are modelled per era: that is what decides the
// compatibility matrix of x86-apf §5.4.
import { KVM_FEATURE_ASYNC_PF_INT, KVM_FEATURE_ASYNC_PF_VMEXIT } from '../abi/kvm_para.ts';
import type { EraConfig } from '../host/x86/era.ts';

/**
 * The KVM_CPUID_FEATURES.eax mask of a host era: KVM_FEATURE_ASYNC_PF_VMEXIT from 4.15 (52a5c155cf79),
 * KVM_FEATURE_ASYNC_PF_INT from 5.8 (72de5fa4c161 "KVM: x86: announce KVM_FEATURE_ASYNC_PF_INT");
 * KVM_FEATURE_ASYNC_PF (2.6.38) and the other bits pass through.
 */
export function kvmSupportedPvFeatures(era: EraConfig): number {
  let mask = 0xffffffff;
  if (!era.hasPfVmexit) mask &= ~(1 << KVM_FEATURE_ASYNC_PF_VMEXIT);
  if (!era.hasIntAckMsrs) mask &= ~(1 << KVM_FEATURE_ASYNC_PF_INT);
  return mask >>> 0;
}
