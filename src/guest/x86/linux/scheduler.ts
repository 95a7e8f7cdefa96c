// A deliberately small scheduler: one FIFO runqueue per CPU, an idle task per CPU, context switches only
// where the task gives up the CPU (sleep, exit) or its slice runs out, and wakeups that put a task back
// on its CPU's runqueue. It is enough to show what async PF buys (another task runs while one waits for
// the host) and what it costs (switches, idle halts), with no policy that would blur the protocol.
import { kvm_apic_accept_irq } from '../../../host/x86/lapic.ts';
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import { kvm_vcpu_kick } from '../../../host/x86/vm.ts';
import type { GuestCtx } from './context.ts';
import {
  GSTEP_CONTEXT_SWITCH,
  KPC_USER,
  type LinuxGuestState,
  TASK_EXITED,
  TASK_RUNNABLE,
  TASK_RUNNING,
  TASK_SLEEPING,
} from './state.ts';

/** Linux's RESCHEDULE_VECTOR. */
export const RESCHEDULE_VECTOR = 0xfd;

export function rqPush(st: LinuxGuestState, cpu: number, task: number): void {
  const n = st.config.max_tasks;
  const c = st.cpu;
  c.rq[cpu * n + ((c.rqHead[cpu]! + c.rqLen[cpu]!) % n)] = task;
  c.rqLen[cpu] = c.rqLen[cpu]! + 1;
}

/** The head of the runqueue, or -1 when it is empty. */
export function rqPop(st: LinuxGuestState, cpu: number): number {
  const c = st.cpu;
  if (c.rqLen[cpu] === 0) return -1;
  const n = st.config.max_tasks;
  const t = c.rq[cpu * n + c.rqHead[cpu]!]!;
  c.rqHead[cpu] = (c.rqHead[cpu]! + 1) % n;
  c.rqLen[cpu] = c.rqLen[cpu]! - 1;
  return t;
}

/**
 * Creates a runnable task on `cpu`'s runqueue and returns its id. Meant for setup; a CPU idling in HLT
 * notices a task added later only at its next interrupt.
 */
export function spawnTask(st: LinuxGuestState, cpu: number): number {
  if (st.nTasks >= st.config.max_tasks)
    throw new RangeError(`more than max_tasks = ${st.config.max_tasks} tasks`);
  const t = st.nTasks++;
  st.task.state[t] = TASK_RUNNABLE;
  st.task.cpu[t] = cpu;
  st.task.kpc[t] = KPC_USER;
  rqPush(st, cpu, t);
  return t;
}

/** The first online CPU other than `except`, or -1. */
function fallbackCpu(st: LinuxGuestState, except: number): number {
  for (let c = 0; c < st.ncpus; c++) if (c !== except && st.cpu.online[c] === 1) return c;
  return -1;
}

/**
 * @kernel try_to_wake_up (reduced). A task that has not switched out yet (still `curr` on its CPU,
 * between queueing its sleep node and schedule()) only becomes RUNNING again: its wait loop then sees the
 * node unhashed. Otherwise it goes to the tail of its CPU's runqueue (a fallback CPU if that one is
 * offline), and a CPU other than the waker's gets a reschedule IPI.
 */
export function wakeTask(g: GuestCtx, task: number, wakerCpu: number): void {
  const st = g.state;
  const ts = st.task;
  if (ts.state[task] !== TASK_SLEEPING) return;
  let cpu = ts.cpu[task]!;
  if (st.cpu.curr[cpu] === task) {
    ts.state[task] = TASK_RUNNING;
    return;
  }
  if (st.cpu.online[cpu] !== 1) {
    const f = fallbackCpu(st, cpu);
    cpu = f >= 0 ? f : wakerCpu;
    ts.cpu[task] = cpu;
  }
  ts.state[task] = TASK_RUNNABLE;
  rqPush(st, cpu, task);
  if (cpu !== wakerCpu) send_reschedule_ipi(g, cpu);
}

/**
 * smp_send_reschedule. The host model has no ICR emulation yet, so this stands in for the xAPIC ICR
 * write: accept the fixed IPI into the target LAPIC and kick the target vCPU (what kvm_apic_send_ipi
 * would end in).
 */
export function send_reschedule_ipi(g: GuestCtx, cpu: number): void {
  const target = g.vm.vcpus[cpu];
  if (target === undefined) return;
  if (kvm_apic_accept_irq(g.vm, target, RESCHEDULE_VECTOR)) kvm_vcpu_kick(g.vm, target);
}

/**
 * @kernel __schedule: switch `vcpu`'s CPU to the next runnable task, or to its idle task. The caller has
 * already dealt with the previous task (left it sleeping, requeued it, or marked it exited). The switched
 * to context runs with interrupts enabled: a task in user mode at CPL 3, a task resuming in the kernel
 * (its wait loop) or the idle task at CPL 0.
 */
export function schedule(g: GuestCtx, vcpu: KvmVcpu): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  const next = rqPop(st, c);
  st.cpu.curr[c] = next;
  st.cpu.needResched[c] = 0;
  st.cpu.sliceUsed[c] = 0;
  st.cpu.contextSwitches[c] = st.cpu.contextSwitches[c]! + 1;
  const fx = g.vm.effects;
  fx.kind = GSTEP_CONTEXT_SWITCH;
  fx.task = next;
  vcpu.guest_mode = false;
  vcpu.rflags_if = true;
  if (next < 0) {
    vcpu.cpl = 0;
    return;
  }
  st.task.state[next] = TASK_RUNNING;
  st.task.cpu[next] = c;
  vcpu.cpl = st.task.kpc[next] === KPC_USER ? 3 : 0;
}

/** The current task gives up the CPU but stays runnable (slice expired or need_resched). */
export function yieldCurrent(g: GuestCtx, vcpu: KvmVcpu): void {
  const st = g.state;
  const t = st.cpu.curr[vcpu.vcpu_id]!;
  if (t >= 0) {
    st.task.state[t] = TASK_RUNNABLE;
    rqPush(st, vcpu.vcpu_id, t);
  }
  schedule(g, vcpu);
}

/** do_exit: the current task is gone; switch away. */
export function exitCurrent(g: GuestCtx, vcpu: KvmVcpu): void {
  const st = g.state;
  const t = st.cpu.curr[vcpu.vcpu_id]!;
  if (t >= 0) st.task.state[t] = TASK_EXITED;
  schedule(g, vcpu);
}

/**
 * CPU offline: move the current task (unless it sleeps) and the runqueue to a fallback CPU, as
 * migrate_tasks does, and tell that CPU. With no other CPU online the tasks stay where they are.
 */
export function migrateTasksAway(g: GuestCtx, cpu: number): void {
  const st = g.state;
  const dst = fallbackCpu(st, cpu);
  if (dst < 0) return;
  const cur = st.cpu.curr[cpu]!;
  let moved = false;
  if (cur >= 0 && st.task.state[cur] !== TASK_SLEEPING) {
    st.task.state[cur] = TASK_RUNNABLE;
    st.task.cpu[cur] = dst;
    rqPush(st, dst, cur);
    moved = true;
  }
  if (cur >= 0) st.cpu.curr[cpu] = -1;
  for (let t = rqPop(st, cpu); t >= 0; t = rqPop(st, cpu)) {
    st.task.cpu[t] = dst;
    rqPush(st, dst, t);
    moved = true;
  }
  if (moved) send_reschedule_ipi(g, dst);
}
