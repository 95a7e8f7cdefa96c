// Partial-order reduction for the Linux guest: in a state where some vCPU v's next run step is *local*,
// the explorer expands only that step (an ample set of size one) instead of every enabled step.
//
// A run step of v is local when it commutes with every step any other component can take before it and
// cannot hide a violation (docs/properties.md, "Partial-order reduction", has the argument):
// - no environment step can act any more (every per-vCPU budget is 0, no SMM, no hotplug in progress,
//   every CPU online), so no other CPU can wake a task onto v's runqueue, IPI it or reset it;
// - v's own host side cannot interfere: no buffered store, no synchronous fault; and either v has no
//   pending work and an empty `done` (then nothing but v's run step touches v), or v executes guest code
//   (no entry processing this step), a completing worker would neither kick nor raise a request that
//   matters (`done` is non-empty, or a page-ready is outstanding), and the instruction does not read
//   `done` (not the ACK, not an APF MSR write);
// - v's guest instruction touches only v's own state: a memory access only to a page that is mapped and
//   stays mapped (bits of page state are only ever set when no eviction budget is left) or that only v's
//   tasks may still access and has no pending work of v (localTouch); the #PF hook's
//   queueing and a dummy-creating wake only into a sleep-table bucket no other vCPU's token can ever hash
//   to (insertions at a bucket's head do not commute); a wake of an existing sleeper or a wake-all only
//   touches v's nodes (tokens carry the vCPU id); no panic or WARN path; no hotplug op.
// Local steps of v never create a waiter on another vCPU's token, never change another vCPU's quiet
// state and never clear a sticky failure, so a violation reachable without them stays reachable after
// them (the ample-set conditions C0–C2; no-lost-wakeup is judged per token owner for this reason). No
// cycle consists of local steps only (every interrupt or exception a local step handles was raised by a
// non-local one; task, scheduler and kernel steps advance a program counter or block; completion
// processing is local only when it dequeues), which is C3. A worker is local when its vCPU is blocked
// and its page is private (localWorker). The legacy (≤5.7) guest and the bare guest are not reduced.
import { APF_WAKEUP_ALL_TOKEN } from '../../abi/kvm_host.ts';
import { KVM_PV_REASON_PAGE_NOT_PRESENT } from '../../abi/kvm_para.ts';
import {
  KOP_APF_EN,
  KOP_APF_INT,
  KOP_PARK,
  KOP_PV_DISABLE_WRMSR,
  KOP_UNPARK,
  KOP_WAKE_ALL,
} from '../../guest/x86/linux/cpu_init.ts';
import { _find_apf_task, hash_32, KVM_TASK_SLEEP_HASHBITS } from '../../guest/x86/linux/sleep_table.ts';
import {
  IRQ_ACK,
  IRQ_WAKE,
  KPC_USER,
  KQ_CAP,
  type LinuxGuestState,
  NPF_HANDLE,
  PF_HANDLE,
  savedCpl,
  savedIf,
  TASK_EXITED,
  TASK_FREE,
} from '../../guest/x86/linux/state.ts';
import { ACT_NONE, ACT_TOUCH } from '../../guest/x86/linux/task_exec.ts';
import { kvm_arch_can_dequeue_async_page_present } from '../../host/x86/apf.ts';
import { W_WAKEUP_ALL, WORK_POOL_SIZE } from '../../host/x86/async_pf_work.ts';
import { pendingSlots } from '../../host/x86/codec.ts';
import { IN_GUEST_MODE } from '../../host/x86/vcpu.ts';
import { gpaToGfn } from '../../mem/guest_memory.ts';
import { PAGE_SPTE_MAPPED } from '../../mem/page_state.ts';
import { ENV_KINDS } from './config.ts';
import { LinuxAdapter } from './linux_adapter.ts';
import { inFirmwareSmm, type X86World } from './world.ts';

const scratch = new Int32Array(WORK_POOL_SIZE);
const EVICT = ENV_KINDS.indexOf('evict');
const bucketOf = (token: number): number => hash_32(token, KVM_TASK_SLEEP_HASHBITS);

/** Whether no environment step (other than evict) can run now or later. */
function environmentDone(w: X86World): boolean {
  for (let i = 0; i < w.env.length; i++) if (i !== EVICT && w.env[i]! > 0) return false;
  for (let v = 0; v < w.layout.vcpus; v++) if (inFirmwareSmm(w.vcpu(v)) || w.hotplug[v] !== 0) return false;
  return true;
}

/** Touch actions task t has still to complete (its current one included). */
function touchesLeft(g: LinuxAdapter, st: LinuxGuestState, t: number): number {
  const prog = g.program(t);
  let n = 0;
  for (let pc = st.task.pc[t]!; pc < prog.length; pc++) if (prog[pc]!.kind === 'touch') n++;
  return n;
}

