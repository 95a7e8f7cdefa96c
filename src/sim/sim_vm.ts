// One simulated VM: the host model's KvmVm with the Linux guest model installed, built for a protocol
// mode (docs/simulator.md, "Protocol modes"). What each run step did (injections included) the models
// write into the VM's StepEffects (vm.effects).

import { KVM_FEATURE_ASYNC_PF_INT } from '../abi/kvm_para.ts';
import { linuxGuestConfigFor } from '../guest/x86/linux/config.ts';
import { LinuxGuest } from '../guest/x86/linux/guest.ts';
import { bugSet } from '../host/x86/bugs.ts';
import { eraConfig, hostBehaviour } from '../host/x86/era.ts';
import { createVm, type HostHooks, type KvmVm } from '../host/x86/vm.ts';
import { variantSet } from '../variant/variant_set.ts';
import type { HostMemory } from './host_memory.ts';
import { KERNEL_PAGES, type SimVmSpec, workingSetPages } from './load_sim.ts';
import { WorkloadProgram } from './workload.ts';

/** CPUID 0x40000001.eax of the reference host (what QEMU passes by default): ASYNC_PF, _VMEXIT, _INT … */
export const HOST_KVM_FEATURES = 0x01007efb;

export interface SimVm {
  readonly index: number;
  readonly spec: SimVmSpec;
  readonly vm: KvmVm;
  readonly guest: LinuxGuest;
  readonly program: WorkloadProgram;
  /** Global index of vCPU 0 (the simulator numbers all vCPUs of all VMs consecutively). */
  readonly firstVcpu: number;
  readonly nTasks: number;
}

/**
 * The host side of VM `spec`: era and bugs, `async_pf: false` for `sync`, its guest RAM, and with
 * `mmuNotifiers` the notifier model (the fault unsplit: host operations are atomic events here, so nothing
 * could run between a fault's GUP and its mmu_lock section); `mmuCaches` the memory caches as well.
 */
export function createSimKvm(
  spec: SimVmSpec,
  hooks: HostHooks,
  mmuNotifiers = false,
  mmuCaches = false,
): KvmVm {
  const variants = variantSet(spec.variants);
  return createVm(
    hostBehaviour(spec.era, bugSet(spec.bugs), undefined, {}, variants.host, variants.kfn),
    {
      irqchip: true,
      enforce_pv_cpuid: false,
      kvm_features: simKvmFeatures(spec),
      hlt_in_guest: false,
      guest_state_protected: false,
      tdp: true,
      memory: spec.memory,
      vcpus: spec.vcpus,
      async_pf: spec.apf !== 'sync',
      ...(mmuNotifiers ? { mmu_notifiers: true } : {}),
      ...(mmuNotifiers && mmuCaches ? { mmu_caches: true } : {}),
    },
    hooks,
  );
}

/** CPUID 0x40000001.eax: a ≤5.7 host never advertised KVM_FEATURE_ASYNC_PF_INT. */
function simKvmFeatures(spec: SimVmSpec): number {
  const legacyHost = spec.apf === 'legacy' || eraConfig(spec.era).pageReady === 'pf';
  return legacyHost ? HOST_KVM_FEATURES & ~(1 << KVM_FEATURE_ASYNC_PF_INT) : HOST_KVM_FEATURES;
}

/**
 * Installs the Linux guest on `vm` (built by createSimKvm): the guest kernel kind, `no-kvmapf` for
 * `off`, the workload, and tasks spread evenly over the vCPUs (task t on vCPU t mod vcpus).
 */
export function installSimGuest(
  spec: SimVmSpec,
  vm: KvmVm,
  index: number,
  firstVcpu: number,
  host: HostMemory,
  rootSeed: number,
): SimVm {
  const nTasks = spec.vcpus * spec.workload.tasks_per_vcpu;
  const program = new WorkloadProgram(
    spec.workload,
    {
      vm: index,
      vmName: spec.name,
      rootSeed,
      nTasks,
      firstGfn: KERNEL_PAGES,
      wsPages: workingSetPages(spec),
    },
    host,
  );
  const guest = new LinuxGuest(vm, program, {
    config: {
      ...linuxGuestConfigFor(spec.guest, vm.config.kvm_features),
      no_kvmapf: spec.apf === 'off',
      max_tasks: nTasks,
      max_dummies: Math.max(16, nTasks),
      slice_actions: spec.workload.slice_actions,
      bugs: bugSet(spec.bugs),
      ...(spec.variants !== undefined ? { variants: variantSet(spec.variants).guest } : {}),
    },
    sink: null,
  });
  vm.guest = guest;
  for (let t = 0; t < nTasks; t++) guest.spawnTask(t % spec.vcpus);
  return { index, spec, vm, guest, program, firstVcpu, nTasks };
}
