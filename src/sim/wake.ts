// Blocking, waking and preempting vCPUs. A vCPU that cannot step blocks (in HLT, in the artificial halt,
// or in a synchronous fault) and its blocked time is charged when something makes it runnable again. A
// kick (an IPI: page-ready completion, reschedule, tick) for a vCPU in the middle of a compute burst
// preempts it: the rest of the burst becomes a debt the vCPU pays when the guest is back in task context
// after handling the event (vcpu_step.ts), so interrupts are taken when they arrive, not at the end of a
// burst.
import { kvm_vcpu_can_step } from '../host/x86/run_loop.ts';
import { IN_GUEST_MODE, type KvmVcpu } from '../host/x86/vcpu.ts';
import { K_PREEMPTIONS, NCAT, NCOUNT, T_HALTED, T_IDLE, T_SYNC, T_TASK } from './counters.ts';
import { type SimState, schedule } from './sim_state.ts';

/** vCPU g cannot step: it sleeps in HLT, in the artificial halt, or in a synchronous fault. */
export function block(s: SimState, g: number, vcpu: KvmVcpu): void {
  s.blocked[g] = 1;
  s.blockedSince[g] = s.now;
  s.blockedCat[g] = vcpu.sync_fault_gfn >= 0 ? T_SYNC : vcpu.apf.halted ? T_HALTED : T_IDLE;
}

/** Something may have made blocked vCPU g runnable (a completion, an IPI, a finished page-in). */
export function maybeWake(s: SimState, g: number): void {
  if (s.blocked[g] === 0 || s.dead[g] !== 0 || s.waitIo[g]! > 0) return;
  const vcpu = s.vcpus[g]!;
  const sv = s.vms[s.vcpuVm[g]!]!;
  if (!kvm_vcpu_can_step(sv.vm, vcpu)) return;
  s.blocked[g] = 0;
  const since = s.blockedSince[g]!;
  const now = s.now;
  const tb = g * NCAT;
  s.lastCost.fill(0, tb, tb + NCAT);
  if (since >= now) {
    // The block had not begun (a prefault page-in that finished within its step's cost).
    s.stepStart[g] = since;
    s.stepEnd[g] = since;
    schedule(s, g, since);
    return;
  }
  const cat = s.blockedCat[g]!;
  const wake = s.costs.wakeup;
  s.time[tb + cat]! += now - since + wake;
  s.lastCost[tb + cat] = wake;
  s.stepStart[g] = now;
  s.stepEnd[g] = now + wake;
  s.tracer?.blocked(s, g, cat, since, now + wake);
  schedule(s, g, now + wake);
}

/** HostHooks.kick: wake a blocked vCPU, or interrupt one in the middle of a compute burst. */
export function onKick(s: SimState, g: number): void {
  if (s.blocked[g] !== 0) {
    maybeWake(s, g);
    return;
  }
  if (s.scheduled[g] === 0) return; // it is the vCPU stepping now
  const now = s.now;
  const tb = g * NCAT;
  const task = s.lastCost[tb + T_TASK]!;
  if (s.stepEnd[g]! <= now || task <= 0 || s.vcpus[g]!.mode === IN_GUEST_MODE) return;
  // The step's task time is its last part: work in the host or the guest kernel before it runs with
  // interrupts off, so an interrupt that arrives then is taken when the task part would begin.
  const at = Math.max(now, s.stepEnd[g]! - task);
  const d = s.stepEnd[g]! - at;
  s.time[tb + T_TASK]! -= d;
  s.lastCost[tb + T_TASK] = task - d;
  s.stepEnd[g] = at;
  s.debt[g]! += d;
  s.count[s.vcpuVm[g]! * NCOUNT + K_PREEMPTIONS]!++;
  s.tracer?.preempted(s, g, at);
  schedule(s, g, at);
}
