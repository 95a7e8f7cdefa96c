// A script's `vm:` section as the host model's VmConfig.
import type { VmConfig } from '../host/x86/vm.ts';
import { toHostMapsConfig } from './host_map_ops.ts';
import type { Script } from './schema.ts';

/**
 * Maps the scenario's VM settings onto VmConfig; `kvm_features` may be narrowed by the caller; `bugs` is
 * the scenario's switch set (the guest-mapping switches act through VmConfig.host_maps).
 */
export function toVmConfig(c: Script['vm'], kvm_features = c.kvm_features, bugs = 0): VmConfig {
  return {
    irqchip: c.irqchip,
    enforce_pv_cpuid: c.enforce_pv_cpuid,
    kvm_features,
    hlt_in_guest: c.hlt_in_guest,
    guest_state_protected: c.protected_state,
    tdp: c.mmu === 'tdp',
    memory: c.memory,
    vcpus: c.vcpus,
    // Only when asked for: a VmConfig without the key is what every script before the option ran.
    ...(c.mmu_notifiers ? { mmu_notifiers: true } : {}),
    ...(c.mmu_caches ? { mmu_caches: true } : {}),
    ...(c.maps !== undefined ? { host_maps: toHostMapsConfig(c.maps, bugs) } : {}),
  };
}
