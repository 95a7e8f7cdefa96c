// The simulator's traces. Chrome Trace Event JSON for Perfetto: the host is a process whose threads are
// the swap channels; each VM is a process whose threads are its vCPUs (what each step did, coalesced into
// slices) and its guest tasks (when they run); each APF token's life — 'not present' to the guest's wake
// — is a nestable async span with two children (the page-in, then the notification), and a flow arrow
// goes from the vCPU slice that took the 'not present' to the one that woke the task. Counters: swap
// queue depth and busy channels, resident memory per VM and in total. And ftrace text: the host model's
// kvm_*async_pf* tracepoints with the kernel's printk formats, one line per hit.
//
// Tracing is a hot path (a traced run writes an event every ~1.5 µs of its wall time), so everything
// that repeats is encoded once (chrome.ts / ftrace.ts): the event kinds below, each thread's track,
// each vCPU's token ids (a token's number is printed straight into them), the counters, the ftrace task
// columns and printk formats. Numbers are printed straight into the output buffer.
import { formatTracepoint, TP_KVM_ASYNC_PF_COMPLETED, TRACEPOINT_NAMES } from '../host/x86/trace.ts';
import {
  ArgsLayout,
  type ChromeTraceWriter,
  CounterTrack,
  EventKind,
  FixedArgs,
  HexIds,
  Track,
} from '../trace/chrome.ts';
import { FtraceFormat, FtraceTask, type FtraceWriter } from '../trace/ftrace.ts';
import { T_HALTED, T_IDLE } from './counters.ts';
import type { SimState } from './sim_state.ts';
import type { SimTracer } from './tracer.ts';

/** Names of the vCPU slice kinds (S_* of vcpu_step.ts), index = kind. */
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

/** The vCPU slice kinds, index = kind (index 0, 'task', is named after the task instead). */
const SLICE_KINDS = SLICE_NAMES.map((n) => new EventKind('X', 'vcpu', n));
/** Blocked vCPU slices: T_IDLE, T_HALTED, anything else (a sync fault). */
const IDLE = new EventKind('X', 'vcpu', 'idle (HLT)');
const HALTED = new EventKind('X', 'vcpu', 'artificial halt');
const SYNC_FAULT = new EventKind('X', 'vcpu', 'sync fault');
const SWAP_PAGE_IN = new EventKind('X', 'swap', 'page-in');
/** A token's span (named after the token), its child spans and its flow arrow. */
const TOKEN_BEGIN = EventKind.numbered('b', CAT, 'token 0x');
const TOKEN_END = EventKind.numbered('e', CAT, 'token 0x');
const PAGE_IN_BEGIN = new EventKind('b', CAT, 'page-in');
const PAGE_IN_END = new EventKind('e', CAT, 'page-in');
const NOTIFY_BEGIN = new EventKind('b', CAT, 'notify');
const NOTIFY_END = new EventKind('e', CAT, 'notify');
const FLOW_START = new EventKind('s', CAT, 'page ready');
const FLOW_END = new EventKind('f', CAT, 'page ready');
/** How a token's span ends. */
const END_REPLACED = new FixedArgs({ end: 'replaced' });
const END_WOKEN = new FixedArgs({ end: 'task woken' });
const END_HALT = new FixedArgs({ end: 'halt ended' });
const END_OUTSTANDING = new FixedArgs({ end: 'outstanding at end' });
/** A token's begin: the faulting address; a swap page-in: its VM, frame, and time queued. */
const GVA_ARGS = new ArgsLayout(['gva'], ['gva']);
const IO_ARGS = new ArgsLayout(['vm', 'gfn', 'queued_us'], ['gfn']);

/**
 * formatTracepoint(tp, a, b) as an FtraceFormat, so a line's fields are printed straight into the
 * buffer; null if its text is not literal pieces around `toString(16)` of a and b. The printk formats
 * stay in host/x86/trace.ts: they are read off the text of two marker values, and checked on a few more.
 */
export function tracepointFormat(tp: number): FtraceFormat | null {
  const A = 0xa1a2a3a4a5;
  const B = 0xb1b2b3b4b5;
  const pieces: string[] = [];
  const fields: number[] = [];
  const text = formatTracepoint(tp, A, B);
  const re = /a1a2a3a4a5|b1b2b3b4b5/g;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    pieces.push(text.slice(last, m.index));
    fields.push(m[0] === 'a1a2a3a4a5' ? 0 : 1);
    last = m.index + m[0].length;
  }
  pieces.push(text.slice(last));
  const fmt = new FtraceFormat(TRACEPOINT_NAMES[tp]!, pieces, fields);
  const samples = [0, 1, 0xf, 0x10, 0xffffffff, 0x100000000, 0x7fffdeadbeef, 2 ** 53 - 1];
  for (const a of samples)
    for (const b of samples) if (fmt.text(a, b) !== formatTracepoint(tp, a, b)) return null;
  return fmt;
}

