// What the simulator still reads of the guest after a step: where the vCPU is now (task context, the
// current task). What a step *did* is not read here: the host and guest models write it, as it happens,
// into the VM's StepEffects (host/x86/step_effects.ts, `vm.effects`), which vcpu_step.ts reads.
import type { SimVm } from './sim_vm.ts';

/** The guest is in task context after the step (no interrupt or exception frame, not halted). */
export function inTaskContext(sv: SimVm, c: number): boolean {
  const cpu = sv.guest.state.cpu;
  return cpu.irqPc[c] === 0 && cpu.excPc[c] === 0 && cpu.haltNode[c]! < 0;
}

/** The guest's current task on CPU c (for the trace). */
export function currentTask(sv: SimVm, c: number): number {
  return sv.guest.state.cpu.curr[c]!;
}
