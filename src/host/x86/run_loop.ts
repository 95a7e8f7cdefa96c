// One iteration of vcpu_run (x86-apf §3.9) as an atomic step that both schedulers drive: wake from
// vcpu_block if runnable, process requests and inject at entry, then execute one guest instruction
// (whose exit, if any, is handled inside it). The async worker (async_pf_execute) and the completion of
// a synchronous fault are the other steps; a scheduler interleaves them with these.

import { kvm_arch_interrupt_allowed } from './apf.ts';
import { emulator_leave_smm } from './smm.ts';
import { EXIT_REASON_EXTERNAL_INTERRUPT, EXIT_REASON_INTERRUPT_WINDOW, TP_KVM_EXIT } from './trace.ts';
import { EXITING_GUEST_MODE, IN_GUEST_MODE, type KvmVcpu, OUTSIDE_GUEST_MODE } from './vcpu.ts';
import type { KvmVm } from './vm.ts';
import {
  ENTER_ERROR,
  ENTER_HALTED,
  kvm_arch_vcpu_runnable,
  kvm_cpu_has_interrupt,
  kvm_vcpu_running,
  vcpu_block_wakeup,
  vcpu_enter_guest,
} from './x86.ts';

/** Nothing can happen on this vCPU until another step (a worker, an IPI) changes its state. */
export const STEP_BLOCKED = 0;
/** The vCPU entered the artificial halt (APF_HALT) in this step. */
export const STEP_HALTED = 1;
/** A guest instruction ran. */
export const STEP_RAN = 2;
/** The vCPU entered the guest but the guest had nothing to do (idle, nothing injected). */
export const STEP_IDLE = 3;
export type VcpuStepResult = typeof STEP_BLOCKED | typeof STEP_HALTED | typeof STEP_RAN | typeof STEP_IDLE;

/** The firmware SMM handler, run as its final RSM: an instruction ran. */
function firmwareRsm(vm: KvmVm, vcpu: KvmVcpu): boolean {
  emulator_leave_smm(vm, vcpu);
  return true;
}

/**
 * Whether kvm_vcpu_run_step can make progress now.
 * @model a scheduler's question, no kernel function (kvm_vcpu_run_step is one vcpu_run iteration).
 */
export const kvm_vcpu_can_step = (vm: KvmVm, vcpu: KvmVcpu): boolean =>
  !kvm_host_dead(vm) &&
  (vcpu.mode === IN_GUEST_MODE || (!vcpu.in_userspace && kvm_arch_vcpu_runnable(vm, vcpu)));

/** A kernel BUG (the memory-cache model's empty cache) killed the host: nothing runs any more. */
export const kvm_host_dead = (vm: KvmVm): boolean => vm.memcache !== null && vm.memcache.bug !== null;

/**
 * @kernel vcpu_run, one step: a vCPU already in guest mode just executes its next instruction; otherwise
 * it goes through vcpu_block's wakeup and vcpu_enter_guest first. After the instruction, an interrupt
 * that became deliverable while in guest mode (IF set with one pending: the interrupt-window exit)
 * forces an exit so the next step injects it.
 */
export function kvm_vcpu_run_step(vm: KvmVm, vcpu: KvmVcpu): VcpuStepResult {
  const entering = vcpu.mode !== IN_GUEST_MODE;
  vm.effects.reset(entering);
  if (kvm_host_dead(vm)) return STEP_BLOCKED;
  const t = vm.hooks.kvmTrace;
  if (entering) {
    if (vcpu.in_userspace || !kvm_arch_vcpu_runnable(vm, vcpu)) return STEP_BLOCKED;
    // A kick (kvm_vcpu_kick: smp_send_reschedule) took the vCPU out of guest mode since its last step.
    if (t != null && vcpu.mode === EXITING_GUEST_MODE) kickExit(t, vcpu);
    if (!kvm_vcpu_running(vcpu)) vcpu_block_wakeup(vcpu);
    const e = vcpu_enter_guest(vm, vcpu);
    if (e === ENTER_HALTED) return STEP_HALTED;
    if (e === ENTER_ERROR) return STEP_BLOCKED;
  }
  // Tracing: an interrupt that was pending but blocked before the instruction waited for the guest to
  // open its window (KVM asked for an interrupt-window exit).
  const waiting = t != null && !kvm_arch_interrupt_allowed(vcpu) && kvm_cpu_has_interrupt(vm, vcpu);
  // In SMM with a firmware handler, the instruction is the handler's RSM (smm.ts).
  const ran = vcpu.smm && vcpu.smram.firmware ? firmwareRsm(vm, vcpu) : vm.guest.step(vcpu);
  if (vcpu.mode === IN_GUEST_MODE && kvm_arch_interrupt_allowed(vcpu) && kvm_cpu_has_interrupt(vm, vcpu)) {
    vcpu.mode = OUTSIDE_GUEST_MODE;
    if (t != null) {
      if (waiting) t(vcpu.vcpu_id, TP_KVM_EXIT, EXIT_REASON_INTERRUPT_WINDOW, 0, 0, 0n, null);
      else kickExit(t, vcpu);
    }
  }
  return ran ? STEP_RAN : STEP_IDLE;
}

/** RESCHEDULE_VECTOR (arch/x86/include/asm/irq_vectors.h), the IPI a kick sends to the vCPU's CPU. */
const RESCHEDULE_VECTOR = 0xfd;

/** kvm_exit of a host interrupt: EXTERNAL_INTERRUPT, intr_info valid | type 0 | the reschedule vector. */
function kickExit(t: NonNullable<KvmVm['hooks']['kvmTrace']>, vcpu: KvmVcpu): void {
  t(
    vcpu.vcpu_id,
    TP_KVM_EXIT,
    EXIT_REASON_EXTERNAL_INTERRUPT,
    0,
    (0x80000000 | RESCHEDULE_VECTOR) >>> 0,
    0n,
    null,
  );
}
