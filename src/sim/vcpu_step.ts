// Running a vCPU: `runVcpu` runs vCPU g's steps (`kvm_vcpu_run_step`) from the current virtual time until
// it blocks or its next step is no longer the earliest event, and charges each step's cost (costs.ts) to
// the vCPU's time categories and the VM's counters. What a step did is read from the VM's StepEffects
// (host/x86/step_effects.ts), which the host and guest models write as each event happens; this file
// only turns that into costs, counts, trace slices and the next event.
//
// A step starting at t with cost c occupies the vCPU during [t, t + c); its effects happen at t. A vCPU
// whose next step is due no later than every queued event runs it at once without the heap (at most
// INLINE_MAX in a row), which is most steps: the guest's handler and kernel steps take nanoseconds while
// events are microseconds apart. This is the simulator's hot loop: it allocates nothing.
import {
  GSTEP_COMPUTE,
  GSTEP_CONTEXT_SWITCH,
  GSTEP_HALT,
  GSTEP_HANDLER,
  GSTEP_KERNEL,
  GSTEP_NONE,
  GSTEP_TOUCH,
  GSTEP_TOUCH_EXIT,
  GSTEP_TOUCH_FIXED,
} from '../guest/x86/linux/state.ts';
import { HOST_MM_OPS } from '../host/x86/primary_mmu.ts';
import { STEP_BLOCKED, STEP_HALTED } from '../host/x86/run_loop.ts';
import { FRAME_EXC, FRAME_IRQ } from '../host/x86/step_effects.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import {
  K_EXITS,
  K_IRQ_INJECTED,
  K_MINOR,
  K_PF_INJECTED,
  K_QUEUED_AREA,
  NCAT,
  NCOUNT,
  T_EXITS,
  T_HALTED,
  T_IDLE,
  T_KERNEL,
  T_SYNC,
  T_TASK,
} from './counters.ts';
import { guestWake } from './latency.ts';
import { prefaultRefaults } from './page_in.ts';
import { type SimState, schedule } from './sim_state.ts';
import { currentTask, inTaskContext } from './step_probe.ts';
import { block } from './wake.ts';

/** Trace slice kinds of a vCPU step (tracer.ts names them). */
export const S_TASK = 0;
export const S_EPT_EXIT = 1;
export const S_MINOR = 2;
export const S_SCHED = 3;
export const S_PF = 4;
export const S_IRQ = 5;
export const S_APF_WAIT = 6;
export const S_KERNEL = 7;
export const S_HLT = 8;
export const S_APF_HALT = 9;

/** Steps a vCPU may run back to back without the heap. */
const INLINE_MAX = 64;