/**
 * Whether a token of any vCPU other than v, present or future, can hash to sleep-table bucket `b`. A
 * vCPU's tokens are (id << 12) | vcpu_id with id counting up by one per async fault, and a touch action
 * creates at most one (no environment step can clear the queue any more), so the ids ahead are bounded
 * by the touches its CPU's tasks have left. Tokens already handed out sit in its works, its apf_reason
 * slot and its handler frames.
 */
function bucketUsedElsewhere(w: X86World, g: LinuxAdapter, v: number, b: number): boolean {
  const st = g.state;
  for (let u = 0; u < w.layout.vcpus; u++) {
    if (u === v) continue;
    const vcpu = w.vcpu(u);
    let left = 0;
    for (let t = 0; t < st.nTasks; t++)
      if (st.task.cpu[t] === u && st.task.state[t] !== TASK_EXITED && st.task.state[t] !== TASK_FREE)
        left += touchesLeft(g, st, t);
    for (let i = 0; i <= left; i++) if (bucketOf((((vcpu.apf.id + i) << 12) | u) >>> 0) === b) return true;
    const s = vcpu.async_pf;
    for (let i = 0; i < WORK_POOL_SIZE; i++)
      if (s.wFlags[i] !== 0 && bucketOf(s.wToken[i]!) === b) return true;
    if (st.cpu.excPc[u] !== 0 && bucketOf(st.cpu.excToken[u]!) === b) return true;
    if (st.cpu.irqPc[u] !== 0 && bucketOf(st.cpu.irqToken[u]!) === b) return true;
    const d = vcpu.apf.data;
    if (d.valid && bucketOf(w.vm.mem.readU32(d.gpa + 4)) === b) return true;
  }
  return false;
}

/** Whether some task of a CPU other than v may still access gfn (its current action included). */
function gfnShared(g: LinuxAdapter, v: number, gfn: number): boolean {
  const st = g.state;
  for (let t = 0; t < st.nTasks; t++) {
    if (st.task.cpu[t] === v || st.task.state[t] === TASK_EXITED || st.task.state[t] === TASK_FREE) continue;
    const prog = g.program(t);
    for (let pc = st.task.pc[t]!; pc < prog.length; pc++) {
      const a = prog[pc]!;
      if (a.kind === 'touch' && gpaToGfn(a.gpa) === gfn) return true;
    }
  }
  return false;
}

/** Whether every work on v's `done` is a wakeup-all or for a page only v's tasks may still access. */
function doneIsPrivate(w: X86World, g: LinuxAdapter, v: number): boolean {
  if (w.env[EVICT]! > 0) return false;
  const s = w.vcpu(v).async_pf;
  for (let k = 0; k < s.doneLen; k++) {
    const slot = s.done[(s.doneHead + k) % WORK_POOL_SIZE]!;
    if ((s.wFlags[slot]! & W_WAKEUP_ALL) === 0 && gfnShared(g, v, s.wGfn[slot]!)) return false;
  }
  return true;
}