/** The ftrace task of vCPU g (index c in VM vm): its thread `CPU c/KVM`, on host CPU g. */
const vcpuFtraceTask = (vm: number, g: number, c: number): FtraceTask =>
  new FtraceTask(`CPU ${c}/KVM`, 1000 + vm * 100 + c, g);
/** The ftrace task of vCPU g's async-PF worker, which completes its page-ins: `kworker/g:1`. */
const workerFtraceTask = (g: number): FtraceTask => new FtraceTask(`kworker/${g}:1`, 100 + g, g);

/** The slice being extended on a thread; `kind` null when none (one object per thread, reused). */
interface OpenSlice {
  kind: EventKind | null;
  t0: number;
  t1: number;
}

/** A live token: begin time, completion time (-1 before). */
interface LiveToken {
  t0: number;
  tc: number;
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
  /** "task N" (vCPU slices) and "on vCPU N" (task slices), made on first use. */
  private readonly taskKinds: EventKind[] = [];
  private readonly onVcpuKinds: EventKind[] = [];
  /** Per global vCPU: its thread; per VM and task: the task's thread (made on first use). */
  private vcpuTracks: Track[] = [];
  /** Per global vCPU: its tokens' async ids, `vm<i>.vcpu<c>.0x<token>`. */
  private tokenIds: HexIds[] = [];
  private taskTracks: Track[][] = [];
  private swapTracks: Track[] = [];
  /** Live tokens by key(). */
  private readonly live = new Map<number, LiveToken>();
  private lastQueued = -1;
  private lastBusy = -1;
  private swapCounter: CounterTrack | null = null;
  private totalCounter: CounterTrack | null = null;
  private vmCounters: CounterTrack[] = [];
  /** Reused counter values. */
  private readonly values = [0, 0];
  /** Per global vCPU: its ftrace task (`CPU c/KVM`) and its async-PF worker's (`kworker/g:1`). */
  private vcpuFtrace: FtraceTask[] = [];
  private workerFtrace: FtraceTask[] = [];
  /** Per tracepoint: its format, or null to print formatTracepoint's text (empty without ftrace). */
  private readonly tpFormats: (FtraceFormat | null)[];

  constructor(w: SimTraceWriters, samplePeriod: number) {
    this.chrome = w.chrome;
    this.ftrace = w.ftrace;
    this.samplePeriod = samplePeriod;
    this.tpFormats = w.ftrace === null ? [] : TRACEPOINT_NAMES.map((_, tp) => tracepointFormat(tp));
  }

