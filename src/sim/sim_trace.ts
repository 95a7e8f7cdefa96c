// The simulator's traces. Chrome Trace Event JSON for Perfetto: the host is a process whose threads are
// the swap channels; each VM is a process whose threads are its vCPUs (what each step did, coalesced into
// slices) and its guest tasks (when they run); each APF token's life — 'not present' to the guest's wake
// — is a nestable async span with two children (the page-in, then the notification), and a flow arrow
// goes from the vCPU slice that took the 'not present' to the one that woke the task. Counters: swap
// queue depth and busy channels, resident memory per VM and in total. And ftrace text: the host model's
// kvm_*async_pf* tracepoints with the kernel's printk formats, one line per hit.
import { formatTracepoint, TP_KVM_ASYNC_PF_COMPLETED, TRACEPOINT_NAMES } from '../host/x86/trace.ts';
import type { ChromeTraceWriter } from '../trace/chrome.ts';
import type { FtraceWriter } from '../trace/ftrace.ts';
import { T_HALTED, T_IDLE } from './counters.ts';
import type { Simulator } from './simulator.ts';
import type { SimTracer } from './tracer.ts';

/** Names of the vCPU slice kinds (S_* of simulator.ts), index = kind. */
export const SLICE_NAMES = [
  'task',
  'EPT violation',
  'minor fault',
  'schedule',
  '#PF handler',
  'IRQ handler',
  'APF wait loop',
  'kernel',
  'HLT',
  'APF halt',
] as const;

export const HOST_PID = 1;
export const vmPid = (vm: number): number => 100 + vm;
export const vcpuTid = (vm: number, c: number): number => 1_000_000 + vm * 10_000 + c;
export const taskTid = (vm: number, t: number): number => 1_000_000 + vm * 10_000 + 100 + t;
export const swapTid = (ch: number): number => 1000 + ch;

const CAT = 'apf';
const MIB_PAGES = 256;

/** The slice being extended on a thread; `name` null when none (one object per thread, reused). */
interface OpenSlice {
  name: string | null;
  t0: number;
  t1: number;
}

export interface SimTraceWriters {
  chrome: ChromeTraceWriter | null;
  ftrace: FtraceWriter | null;
}

export class SimTrace implements SimTracer {
  readonly samplePeriod: number;
  private readonly chrome: ChromeTraceWriter | null;
  private readonly ftrace: FtraceWriter | null;
  /** Per global vCPU: the slice being extended, and the task slice (on the task's thread). */
  private vcpuOpen: OpenSlice[] = [];
  private taskOpen: OpenSlice[] = [];
  private taskOfVcpu: Int32Array = new Int32Array(0);
  /** "task N" and "on vCPU N", built once. */
  private readonly taskNames: string[] = [];
  private readonly onVcpuNames: string[] = [];
  /** Per global vCPU: pid and tid of its thread. */
  private vcpuPid: Int32Array = new Int32Array(0);
  private vcpuTidOf: Int32Array = new Int32Array(0);
  /** Live tokens: key → begin time, completion time (-1 before), async id. */
  private readonly live = new Map<number, { t0: number; tc: number; id: string }>();
  private lastQueued = -1;
  private lastBusy = -1;

  constructor(w: SimTraceWriters, samplePeriod: number) {
    this.chrome = w.chrome;
    this.ftrace = w.ftrace;
    this.samplePeriod = samplePeriod;
  }

  begin(sim: Simulator): void {
    const n = sim.vcpus.length;
    this.vcpuOpen = Array.from({ length: n }, () => ({ name: null, t0: 0, t1: 0 }));
    this.taskOpen = Array.from({ length: n }, () => ({ name: null, t0: 0, t1: 0 }));
    this.taskOfVcpu = new Int32Array(n).fill(-1);
    this.vcpuPid = new Int32Array(n);
    this.vcpuTidOf = new Int32Array(n);
    for (let g = 0; g < n; g++) {
      const vm = sim.vcpuVm[g]!;
      this.vcpuPid[g] = vmPid(vm);
      this.vcpuTidOf[g] = vcpuTid(vm, g - sim.vms[vm]!.firstVcpu);
    }
    const ch = this.chrome;
    if (ch === null) return;
    ch.processName(HOST_PID, 'host', 0);
    for (let k = 0; k < sim.swap.channels; k++) ch.threadName(HOST_PID, swapTid(k), `swap channel ${k}`, k);
    sim.vms.forEach((sv, i) => {
      const s = sv.spec;
      ch.processName(vmPid(i), `${s.name} (apf: ${s.apf}, host ${s.era}, ${s.guest})`, i + 1);
      for (let c = 0; c < s.vcpus; c++) ch.threadName(vmPid(i), vcpuTid(i, c), `vCPU ${c}`, c);
      for (let t = 0; t < sv.nTasks; t++) ch.threadName(vmPid(i), taskTid(i, t), `task ${t}`, 100 + t);
    });
  }

