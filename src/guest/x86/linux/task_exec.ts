// A task's own instructions: fetch the next action from the TaskProgram and execute it as one step.
// A memory access whose page the secondary MMU (EPT/NPT) maps completes inside the guest. Otherwise it
// is the EPT/NPT-violation exit: kvm_mmu_do_page_fault decides, and on RET_PF_RETRY (a 'not present'
// #PF is queued, or the host halts the vCPU) or RET_PF_SYNC (the vCPU thread blocks in the host) the
// instruction did not complete: the action stays fetched and re-executes at the task's next step.

import {
  kvm_guest_access_spte,
  kvm_mmu_do_page_fault,
  RET_PF_RETRY,
  RET_PF_SYNC,
} from '../../../host/x86/mmu_fault.ts';
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import { gpaToGfn } from '../../../mem/guest_memory.ts';
import type { GuestCtx } from './context.ts';
import type { TaskAction } from './program.ts';
import { exitCurrent, yieldCurrent } from './scheduler.ts';
import {
  GSTEP_COMPUTE,
  GSTEP_TASK_EXIT,
  GSTEP_TOUCH,
  GSTEP_TOUCH_EXIT,
  GSTEP_TOUCH_FIXED,
  type LinuxGuestState,
} from './state.ts';

export const ACT_NONE = 0;
export const ACT_COMPUTE = 1;
export const ACT_TOUCH = 2;
export const ACT_EXIT = 3;

export const ACTF_WRITE = 1;
/** Mode in bits 1–2: 0 user, 1 kernel, 2 l2, 3 atomic (a kernel access with preemption disabled). */
export const ACTF_MODE_SHIFT = 1;
export const MODE_USER = 0;
export const MODE_KERNEL = 1;
export const MODE_L2 = 2;
export const MODE_ATOMIC = 3;

const TOUCH_MODES: Readonly<Record<string, number>> = {
  user: MODE_USER,
  kernel: MODE_KERNEL,
  l2: MODE_L2,
  atomic: MODE_ATOMIC,
};

/** The mode of task `t`'s fetched action (MODE_*), or -1 when it is not a memory access. */
export const taskTouchMode = (st: LinuxGuestState, t: number): number =>
  st.task.actKind[t] === ACT_TOUCH ? st.task.actFlags[t]! >>> ACTF_MODE_SHIFT : -1;

/** PFERR_WRITE_MASK: the only error-code bit an EPT violation of a plain access carries here. */
const PFERR_WRITE_MASK = 2;

function storeAction(st: LinuxGuestState, t: number, a: TaskAction): void {
  const ts = st.task;
  switch (a.kind) {
    case 'compute':
      ts.actKind[t] = ACT_COMPUTE;
      ts.actNs[t] = a.ns;
      ts.actFlags[t] = 0;
      ts.actGpa[t] = 0;
      return;
    case 'touch': {
      const mode = TOUCH_MODES[a.mode ?? 'user']!;
      ts.actKind[t] = ACT_TOUCH;
      ts.actGpa[t] = a.gpa;
      ts.actFlags[t] = (a.write ? ACTF_WRITE : 0) | (mode << ACTF_MODE_SHIFT);
      ts.actNs[t] = 0;
      return;
    }
    default:
      ts.actKind[t] = ACT_EXIT;
      ts.actFlags[t] = 0;
      ts.actGpa[t] = 0;
      ts.actNs[t] = 0;
  }
}

function completeAction(st: LinuxGuestState, c: number, t: number): void {
  st.task.actKind[t] = ACT_NONE;
  st.task.pc[t] = st.task.pc[t]! + 1;
  st.cpu.sliceUsed[c] = st.cpu.sliceUsed[c]! + 1;
}

/**
 * One step of the current task `t` outside the kernel. First the preemption point (return to user with
 * need_resched, or an expired slice while others wait), then the task's action.
 */
export function stepTask(g: GuestCtx, vcpu: KvmVcpu, t: number): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  const slice = st.config.slice_actions;
  if (st.cpu.rqLen[c]! > 0 && (st.cpu.needResched[c] !== 0 || (slice > 0 && st.cpu.sliceUsed[c]! >= slice))) {
    yieldCurrent(g, vcpu);
    return;
  }
  st.cpu.needResched[c] = 0;
  const ts = st.task;
  if (ts.actKind[t] === ACT_NONE) storeAction(st, t, g.program.next(t, c, ts.pc[t]!));
  const fx = g.vm.effects;
  fx.task = t;
  switch (ts.actKind[t]) {
    case ACT_COMPUTE:
      vcpu.cpl = 3;
      fx.kind = GSTEP_COMPUTE;
      fx.ns = ts.actNs[t]!;
      ts.bursts[t] = ts.bursts[t]! + 1;
      completeAction(st, c, t);
      return;
    case ACT_TOUCH:
      touch(g, vcpu, t);
      return;
    default:
      fx.kind = GSTEP_TASK_EXIT;
      completeAction(st, c, t);
      exitCurrent(g, vcpu);
      fx.kind = GSTEP_TASK_EXIT;
  }
}

/** The access itself, at the privilege and nesting level of its mode. */
function touch(g: GuestCtx, vcpu: KvmVcpu, t: number): void {
  const { vm, state: st } = g;
  const ts = st.task;
  const gpa = ts.actGpa[t]!;
  const flags = ts.actFlags[t]!;
  const mode = flags >>> ACTF_MODE_SHIFT;
  // The vCPU stays at the access's level until the access completes (a retried kernel access is still in
  // the kernel; an L2 access is still in L2 until the VM-exit).
  vcpu.cpl = mode === MODE_KERNEL || mode === MODE_ATOMIC ? 0 : 3;
  vcpu.guest_mode = mode === MODE_L2;
  const gfn = gpaToGfn(gpa);
  if (kvm_guest_access_spte(vm, vcpu, gfn, (flags & ACTF_WRITE) !== 0)) {
    finishTouch(g, vcpu, t, GSTEP_TOUCH);
    return;
  }
  const r = kvm_mmu_do_page_fault(vm, vcpu, gpa, flags & ACTF_WRITE ? PFERR_WRITE_MASK : 0, false);
  if (r === RET_PF_RETRY || r === RET_PF_SYNC) {
    ts.retries[t] = ts.retries[t]! + 1;
    vm.effects.kind = GSTEP_TOUCH_EXIT;
    return;
  }
  finishTouch(g, vcpu, t, GSTEP_TOUCH_FIXED);
}

function finishTouch(g: GuestCtx, vcpu: KvmVcpu, t: number, kind: number): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  st.task.touches[t] = st.task.touches[t]! + 1;
  g.vm.effects.kind = kind;
  completeAction(st, c, t);
  vcpu.cpl = 3;
  vcpu.guest_mode = false;
}
