// Task symmetry: tasks with identical programs are interchangeable, so renaming them maps states to
// states and steps to themselves (no step id names a task: steps are per vCPU, per work and per
// environment action). The explorer stores one representative per orbit: the state relabelled so that,
// within each class of interchangeable tasks, tasks appear in the order of a key that holds everything
// the encoding says about a task (its own fields, which CPU runs or queues it and where, its sleep node).
// Any representative function is sound for reachability; this one is canonical unless two tasks of a
// class differ only in their order inside one sleep-table bucket (then an orbit may get two
// representatives, which costs reduction, not soundness).
import { copyLinuxGuestState, encodeLinuxGuest } from '../../guest/x86/linux/encode.ts';
import { KPC_USER, type LinuxGuestState, newLinuxGuestState } from '../../guest/x86/linux/state.ts';
import { LinuxAdapter } from './linux_adapter.ts';
import type { X86World } from './world.ts';

const KEY_WORDS = 14;

export class TaskSymmetry {
  /** Classes of interchangeable tasks, each of size ≥ 2, ascending ids. */
  readonly classes: readonly (readonly number[])[];
  private readonly scratch: LinuxGuestState;
  private readonly perm: Int32Array;
  private readonly keys: Float64Array;
  private readonly order: number[] = [];

  private constructor(classes: number[][], template: LinuxGuestState) {
    this.classes = classes;
    this.scratch = newLinuxGuestState(template.config, template.ncpus);
    this.perm = new Int32Array(template.config.max_tasks);
    this.keys = new Float64Array(template.config.max_tasks * KEY_WORDS);
  }

  /** The symmetry of a Linux world's tasks, or null when no two tasks share a program. */
  static for(w: X86World): TaskSymmetry | null {
    const g = w.guest;
    if (!(g instanceof LinuxAdapter)) return null;
    const byProgram = new Map<string, number[]>();
    for (let t = 0; t < g.state.nTasks; t++) {
      const k = JSON.stringify(g.program(t));
      byProgram.set(k, [...(byProgram.get(k) ?? []), t]);
    }
    const classes = [...byProgram.values()].filter((c) => c.length > 1);
    return classes.length ? new TaskSymmetry(classes, g.state) : null;
  }

  /** The reduction's upper bound: the size of the group. */
  get groupOrder(): number {
    let n = 1;
    for (const c of this.classes) for (let i = 2; i <= c.length; i++) n *= i;
    return n;
  }

  /** Rewrites the guest part of `out` (w's raw encoding) with its orbit representative's. */
  canonicalize(w: X86World, out: Int32Array): void {
    const g = w.guest as LinuxAdapter;
    const st = g.state;
    this.fillKeys(st);
    const perm = this.perm;
    for (let t = 0; t < perm.length; t++) perm[t] = t;
    let identity = true;
    for (const cls of this.classes) {
      const order = this.order;
      order.length = 0;
      for (const t of cls) order.push(t);
      order.sort((a, b) => this.compare(a, b));
      for (let i = 0; i < cls.length; i++) {
        perm[order[i]!] = cls[i]!;
        if (order[i] !== cls[i]) identity = false;
      }
    }
    if (identity) return;
    copyLinuxGuestState(st, this.scratch);
    permuteTasks(st, perm, this.scratch);
    encodeLinuxGuest(this.scratch, w.vm.mem, out, w.offsets.guest);
  }

  private compare(a: number, b: number): number {
    const k = this.keys;
    for (let i = 0; i < KEY_WORDS; i++) {
      const d = k[a * KEY_WORDS + i]! - k[b * KEY_WORDS + i]!;
      if (d !== 0) return d;
    }
    return a - b;
  }

  private fillKeys(st: LinuxGuestState): void {
    const k = this.keys;
    const ts = st.task;
    const s = st.sleepers;
    const n = st.config.max_tasks;
    k.fill(-1);
    for (let t = 0; t < n; t++) {
      const o = t * KEY_WORDS;
      k[o] = ts.state[t]!;
      k[o + 1] = ts.cpu[t]!;
      k[o + 2] = ts.kpc[t]!;
      k[o + 3] = ts.pc[t]!;
      const act = ts.actKind[t] !== 0;
      k[o + 4] = ts.actKind[t]!;
      k[o + 5] = act ? ts.actFlags[t]! : 0;
      k[o + 6] = act ? ts.actGpa[t]! : 0;
      k[o + 7] = act ? ts.actNs[t]! : 0;
      k[o + 8] = ts.kpc[t] !== KPC_USER ? ts.waitToken[t]! : 0;
      k[o + 9] = ts.host_apf_flags[t]!;
      k[o + 10] = s.linked[t] ? s.token[t]! : -1;
      k[o + 11] = s.linked[t] ? s.cpu[t]! : -1;
    }
    for (let c = 0; c < st.ncpus; c++) {
      const cur = st.cpu.curr[c]!;
      if (cur >= 0) k[cur * KEY_WORDS + 12] = c * (n + 1);
      for (let i = 0; i < st.cpu.rqLen[c]!; i++) {
        const t = st.cpu.rq[c * n + ((st.cpu.rqHead[c]! + i) % n)]!;
        k[t * KEY_WORDS + 13] = c * (n + 1) + i;
      }
    }
  }
}

/**
 * Writes into `to` (a copy of `from`) the state with task t renamed perm[t]: per-task arrays, the CPUs'
 * current tasks and runqueues, and the sleep table's task nodes (node i is task i's on-stack node).
 */
export function permuteTasks(from: LinuxGuestState, perm: Int32Array, to: LinuxGuestState): void {
  const n = from.config.max_tasks;
  const fa = from.task as unknown as Record<string, unknown>;
  const ta = to.task as unknown as Record<string, unknown>;
  for (const key of Object.keys(fa)) {
    const src = fa[key];
    if (!ArrayBuffer.isView(src)) continue;
    const s = src as unknown as Float64Array;
    const d = ta[key] as Float64Array;
    for (let t = 0; t < n; t++) d[perm[t]!] = s[t]!;
  }
  const map = (x: number): number => (x >= 0 && x < n ? perm[x]! : x);
  const fc = from.cpu;
  const tc = to.cpu;
  for (let c = 0; c < from.ncpus; c++) {
    tc.curr[c] = map(fc.curr[c]!);
    tc.haltNode[c] = map(fc.haltNode[c]!); // a legacy halted wait's node: a task's, or the idle task's
    for (let i = 0; i < n; i++) tc.rq[c * n + i] = map(fc.rq[c * n + i]!);
  }
  // Sleep nodes: task nodes are renamed, idle-CPU and dummy nodes keep their index. Every per-node array
  // (token, cpu, linked, halted, next) moves with its node; links are renamed.
  const fs = from.sleepers as unknown as Record<string, unknown> & { head: Int32Array; next: Int32Array };
  const tsl = to.sleepers as unknown as Record<string, unknown> & { head: Int32Array; next: Int32Array };
  const nodes = fs.next.length;
  for (let b = 0; b < fs.head.length; b++) tsl.head[b] = map(fs.head[b]!);
  for (const key of Object.keys(fs)) {
    const src = fs[key];
    if (key === 'head' || !ArrayBuffer.isView(src) || (src as Int32Array).length !== nodes) continue;
    const a = src as Int32Array;
    const d = tsl[key] as Int32Array;
    const links = key === 'next';
    for (let node = 0; node < nodes; node++) d[map(node)] = links ? map(a[node]!) : a[node]!;
  }
}