/** Whether vCPU v's next run step is local (see the file comment). The caller checks it is enabled. */
export function localRunStep(w: X86World, v: number): boolean {
  const g = w.guest;
  if (!(g instanceof LinuxAdapter) || g.legacy) return false;
  const vcpu = w.vcpu(v);
  if (vcpu.apf.pageready_pending_store_buffered || vcpu.sync_fault_gfn >= 0) return false;
  const st = g.state;
  const cpu = st.cpu;
  for (let c = 0; c < st.ncpus; c++) if (cpu.online[c] === 0) return false;
  if (st.panicked >= 0) return false;
  const s = vcpu.async_pf;
  const pending = pendingSlots(s, scratch) !== 0;
  const entering = vcpu.mode !== IN_GUEST_MODE;
  // With a pending work the step must not enter (request processing, completion) and a completing worker
  // must not kick or raise a request in between; then the instruction must not read `done` either.
  if (pending && (entering || (s.doneLen === 0 && !vcpu.apf.pageready_pending))) return false;
  // Completion processing (at entry, or in the ACK) prefaults `done`'s pages: shared page state.
  // It must also make progress (dequeue at least the head): an entry that cannot dequeue is the HLT-spin
  // loop, and a cycle of local steps would hide the other vCPUs' steps for ever (C3).
  const dequeues = s.doneLen !== 0 && (entering || cpu.irqPc[v] === IRQ_ACK);
  if (
    dequeues &&
    (pending || !doneIsPrivate(w, g, v) || !kvm_arch_can_dequeue_async_page_present(w.vm, vcpu))
  )
    return false;
  const hostBusy = pending || s.doneLen !== 0;
  if (cpu.irqPc[v] !== 0) {
    if (cpu.irqPc[v] === IRQ_ACK) return !pending;
    if (cpu.irqPc[v] !== IRQ_WAKE) return true;
    const token = cpu.irqToken[v]!;
    if (token === APF_WAKEUP_ALL_TOKEN) return true;
    return _find_apf_task(st.sleepers, bucketOf(token), token) >= 0; // else it allocates a dummy
  }
  if (cpu.excPc[v] !== 0) {
    if (cpu.excPc[v] === NPF_HANDLE) return false;
    if (cpu.excPc[v] !== PF_HANDLE) return true;
    const flags = cpu.excFlags[v]!;
    if (flags === 0) return true; // a normal #PF
    const saved = cpu.excSaved[v]!;
    if (!savedIf(saved) || (flags & KVM_PV_REASON_PAGE_NOT_PRESENT) === 0 || savedCpl(saved) === 0)
      return false;
    if (cpu.curr[v]! < 0) return false;
    const token = cpu.excToken[v]!;
    const b = bucketOf(token);
    if (_find_apf_task(st.sleepers, b, token) >= 0) return true; // consumes v's own dummy
    return !bucketUsedElsewhere(w, g, v, b);
  }
  if (cpu.kqLen[v]! > cpu.kqPos[v]!) {
    const op = cpu.kq[v * KQ_CAP + cpu.kqPos[v]!]!;
    if (op === KOP_WAKE_ALL || op === KOP_PARK || op === KOP_UNPARK) return false;
    return !(hostBusy && (op === KOP_APF_EN || op === KOP_APF_INT || op === KOP_PV_DISABLE_WRMSR));
  }
  const t = cpu.curr[v]!;
  if (t >= 0 && st.task.kpc[t] === KPC_USER) {
    const kind = st.task.actKind[t];
    let gpa = -1;
    if (kind === ACT_TOUCH) gpa = st.task.actGpa[t]!;
    else if (kind === ACT_NONE) {
      const a = g.program(t)[st.task.pc[t]!];
      if (a?.kind === 'touch') gpa = a.gpa;
    }
    if (gpa >= 0 && !localTouch(w, g, v, gpaToGfn(gpa))) return false;
  }
  return true;
}

/**
 * A memory access to gfn by v is local when no eviction budget is left and either the page is mapped
 * (it completes in the guest, and page bits are only ever set), or the page is v's alone (no other CPU's
 * task may still access it) and no pending work of v is for it (that worker's write would change the
 * fault's outcome): the fault path then only touches v's own state and that page.
 */
function localTouch(w: X86World, g: LinuxAdapter, v: number, gfn: number): boolean {
  if (w.env[EVICT]! > 0) return false;
  if ((w.vm.mem.pageState[gfn]! & PAGE_SPTE_MAPPED) !== 0) return true;
  if (gfnShared(g, v, gfn)) return false;
  const s = w.vcpu(v).async_pf;
  const n = pendingSlots(s, scratch);
  for (let k = 0; k < n; k++) if (s.wGfn[scratch[k]!] === gfn) return false;
  return true;
}

/**
 * Whether the worker of v's only pending work is local: v is blocked (its run step is disabled, and only
 * its own worker or synchronous fault can wake it: no other CPU can IPI it), and no other CPU's task may
 * still access the page. The worker then only touches v and that page.
 */
export function localWorker(w: X86World, v: number, runEnabled: boolean): boolean {
  const g = w.guest;
  if (!(g instanceof LinuxAdapter) || g.legacy || runEnabled || w.env[EVICT]! > 0) return false;
  const vcpu = w.vcpu(v);
  if (pendingSlots(vcpu.async_pf, scratch) !== 1) return false;
  if (vcpu.apf.pageready_pending_store_buffered) return false;
  return !gfnShared(g, v, vcpu.async_pf.wGfn[scratch[0]!]!);
}

/** Which kind of ample step a state has (see ampleStep). */
export const AMPLE_NONE = -1;

/**
 * The ample set of a state, as one step: the run step of the lowest vCPU whose run step is enabled and
 * local (returned as v), else the local worker of the lowest such vCPU (returned as vcpus + v), else
 * AMPLE_NONE (expand everything).
 */
export function ampleStep(w: X86World, enabledRun: (v: number) => boolean): number {
  if (!environmentDone(w)) return AMPLE_NONE;
  const V = w.layout.vcpus;
  for (let v = 0; v < V; v++) if (enabledRun(v) && localRunStep(w, v)) return v;
  for (let v = 0; v < V; v++) if (localWorker(w, v, enabledRun(v))) return V + v;
  return AMPLE_NONE;
}