  private flushVcpu(_sim: Simulator, g: number): void {
    const o = this.vcpuOpen[g]!;
    if (o.name === null || this.chrome === null) return;
    this.chrome.complete(this.vcpuPid[g]!, this.vcpuTidOf[g]!, 'vcpu', o.name, o.t0, o.t1 - o.t0);
    o.name = null;
  }

  private taskName(t: number): string {
    let n = this.taskNames[t];
    if (n === undefined) {
      n = `task ${t}`;
      this.taskNames[t] = n;
    }
    return n;
  }

  private flushTask(sim: Simulator, g: number): void {
    const o = this.taskOpen[g]!;
    if (o.name === null || this.chrome === null) return;
    const vm = sim.vcpuVm[g]!;
    this.chrome.complete(vmPid(vm), taskTid(vm, this.taskOfVcpu[g]!), 'task', o.name, o.t0, o.t1 - o.t0);
    o.name = null;
  }

  step(sim: Simulator, g: number, slice: number, task: number, t0: number, t1: number): void {
    if (this.chrome === null) return;
    const name = slice === 0 ? this.taskName(task) : SLICE_NAMES[slice]!;
    const o = this.vcpuOpen[g]!;
    if (o.name === name && o.t1 === t0) o.t1 = t1;
    else {
      this.flushVcpu(sim, g);
      o.name = name;
      o.t0 = t0;
      o.t1 = t1;
    }
    if (slice !== 0) return;
    const to = this.taskOpen[g]!;
    if (to.name !== null && this.taskOfVcpu[g] === task && to.t1 === t0) to.t1 = t1;
    else {
      this.flushTask(sim, g);
      this.taskOfVcpu[g] = task;
      const c = g - sim.vms[sim.vcpuVm[g]!]!.firstVcpu;
      let on = this.onVcpuNames[c];
      if (on === undefined) {
        on = `on vCPU ${c}`;
        this.onVcpuNames[c] = on;
      }
      to.name = on;
      to.t0 = t0;
      to.t1 = t1;
    }
  }

  blocked(sim: Simulator, g: number, cat: number, t0: number, t1: number): void {
    if (this.chrome === null) return;
    this.flushVcpu(sim, g);
    this.flushTask(sim, g);
    const vm = sim.vcpuVm[g]!;
    const c = g - sim.vms[vm]!.firstVcpu;
    const name = cat === T_IDLE ? 'idle (HLT)' : cat === T_HALTED ? 'artificial halt' : 'sync fault';
    this.chrome.complete(vmPid(vm), vcpuTid(vm, c), 'vcpu', name, t0, t1 - t0);
  }

  preempted(_sim: Simulator, g: number, t: number): void {
    const o = this.vcpuOpen[g]!;
    if (o.name !== null && o.t1 > t) o.t1 = t;
    const to = this.taskOpen[g]!;
    if (to.name !== null && to.t1 > t) to.t1 = t;
  }

  private key(g: number, token: number): number {
    return g * 4294967296 + token;
  }

  notPresent(sim: Simulator, g: number, token: number, gva: number, t: number): void {
    if (this.chrome === null) return;
    const k = this.key(g, token);
    if (this.live.has(k)) this.endToken(g, token, t, 'replaced');
    const vm = sim.vcpuVm[g]!;
    const hex = token.toString(16);
    const id = `vm${vm}.vcpu${g - sim.vms[vm]!.firstVcpu}.0x${hex}`;
    this.live.set(k, { t0: t, tc: -1, id });
    const pid = this.vcpuPid[g]!;
    const tid = this.vcpuTidOf[g]!;
    this.chrome.asyncBegin(pid, tid, CAT, `token 0x${hex}`, id, t, { gva: `0x${gva.toString(16)}` });
    this.chrome.flowStart(pid, tid, CAT, 'page ready', id, t);
  }