  begin(sim: SimState): void {
    const n = sim.vcpus.length;
    this.vcpuOpen = Array.from({ length: n }, () => ({ kind: null, t0: 0, t1: 0 }));
    this.taskOpen = Array.from({ length: n }, () => ({ kind: null, t0: 0, t1: 0 }));
    this.taskOfVcpu = new Int32Array(n).fill(-1);
    this.vcpuTracks = [];
    this.tokenIds = [];
    this.vcpuFtrace = [];
    this.workerFtrace = [];
    for (let g = 0; g < n; g++) {
      const vm = sim.vcpuVm[g]!;
      const c = g - sim.vms[vm]!.firstVcpu;
      this.vcpuTracks.push(new Track(vmPid(vm), vcpuTid(vm, c)));
      this.tokenIds.push(new HexIds(`vm${vm}.vcpu${c}.0x`));
      this.vcpuFtrace.push(vcpuFtraceTask(vm, g, c));
      this.workerFtrace.push(workerFtraceTask(g));
    }
    this.taskTracks = sim.vms.map(() => []);
    this.swapTracks = Array.from({ length: sim.swap.channels }, (_, k) => new Track(HOST_PID, swapTid(k)));
    this.swapCounter = new CounterTrack(HOST_PID, 'swap', ['queued', 'busy']);
    this.totalCounter = new CounterTrack(HOST_PID, 'resident MiB', ['total']);
    this.vmCounters = sim.vms.map((_, i) => new CounterTrack(vmPid(i), 'resident MiB', ['resident']));
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

  private flushVcpu(g: number): void {
    const o = this.vcpuOpen[g]!;
    if (o.kind === null || this.chrome === null) return;
    this.chrome.slice(o.kind, this.vcpuTracks[g]!, o.t0, o.t1 - o.t0);
    o.kind = null;
  }

  /** The vCPU slice kind "task N". */
  private taskKind(t: number): EventKind {
    let k = this.taskKinds[t];
    if (k === undefined) {
      k = new EventKind('X', 'vcpu', `task ${t}`);
      this.taskKinds[t] = k;
    }
    return k;
  }

  /** The task slice kind "on vCPU N". */
  private onVcpuKind(c: number): EventKind {
    let k = this.onVcpuKinds[c];
    if (k === undefined) {
      k = new EventKind('X', 'task', `on vCPU ${c}`);
      this.onVcpuKinds[c] = k;
    }
    return k;
  }

  /** The thread of task t of VM vm. */
  private taskTrack(vm: number, t: number): Track {
    const tracks = this.taskTracks[vm]!;
    let k = tracks[t];
    if (k === undefined) {
      k = new Track(vmPid(vm), taskTid(vm, t));
      tracks[t] = k;
    }
    return k;
  }

  private flushTask(sim: SimState, g: number): void {
    const o = this.taskOpen[g]!;
    if (o.kind === null || this.chrome === null) return;
    this.chrome.slice(o.kind, this.taskTrack(sim.vcpuVm[g]!, this.taskOfVcpu[g]!), o.t0, o.t1 - o.t0);
    o.kind = null;
  }

  step(sim: SimState, g: number, slice: number, task: number, t0: number, t1: number): void {
    if (this.chrome === null) return;
    // Kinds are made once per name, so the same kind is the same name.
    const kind = slice === 0 ? this.taskKind(task) : SLICE_KINDS[slice]!;
    const o = this.vcpuOpen[g]!;
    if (o.kind === kind && o.t1 === t0) o.t1 = t1;
    else {
      this.flushVcpu(g);
      o.kind = kind;
      o.t0 = t0;
      o.t1 = t1;
    }
    if (slice !== 0) return;
    const to = this.taskOpen[g]!;
    if (to.kind !== null && this.taskOfVcpu[g] === task && to.t1 === t0) to.t1 = t1;
    else {
      this.flushTask(sim, g);
      this.taskOfVcpu[g] = task;
      to.kind = this.onVcpuKind(g - sim.vms[sim.vcpuVm[g]!]!.firstVcpu);
      to.t0 = t0;
      to.t1 = t1;
    }
  }

  blocked(sim: SimState, g: number, cat: number, t0: number, t1: number): void {
    if (this.chrome === null) return;
    this.flushVcpu(g);
    this.flushTask(sim, g);
    const kind = cat === T_IDLE ? IDLE : cat === T_HALTED ? HALTED : SYNC_FAULT;
    this.chrome.slice(kind, this.vcpuTracks[g]!, t0, t1 - t0);
  }

  preempted(_sim: SimState, g: number, t: number): void {
    // The open slice ends at the preemption; one that had not begun by then (a step charged ahead of the
    // interrupt's arrival) did not run and is dropped, rather than written with a negative duration.
    const o = this.vcpuOpen[g]!;
    if (o.kind !== null && o.t1 > t) {
      if (t > o.t0) o.t1 = t;
      else o.kind = null;
    }
    const to = this.taskOpen[g]!;
    if (to.kind !== null && to.t1 > t) {
      if (t > to.t0) to.t1 = t;
      else to.kind = null;
    }
  }

  private key(g: number, token: number): number {
    return g * 4294967296 + token;
  }

  notPresent(_sim: SimState, g: number, token: number, gva: number, t: number): void {
    if (this.chrome === null) return;
    const k = this.key(g, token);
    if (this.live.has(k)) this.endToken(g, token, t, END_REPLACED);
    this.live.set(k, { t0: t, tc: -1 });
    const track = this.vcpuTracks[g]!;
    const ids = this.tokenIds[g]!;
    GVA_ARGS.values[0] = gva;
    this.chrome.span(TOKEN_BEGIN, track, ids, token, t, GVA_ARGS);
    this.chrome.flow(FLOW_START, track, ids, token, t);
  }

  completed(_sim: SimState, g: number, token: number, t: number): void {
    const e = this.live.get(this.key(g, token));
    if (e === undefined || this.chrome === null) return;
    e.tc = t;
    const track = this.vcpuTracks[g]!;
    const ids = this.tokenIds[g]!;
    this.chrome.span(PAGE_IN_BEGIN, track, ids, token, e.t0);
    this.chrome.span(PAGE_IN_END, track, ids, token, t);
  }

  tokenEnd(_sim: SimState, g: number, token: number, t: number, woken: boolean): void {
    this.endToken(g, token, t, woken ? END_WOKEN : END_HALT);
  }

  private endToken(g: number, token: number, t: number, how: FixedArgs): void {
    const k = this.key(g, token);
    const e = this.live.get(k);
    if (e === undefined || this.chrome === null) return;
    this.live.delete(k);
    const track = this.vcpuTracks[g]!;
    const ids = this.tokenIds[g]!;
    if (e.tc >= 0) {
      this.chrome.span(NOTIFY_BEGIN, track, ids, token, e.tc);
      this.chrome.span(NOTIFY_END, track, ids, token, t);
    }
    this.chrome.span(TOKEN_END, track, ids, token, t, how);
    this.chrome.flow(FLOW_END, track, ids, token, t);
  }

  io(
    sim: SimState,
    vm: number,
    gfn: number,
    channel: number,
    tSubmit: number,
    tStart: number,
    tDone: number,
  ): void {
    if (this.chrome === null) return;
    const v = IO_ARGS.values;
    v[0] = sim.vms[vm]!.spec.name;
    v[1] = gfn;
    v[2] = Math.round(tStart - tSubmit) / 1000;
    this.chrome.slice(SWAP_PAGE_IN, this.swapTracks[channel]!, tStart, tDone - tStart, IO_ARGS);
  }

  swapDepth(sim: SimState, t: number): void {
    if (this.chrome === null) return;
    const q = sim.swap.qLen;
    const b = sim.swap.busy;
    if (q === this.lastQueued && b === this.lastBusy) return;
    this.lastQueued = q;
    this.lastBusy = b;
    const v = this.values;
    v[0] = q;
    v[1] = b;
    this.chrome.counterAt(this.swapCounter!, t, v);
  }

  sample(sim: SimState, t: number): void {
    if (this.chrome === null) return;
    const v = this.values;
    v[0] = Math.round(sim.host.resident / MIB_PAGES);
    this.chrome.counterAt(this.totalCounter!, t, v);
    for (let i = 0; i < sim.vms.length; i++) {
      v[0] = Math.round(sim.host.vmResident[i]! / MIB_PAGES);
      this.chrome.counterAt(this.vmCounters[i]!, t, v);
    }
  }

  tracepoint(sim: SimState, vm: number, g: number, tp: number, a: number, b: number, t: number): void {
    const f = this.ftrace;
    if (f === null) return;
    const task = this.ftraceTask(sim, vm, g, tp === TP_KVM_ASYNC_PF_COMPLETED);
    const fmt = this.tpFormats[tp];
    if (fmt !== undefined && fmt !== null) f.formatted(task, t, fmt, a, b);
    else f.lineOf(task, t, TRACEPOINT_NAMES[tp]!, formatTracepoint(tp, a, b));
  }

  /** The ftrace task of a tracepoint hit: vCPU g's worker, or its thread (made in begin() for its VM). */
  private ftraceTask(sim: SimState, vm: number, g: number, worker: boolean): FtraceTask {
    if (worker) return this.workerFtrace[g] ?? workerFtraceTask(g);
    const task = this.vcpuFtrace[g];
    return task !== undefined && sim.vcpuVm[g] === vm
      ? task
      : vcpuFtraceTask(vm, g, g - sim.vms[vm]!.firstVcpu);
  }

  end(sim: SimState, t: number): void {
    for (let g = 0; g < this.vcpuOpen.length; g++) {
      const o = this.vcpuOpen[g]!;
      if (o.kind !== null && o.t1 > t) o.t1 = t;
      const to = this.taskOpen[g]!;
      if (to.kind !== null && to.t1 > t) to.t1 = t;
      this.flushVcpu(g);
      this.flushTask(sim, g);
      if (sim.blocked[g] !== 0 && sim.blockedSince[g]! < t)
        this.blocked(sim, g, sim.blockedCat[g]!, sim.blockedSince[g]!, t);
    }
    for (const k of [...this.live.keys()].sort((x, y) => x - y)) {
      const g = Math.floor(k / 4294967296);
      this.endToken(g, k - g * 4294967296, t, END_OUTSTANDING);
    }
    this.sample(sim, t);
    this.chrome?.close();
    this.ftrace?.close();
  }
}
