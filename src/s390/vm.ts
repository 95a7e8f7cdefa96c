// VM creation and teardown around the GISA: kvm_arch_init_vm (gisa_init when AIV and use_gisa), vCPU creation
// (SIE gd + ECA_AIV from the GISA designation) and kvm_arch_destroy_vm (vCPUs first, then the GISA).
import { GAL_ISC } from '../abi/s390_gisa.ts';
import { kvm_s390_gib_init } from './gib.ts';
import { kvm_s390_get_gisa_desc, kvm_s390_gisa_init } from './gisa.ts';
import { kvm_s390_gisa_destroy } from './gisa_lifecycle.ts';
import { kvm_s390_gisc_register } from './gisc.ts';
import type { S390ConfigInput } from './strategy.ts';
import { cancelCkc } from './timers.ts';
import {
  createVmRecord,
  createWorld,
  MAX_MODEL_VCPUS,
  type S390World,
  VCPU_GONE,
  type VmState,
} from './world.ts';

export function kvm_arch_init_vm(w: S390World, name: string, vcpu_ids: readonly number[]): VmState {
  if (vcpu_ids.length > MAX_MODEL_VCPUS || vcpu_ids.some((id) => id < 0 || id >= MAX_MODEL_VCPUS))
    throw new RangeError(`vCPU ids must be 0..${MAX_MODEL_VCPUS - 1}`);
  const vm = createVmRecord(name, w.vms.length, vcpu_ids);
  if (w.cfg.use_gisa) kvm_s390_gisa_init(w, vm);
  const gd = kvm_s390_get_gisa_desc(vm);
  for (const v of vm.vcpus) {
    v.gd = gd;
    v.eca_aiv = gd !== 0;
  }
  w.vms.push(vm);
  return vm;
}

/**
 * kvm_arch_destroy_vm: the vCPUs are gone before kvm_s390_gisa_destroy runs; once that returns, sie_page2 (the
 * GISA's page) is freed (S8) — `arch_destroyed` with destroy DONE is that freed state.
 */
export function kvm_arch_destroy_vm(w: S390World, vm: VmState): 'ok' | 'stall' {
  vm.arch_destroyed = true;
  for (const v of vm.vcpus) {
    v.state = VCPU_GONE;
    cancelCkc(v);
  }
  vm.idle_mask = 0;
  vm.online_vcpus = 0;
  vm.vcpus_in_sie = 0;
  return kvm_s390_gisa_destroy(w, vm);
}

/** A VM for setupWorld: its vCPU ids, the guest ISCs a device registered, and the firmware AI budget. */
export interface VmSpec {
  name: string;
  vcpu_ids: readonly number[];
  gisc?: readonly number[];
  ai_budget?: number;
}

/** A ready host for tests and explorers: gib_init(GAL_ISC), the VMs created, their ISCs registered. */
export function setupWorld(cfg: S390ConfigInput, vms: readonly VmSpec[]): S390World {
  const w = createWorld(cfg);
  kvm_s390_gib_init(w, GAL_ISC);
  for (const spec of vms) {
    const vm = kvm_arch_init_vm(w, spec.name, spec.vcpu_ids);
    for (const gisc of spec.gisc ?? []) kvm_s390_gisc_register(w, vm, gisc);
    vm.ai_budget = spec.ai_budget ?? 0;
  }
  w.events.length = 0;
  return w;
}