  completed(_sim: Simulator, g: number, token: number, t: number): void {
    const e = this.live.get(this.key(g, token));
    if (e === undefined || this.chrome === null) return;
    e.tc = t;
    const pid = this.vcpuPid[g]!;
    const tid = this.vcpuTidOf[g]!;
    this.chrome.asyncBegin(pid, tid, CAT, 'page-in', e.id, e.t0);
    this.chrome.asyncEnd(pid, tid, CAT, 'page-in', e.id, t);
  }

  tokenEnd(_sim: Simulator, g: number, token: number, t: number, woken: boolean): void {
    this.endToken(g, token, t, woken ? 'task woken' : 'halt ended');
  }

  private endToken(g: number, token: number, t: number, how: string): void {
    const k = this.key(g, token);
    const e = this.live.get(k);
    if (e === undefined || this.chrome === null) return;
    this.live.delete(k);
    const pid = this.vcpuPid[g]!;
    const tid = this.vcpuTidOf[g]!;
    if (e.tc >= 0) {
      this.chrome.asyncBegin(pid, tid, CAT, 'notify', e.id, e.tc);
      this.chrome.asyncEnd(pid, tid, CAT, 'notify', e.id, t);
    }
    this.chrome.asyncEnd(pid, tid, CAT, `token 0x${token.toString(16)}`, e.id, t, { end: how });
    this.chrome.flowEnd(pid, tid, CAT, 'page ready', e.id, t);
  }

  io(
    sim: Simulator,
    vm: number,
    gfn: number,
    channel: number,
    tSubmit: number,
    tStart: number,
    tDone: number,
  ): void {
    if (this.chrome === null) return;
    this.chrome.complete(HOST_PID, swapTid(channel), 'swap', 'page-in', tStart, tDone - tStart, {
      vm: sim.vms[vm]!.spec.name,
      gfn: `0x${gfn.toString(16)}`,
      queued_us: Math.round(tStart - tSubmit) / 1000,
    });
  }

  swapDepth(sim: Simulator, t: number): void {
    if (this.chrome === null) return;
    const q = sim.swap.qLen;
    const b = sim.swap.busy;
    if (q === this.lastQueued && b === this.lastBusy) return;
    this.lastQueued = q;
    this.lastBusy = b;
    this.chrome.counter(HOST_PID, 'swap', t, { queued: q, busy: b });
  }

  sample(sim: Simulator, t: number): void {
    if (this.chrome === null) return;
    this.chrome.counter(HOST_PID, 'resident MiB', t, { total: Math.round(sim.host.resident / MIB_PAGES) });
    for (let i = 0; i < sim.vms.length; i++)
      this.chrome.counter(vmPid(i), 'resident MiB', t, {
        resident: Math.round(sim.host.vmResident[i]! / MIB_PAGES),
      });
  }

  tracepoint(sim: Simulator, vm: number, g: number, tp: number, a: number, b: number, t: number): void {
    const f = this.ftrace;
    if (f === null) return;
    const c = g - sim.vms[vm]!.firstVcpu;
    const worker = tp === TP_KVM_ASYNC_PF_COMPLETED;
    f.line({
      comm: worker ? `kworker/${g}:1` : `CPU ${c}/KVM`,
      pid: worker ? 100 + g : 1000 + vm * 100 + c,
      cpu: g,
      timeNs: t,
      event: TRACEPOINT_NAMES[tp]!,
      text: formatTracepoint(tp, a, b),
    });
  }

  end(sim: Simulator, t: number): void {
    for (let g = 0; g < this.vcpuOpen.length; g++) {
      const o = this.vcpuOpen[g]!;
      if (o.name !== null && o.t1 > t) o.t1 = t;
      const to = this.taskOpen[g]!;
      if (to.name !== null && to.t1 > t) to.t1 = t;
      this.flushVcpu(sim, g);
      this.flushTask(sim, g);
      if (sim.blocked[g] !== 0 && sim.blockedSince[g]! < t)
        this.blocked(sim, g, sim.blockedCat[g]!, sim.blockedSince[g]!, t);
    }
    for (const k of [...this.live.keys()].sort((x, y) => x - y)) {
      const g = Math.floor(k / 4294967296);
      this.endToken(g, k - g * 4294967296, t, 'outstanding at end');
    }
    this.sample(sim, t);
    this.chrome?.close();
    this.ftrace?.close();
  }
}
