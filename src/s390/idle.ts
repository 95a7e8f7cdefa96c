// idle_mask, kicked_mask indexing, and waking a vCPU. Pre-F1 kernels set the idle bit at vcpu_id but every
// reader treats a bit number as a vcpu_idx (kvm_get_vcpu), so with sparse or permuted ids the wrong vCPU — or
// none — is found; the F1 switch picks the index (a3e03bc1368c moved idle_mask and kicked_mask to vcpu_idx).
import { CPUSTAT_WAIT } from '../abi/s390_gisa.ts';
import { emit, type S390World, VCPU_HALTED, type VcpuState, type VmState, vcpuName } from './world.ts';

/** Bit number of a vCPU in idle_mask and kicked_mask. */
export const idleIndex = (w: S390World, v: VcpuState): number => (w.cfg.fixes.F1 ? v.vcpu_idx : v.vcpu_id);

/** __set_cpu_idle. */
export function __set_cpu_idle(w: S390World, vm: VmState, v: VcpuState): void {
  v.cpuflags = (v.cpuflags | CPUSTAT_WAIT) >>> 0;
  vm.idle_mask |= 1 << idleIndex(w, v);
}

/** __unset_cpu_idle. */
export function __unset_cpu_idle(w: S390World, vm: VmState, v: VcpuState): void {
  v.cpuflags = (v.cpuflags & ~CPUSTAT_WAIT) >>> 0;
  vm.idle_mask &= ~(1 << idleIndex(w, v));
}

/** Callers of kvm_s390_vcpu_wakeup that belong to the GIB alert machinery (counted as kick_wakeup). */
const ALERT_KICKERS = new Set(['__airqs_kick_single_vcpu', 'kick_cover', '__find_vcpu_for_floating_irq']);

/**
 * kvm_s390_vcpu_wakeup: valid_wakeup, then kvm_vcpu_wake_up. Only a halted vCPU has a sleeper to wake; its
 * thread then has to run kvm_vcpu_check_block (the `resume` step) to find out whether it is runnable.
 */
export function kvm_s390_vcpu_wakeup(w: S390World, vm: VmState, v: VcpuState, by: string): void {
  v.valid_wakeup = true;
  const sleeping = v.state === VCPU_HALTED;
  if (sleeping) {
    v.wakeup_pending = true;
    v.stat.halt_wakeup++;
    if (ALERT_KICKERS.has(by)) v.stat.kick_wakeup++;
  }
  if (w.tracing) emit(w, { event: 'wakeup', vcpu: vcpuName(vm, v), by, sleeping });
}