/** Runs vCPU g's steps from `now` until it blocks, or its next step is not the earliest event. */
export function runVcpu(s: SimState, g: number): void {
  const vcpu = s.vcpus[g]!;
  const vmIdx = s.vcpuVm[g]!;
  const sv = s.vms[vmIdx]!;
  const vm = sv.vm;
  const fx = vm.effects;
  const costs = s.costs;
  const c = vcpu.vcpu_id;
  const cnt = vmIdx * NCOUNT;
  const w = vcpu.async_pf;
  const heap = s.heap;
  const tracer = s.tracer;
  const time = s.time;
  const count = s.count;
  const tb = g * NCAT;
  const runStep = s.runSteps[g]!;
  const lock = s.mmuLock;
  // The last step's costs and span, stored for g only when the run returns: nothing reads them while g
  // runs (a kick of g itself returns early, other readers run between events: wake.ts, metrics.ts).
  let lastTask = 0;
  let lastKernel = 0;
  let lastExit = 0;
  let lastStart = 0;
  let lastEnd = 0;
  let stepped = false;
  for (let inline = 0; ; inline++) {
    const r = applyX86Step(vm, runStep);
    if (r === STEP_BLOCKED) {
      if (stepped) storeLastStep(s, g, tb, lastTask, lastKernel, lastExit, lastStart, lastEnd);
      block(s, g, vcpu);
      return;
    }
    let cTask = 0;
    let cKernel = 0;
    let cExit = 0;
    let slice = S_APF_HALT;
    let kind = -1;
    if (r === STEP_HALTED) cExit = costs.halt;
    else {
      if (fx.entering) {
        cExit += costs.vm_exit;
        count[cnt + K_EXITS]!++;
      }
      const pf = fx.excInjected;
      if (pf !== 0) {
        cExit += costs.pf_injection * pf;
        count[cnt + K_PF_INJECTED]! += pf;
      }
      const irq = fx.irqInjected;
      if (irq !== 0) {
        cExit += costs.irq_delivery * irq;
        count[cnt + K_IRQ_INJECTED]! += irq;
      }
      kind = fx.kind;
      switch (kind) {
        case GSTEP_COMPUTE:
          cTask += fx.ns;
          slice = S_TASK;
          break;
        case GSTEP_TOUCH:
          cTask += costs.guest_access;
          slice = S_TASK;
          break;
        case GSTEP_TOUCH_FIXED:
          cExit += costs.minor_fault;
          count[cnt + K_MINOR]!++;
          slice = S_MINOR;
          break;
        case GSTEP_TOUCH_EXIT:
          slice = S_EPT_EXIT;
          break;
        case GSTEP_CONTEXT_SWITCH:
          cKernel += costs.context_switch;
          slice = S_SCHED;
          break;
        case GSTEP_HANDLER:
          cExit += costs.guest_handler;
          // An injected exception counts as the #PF frame (a #GP for a failed WRMSR included).
          slice = fx.frame === FRAME_IRQ ? S_IRQ : fx.frame === FRAME_EXC || pf !== 0 ? S_PF : S_APF_WAIT;
          if (fx.wakes) guestWake(s, g, vmIdx, fx.wakeToken);
          break;
        case GSTEP_KERNEL:
          cKernel += costs.kernel_op;
          slice = S_KERNEL;
          break;
        case GSTEP_HALT:
          cExit += costs.halt;
          slice = S_HLT;
          break;
        case GSTEP_NONE:
          // A panicked guest runs nothing more.
          if (stepped) storeLastStep(s, g, tb, lastTask, lastKernel, lastExit, lastStart, lastEnd);
          s.dead[g] = 1;
          s.panics++;
          return;
        default:
          slice = S_TASK;
      }
      const acks = fx.acks;
      if (acks !== 0) cExit += costs.ack_msr * acks;
      const fixed = fx.fixed;
      if (fixed !== 0) cExit += costs.prefault * fixed;
    }
    const q = w.queued;
    if (q !== s.queuedNow[g]) {
      count[cnt + K_QUEUED_AREA]! += s.queuedNow[g]! * (s.now - s.queuedSince[g]!);
      s.queuedNow[g] = q;
      s.queuedSince[g] = s.now;
      if (q > s.queuedMax[g]!) s.queuedMax[g] = q;
    }
    if (fx.refaults > 0) prefaultRefaults(s, g, vmIdx, fx);
    if (lock !== null) {
      // The fault's part under mmu_lock waits for the lock (mmu_lock.ts); the wait is the vCPU's, as exits.
      if (fx.mmuLocked !== 0) cExit += lock.fault(vmIdx, s.now, fx.mmuLocked);
      const src = fx.refaultSrc;
      if (src >= 0) {
        const k = vmIdx * HOST_MM_OPS.length + src;
        s.refaultsBySrc[k]!++;
        // The fault's own handling (a minor fault, an injection, the lock wait) and the exit/entry round
        // trip around it, which vm_exit charges at the next entry.
        s.refaultNsBySrc[k]! += cExit + (fx.entering ? 0 : costs.vm_exit);
      }
    }
    let paid = 0;
    if (s.debt[g]! > 0 && inTaskContext(sv, c)) {
      // Back in task context after the event that preempted a burst: finish the burst first.
      paid = s.debt[g]!;
      cTask += paid;
      s.debt[g] = 0;
    }
    const now = s.now;
    const cost = cTask + cKernel + cExit;
    const t2 = now + cost;
    time[tb + T_TASK]! += cTask;
    time[tb + T_KERNEL]! += cKernel;
    time[tb + T_EXITS]! += cExit;
    lastTask = cTask;
    lastKernel = cKernel;
    lastExit = cExit;
    lastStart = now;
    lastEnd = t2;
    stepped = true;
    if (tracer !== null) {
      const task = kind === GSTEP_COMPUTE || kind === GSTEP_TOUCH ? fx.task : -1;
      tracer.step(s, g, slice, task, now, t2 - paid);
      if (paid > 0) tracer.step(s, g, S_TASK, currentTask(sv, c), t2 - paid, t2);
    }
    if (s.waitIo[g]! > 0) {
      // A prefault found its page evicted again: the vCPU thread waits for a synchronous page-in.
      storeLastStep(s, g, tb, cTask, cKernel, cExit, now, t2);
      s.blocked[g] = 1;
      s.blockedSince[g] = t2;
      s.blockedCat[g] = T_SYNC;
      return;
    }
    if (inline < INLINE_MAX && t2 <= heap.peekTime() && t2 <= s.endTime) {
      s.now = t2;
      continue;
    }
    storeLastStep(s, g, tb, cTask, cKernel, cExit, now, t2);
    schedule(s, g, t2);
    return;
  }
}

/** vCPU g's last step: its costs by category (lastCost) and its span [start, end). */
function storeLastStep(
  s: SimState,
  g: number,
  tb: number,
  cTask: number,
  cKernel: number,
  cExit: number,
  start: number,
  end: number,
): void {
  const lastCost = s.lastCost;
  lastCost[tb + T_TASK] = cTask;
  lastCost[tb + T_KERNEL] = cKernel;
  lastCost[tb + T_EXITS] = cExit;
  lastCost[tb + T_IDLE] = 0;
  lastCost[tb + T_HALTED] = 0;
  lastCost[tb + T_SYNC] = 0;
  s.stepStart[g] = start;
  s.stepEnd[g] = end;
}
