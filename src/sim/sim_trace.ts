// The simulator's traces. Chrome Trace Event JSON for Perfetto: the host is a process whose threads are
// the swap channels; each VM is a process whose threads are its vCPUs (what each step did, coalesced into
// slices; a step that took no time is an instant) and its guest tasks (when they run); each APF token's
// life — 'not present' to the guest's wake — is a nestable async span with two children (the page-in,
// then the notification), and a flow arrow goes from the vCPU slice that took the 'not present' to the
// one that woke the task. The spans of one vCPU share three names ("vCPU c token", "… page-in",
// "… notify"; the token in the args), so a viewer that groups async events by name draws a few tracks
// per vCPU, not one per token. Counters: swap queue depth and busy channels, resident memory per VM and
// in total. And ftrace text: the host model's kvm_*async_pf* tracepoints with the kernel's printk
// formats, one line per hit. Both outputs number processes and threads from one allocator (TraceIds):
// a vCPU thread's ftrace pid is its tid in the JSON, and no number means two things.
//
// Nothing is written after the run's end: a step still running then is cut there, one that had not
// begun is dropped.
//
// Tracing is a hot path (a traced run writes an event every ~1.5 µs of its wall time), so everything
// that repeats is encoded once (chrome.ts / ftrace.ts): the event kinds below, each thread's track,
// each vCPU's token ids (a token's number is printed straight into them), the counters, the ftrace task
// columns and printk formats. Numbers are printed straight into the output buffer.
import {
  ALL_TRACEPOINT_NAMES,
  formatKvmEvent,
  formatTracepoint,
  TP_KVM_ASYNC_PF_COMPLETED,
  TP_KVM_ASYNC_PF_NOT_PRESENT,
  TP_KVM_ASYNC_PF_READY,
  TRACEPOINT_NAMES,
} from '../host/x86/trace.ts';
import {
  ArgsLayout,
  type ChromeTraceWriter,
  CounterTrack,
  EventKind,
  FixedArgs,
  HexIds,
  Track,
} from '../trace/chrome.ts';
import { type EventFilter, parseEvents } from '../trace/events_filter.ts';
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
/** The first number TraceIds hands out (below it: the host process, as `init` would be). */
const FIRST_ID = 100;

/**
 * The process and thread ids of both traces, handed out in order from FIRST_ID, as a kernel hands
 * out pids: the swap channels' threads, the async-PF workers (one per vCPU, ftrace only), then per VM
 * its process, its vCPU threads and its tasks' threads. So every number is one thread or process, in
 * both outputs, whatever the scenario's size.
 */
export class TraceIds {
  readonly swap: number[] = [];
  /** Per global vCPU: its async-PF worker (`kworker/g:1`). */
  readonly worker: number[] = [];
  readonly vm: number[] = [];
  /** Per global vCPU: its thread (`CPU c/KVM`). */
  readonly vcpu: number[] = [];
  /** Per VM, per task: the task's thread. */
  readonly task: number[][] = [];

  constructor(swapChannels: number, vms: readonly { vcpus: number; tasks: number }[]) {
    let next = FIRST_ID;
    for (let k = 0; k < swapChannels; k++) this.swap.push(next++);
    const nv = vms.reduce((n, v) => n + v.vcpus, 0);
    for (let g = 0; g < nv; g++) this.worker.push(next++);
    for (const v of vms) {
      this.vm.push(next++);
      for (let c = 0; c < v.vcpus; c++) this.vcpu.push(next++);
      const tasks: number[] = [];
      for (let t = 0; t < v.tasks; t++) tasks.push(next++);
      this.task.push(tasks);
    }
  }

  static of(sim: SimState): TraceIds {
    return new TraceIds(
      sim.swap.channels,
      sim.vms.map((sv) => ({ vcpus: sv.spec.vcpus, tasks: sv.nTasks })),
    );
  }
}

const CAT = 'apf';
const MIB_PAGES = 256;

/** The vCPU slice kinds, index = kind (index 0, 'task', is named after the task instead). */
const SLICE_KINDS = SLICE_NAMES.map((n) => new EventKind('X', 'vcpu', n));
/** The same as instants, for steps that took no time (an EPT violation exit is one); none for 'task'. */
const SLICE_INSTANTS = SLICE_NAMES.map((n, i) => (i === 0 ? null : new EventKind('i', 'vcpu', n)));
/** Blocked vCPU slices: T_IDLE, T_HALTED, anything else (a sync fault). */
const IDLE = new EventKind('X', 'vcpu', 'idle (HLT)');
const HALTED = new EventKind('X', 'vcpu', 'artificial halt');
const SYNC_FAULT = new EventKind('X', 'vcpu', 'sync fault');
const SWAP_PAGE_IN = new EventKind('X', 'swap', 'page-in');
/** A vCPU's token spans, their child spans (named per vCPU: see the file's comment). */
interface SpanKinds {
  tokenBegin: EventKind;
  tokenEnd: EventKind;
  pageInBegin: EventKind;
  pageInEnd: EventKind;
  notifyBegin: EventKind;
  notifyEnd: EventKind;
}
const spanKinds = (c: number): SpanKinds => ({
  tokenBegin: new EventKind('b', CAT, `vCPU ${c} token`),
  tokenEnd: new EventKind('e', CAT, `vCPU ${c} token`),
  pageInBegin: new EventKind('b', CAT, `vCPU ${c} page-in`),
  pageInEnd: new EventKind('e', CAT, `vCPU ${c} page-in`),
  notifyBegin: new EventKind('b', CAT, `vCPU ${c} notify`),
  notifyEnd: new EventKind('e', CAT, `vCPU ${c} notify`),
});
/** The flow arrow of a token. */
const FLOW_START = new EventKind('s', CAT, 'page ready');
const FLOW_END = new EventKind('f', CAT, 'page ready');
/**
 * The tracepoints as thread instants on the vCPU (the worker's completion too: the vCPU's worker has no
 * thread in the JSON), named as the kernel names them, with their fields (a, b) as hex args.
 */
const TP_KINDS = ALL_TRACEPOINT_NAMES.map((n) => new EventKind('i', 'tracepoint', n));
const TP_ARGS = TRACEPOINT_NAMES.map((_, tp) => {
  const keys =
    tp === TP_KVM_ASYNC_PF_COMPLETED
      ? ['address', 'gva']
      : tp === TP_KVM_ASYNC_PF_NOT_PRESENT || tp === TP_KVM_ASYNC_PF_READY
        ? ['token', 'gva']
        : ['gva', 'gfn'];
  return new ArgsLayout(keys, keys);
});

/** How a token's span ends. */
const END_REPLACED = new FixedArgs({ end: 'replaced' });
const END_WOKEN = new FixedArgs({ end: 'task woken' });
const END_HALT = new FixedArgs({ end: 'halt ended' });
const END_OUTSTANDING = new FixedArgs({ end: 'outstanding at end' });
/** A token's begin: the token and the faulting address; a swap page-in: its VM, frame, and time queued. */
const TOKEN_ARGS = new ArgsLayout(['token', 'gva'], ['token', 'gva']);
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

/** The ftrace task of vCPU g (index c of its VM): its thread `CPU c/KVM` (QEMU's name), on host CPU g. */
const vcpuFtraceTask = (pid: number, g: number, c: number): FtraceTask =>
  new FtraceTask(`CPU ${c}/KVM`, pid, g);
/** The ftrace task of vCPU g's async-PF worker, which completes its page-ins: `kworker/g:1`. */
const workerFtraceTask = (pid: number, g: number): FtraceTask => new FtraceTask(`kworker/${g}:1`, pid, g);

/**
 * The slice being extended on a thread; `kind` null when none (one object per thread, reused). `inst`:
 * the kind to write if it took no time (null: write nothing — a task that ran for no time).
 */
interface OpenSlice {
  kind: EventKind | null;
  inst: EventKind | null;
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
  /** Per global vCPU: its tokens' async ids, `vm<i>.vcpu<c>.0x<token>`, and its span kinds. */
  private tokenIds: HexIds[] = [];
  private spans: SpanKinds[] = [];
  private ids: TraceIds = new TraceIds(0, []);
  /** The run's end: nothing is written after it. */
  private endNs = Number.POSITIVE_INFINITY;
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

  /** The traced window (--trace-window): nothing before `winStart` or after `winEnd` is written. */
  private readonly winStart: number;
  private readonly winEnd: number;
  /** Per TP_* id (host/x86/trace.ts): whether `--events` records it. */
  private readonly tpOn: boolean[];
  readonly kvmEvents: boolean;

  /** `events`: what --events names (absent: the async-PF tracepoints, as always). */
  constructor(
    w: SimTraceWriters,
    samplePeriod: number,
    window?: { start: number; end: number },
    events: EventFilter = parseEvents('--events'),
  ) {
    this.tpOn = events.byTracepoint();
    this.kvmEvents = events.anyKvmEvent;
    this.winStart = window?.start ?? 0;
    this.winEnd = window?.end ?? Number.POSITIVE_INFINITY;
    this.chrome = w.chrome;
    this.ftrace = w.ftrace;
    this.samplePeriod = samplePeriod;
    this.tpFormats = w.ftrace === null ? [] : TRACEPOINT_NAMES.map((_, tp) => tracepointFormat(tp));
  }

  begin(sim: SimState): void {
    const n = sim.vcpus.length;
    const ids = TraceIds.of(sim);
    this.ids = ids;
    // Each vCPU thread runs on host CPU g (its global index): the machine has one CPU per vCPU.
    if (this.ftrace !== null) this.ftrace.cpus = Math.max(1, n);
    this.endNs = this.limit(sim);
    this.vcpuOpen = Array.from({ length: n }, () => ({ kind: null, inst: null, t0: 0, t1: 0 }));
    this.taskOpen = Array.from({ length: n }, () => ({ kind: null, inst: null, t0: 0, t1: 0 }));
    this.taskOfVcpu = new Int32Array(n).fill(-1);
    this.vcpuTracks = [];
    this.tokenIds = [];
    this.spans = [];
    this.vcpuFtrace = [];
    this.workerFtrace = [];
    for (let g = 0; g < n; g++) {
      const vm = sim.vcpuVm[g]!;
      const c = g - sim.vms[vm]!.firstVcpu;
      this.vcpuTracks.push(new Track(ids.vm[vm]!, ids.vcpu[g]!));
      this.tokenIds.push(new HexIds(`vm${vm}.vcpu${c}.0x`));
      this.spans.push(spanKinds(c));
      this.vcpuFtrace.push(vcpuFtraceTask(ids.vcpu[g]!, g, c));
      this.workerFtrace.push(workerFtraceTask(ids.worker[g]!, g));
    }
    this.taskTracks = sim.vms.map(() => []);
    this.swapTracks = ids.swap.map((tid) => new Track(HOST_PID, tid));
    this.swapCounter = new CounterTrack(HOST_PID, 'swap', ['queued', 'busy']);
    this.totalCounter = new CounterTrack(HOST_PID, 'resident MiB', ['total']);
    this.vmCounters = ids.vm.map((pid) => new CounterTrack(pid, 'resident MiB', ['resident']));
    const ch = this.chrome;
    if (ch === null) return;
    ch.processName(HOST_PID, 'host', 0);
    ids.swap.forEach((tid, k) => {
      ch.threadName(HOST_PID, tid, `swap channel ${k}`, k);
    });
    sim.vms.forEach((sv, i) => {
      const s = sv.spec;
      const pid = ids.vm[i]!;
      ch.processName(pid, `${s.name} (apf: ${s.apf}, host ${s.era}, ${s.guest})`, i + 1);
      for (let c = 0; c < s.vcpus; c++) ch.threadName(pid, ids.vcpu[sv.firstVcpu + c]!, `vCPU ${c}`, c);
      for (let t = 0; t < sv.nTasks; t++) ch.threadName(pid, ids.task[i]![t]!, `task ${t}`, 100 + t);
    });
  }

  /** The last time written: the run's end (it moves: see step()), or the window's if sooner. */
  private limit(sim: SimState): number {
    return Math.min(sim.endTime, this.winEnd);
  }

  /** Whether t is outside the traced period. */
  private outside(sim: SimState, t: number): boolean {
    return t < this.winStart || t > this.limit(sim);
  }

  /**
   * Writes an open slice, cut to the traced period: an instant if it is shorter than half a ns,
   * nothing if it has no instant kind or lies outside.
   */
  private writeOpen(o: OpenSlice, track: Track): void {
    const ch = this.chrome!;
    const t1 = Math.min(o.t1, this.endNs);
    const t0 = Math.max(o.t0, this.winStart);
    if (Math.round(t1) > Math.round(t0)) ch.slice(o.kind!, track, t0, t1);
    else if (o.inst !== null && o.t0 <= this.endNs && o.t0 >= this.winStart) ch.instant(o.inst, track, o.t0);
    o.kind = null;
  }

  private flushVcpu(g: number): void {
    const o = this.vcpuOpen[g]!;
    if (o.kind === null || this.chrome === null) return;
    this.writeOpen(o, this.vcpuTracks[g]!);
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
      k = new Track(this.ids.vm[vm]!, this.ids.task[vm]![t]!);
      tracks[t] = k;
    }
    return k;
  }

  private flushTask(sim: SimState, g: number): void {
    const o = this.taskOpen[g]!;
    if (o.kind === null || this.chrome === null) return;
    this.writeOpen(o, this.taskTrack(sim.vcpuVm[g]!, this.taskOfVcpu[g]!));
  }

  step(sim: SimState, g: number, slice: number, task: number, t0: number, t1: number): void {
    if (this.chrome === null) return;
    // The end moves (an automatic warm-up sets it when it ends; a budget, when it stops the run).
    this.endNs = this.limit(sim);
    if (t0 > this.endNs) return;
    // Kinds are made once per name, so the same kind is the same name.
    const kind = slice === 0 ? this.taskKind(task) : SLICE_KINDS[slice]!;
    const o = this.vcpuOpen[g]!;
    if (o.kind === kind && o.t1 === t0) o.t1 = t1;
    else {
      this.flushVcpu(g);
      o.kind = kind;
      o.inst = SLICE_INSTANTS[slice]!;
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
    this.endNs = this.limit(sim);
    this.flushVcpu(g);
    this.flushTask(sim, g);
    const kind = cat === T_IDLE ? IDLE : cat === T_HALTED ? HALTED : SYNC_FAULT;
    // A wait of no time was no wait; one running past the end is cut there.
    const end = Math.min(t1, this.endNs);
    const start = Math.max(t0, this.winStart);
    if (Math.round(end) > Math.round(start)) this.chrome.slice(kind, this.vcpuTracks[g]!, start, end);
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

  notPresent(sim: SimState, g: number, token: number, gva: number, t: number): void {
    if (this.chrome === null || this.outside(sim, t)) return;
    const k = this.key(g, token);
    if (this.live.has(k)) this.endToken(g, token, t, END_REPLACED);
    this.live.set(k, { t0: t, tc: -1 });
    const track = this.vcpuTracks[g]!;
    const ids = this.tokenIds[g]!;
    TOKEN_ARGS.values[0] = token;
    TOKEN_ARGS.values[1] = gva;
    this.chrome.span(this.spans[g]!.tokenBegin, track, ids, token, t, TOKEN_ARGS);
    this.chrome.flow(FLOW_START, track, ids, token, t);
  }

  completed(sim: SimState, g: number, token: number, t: number): void {
    const e = this.live.get(this.key(g, token));
    if (e === undefined || this.chrome === null || t > this.limit(sim)) return;
    e.tc = t;
    const track = this.vcpuTracks[g]!;
    const ids = this.tokenIds[g]!;
    const sk = this.spans[g]!;
    this.chrome.span(sk.pageInBegin, track, ids, token, e.t0);
    this.chrome.span(sk.pageInEnd, track, ids, token, t);
  }

  tokenEnd(sim: SimState, g: number, token: number, t: number, woken: boolean): void {
    if (t > this.limit(sim)) return; // end() ends it, as outstanding
    this.endToken(g, token, t, woken ? END_WOKEN : END_HALT);
  }

  private endToken(g: number, token: number, t: number, how: FixedArgs): void {
    const k = this.key(g, token);
    const e = this.live.get(k);
    if (e === undefined || this.chrome === null) return;
    this.live.delete(k);
    const track = this.vcpuTracks[g]!;
    const ids = this.tokenIds[g]!;
    const sk = this.spans[g]!;
    if (e.tc >= 0) {
      this.chrome.span(sk.notifyBegin, track, ids, token, e.tc);
      this.chrome.span(sk.notifyEnd, track, ids, token, t);
    }
    this.chrome.span(sk.tokenEnd, track, ids, token, t, how);
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
    if (this.chrome === null || tStart >= this.limit(sim) || tDone <= this.winStart) return;
    const v = IO_ARGS.values;
    v[0] = sim.vms[vm]!.spec.name;
    v[1] = gfn;
    v[2] = Math.round(tStart - tSubmit) / 1000;
    this.chrome.slice(
      SWAP_PAGE_IN,
      this.swapTracks[channel]!,
      Math.max(tStart, this.winStart),
      Math.min(tDone, this.limit(sim)),
      IO_ARGS,
    );
  }

  swapDepth(sim: SimState, t: number): void {
    if (this.chrome === null || this.outside(sim, t)) return;
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
    if (this.chrome === null || this.outside(sim, t)) return;
    const v = this.values;
    v[0] = Math.round(sim.host.resident / MIB_PAGES);
    this.chrome.counterAt(this.totalCounter!, t, v);
    for (let i = 0; i < sim.vms.length; i++) {
      v[0] = Math.round(sim.host.vmResident[i]! / MIB_PAGES);
      this.chrome.counterAt(this.vmCounters[i]!, t, v);
    }
  }

  tracepoint(sim: SimState, vm: number, g: number, tp: number, a: number, b: number, t: number): void {
    if (!this.tpOn[tp] || this.outside(sim, t)) return;
    const ch = this.chrome;
    if (ch !== null) {
      const args = TP_ARGS[tp]!;
      args.values[0] = a;
      args.values[1] = b;
      ch.instant(TP_KINDS[tp]!, this.vcpuTracks[g]!, t, args);
    }
    const f = this.ftrace;
    if (f === null) return;
    const task = this.ftraceTask(sim, vm, g, tp === TP_KVM_ASYNC_PF_COMPLETED);
    const fmt = this.tpFormats[tp];
    if (fmt !== undefined && fmt !== null) f.formatted(task, t, fmt, a, b);
    else f.lineOf(task, t, TRACEPOINT_NAMES[tp]!, formatTracepoint(tp, a, b));
  }

  /**
   * An exit, injection or MSR tracepoint: a thread instant on vCPU g with its printk text in the args,
   * and its ftrace line on the vCPU's thread. Made as text: these are opt-in (`--events`).
   */
  kvmEvent(
    sim: SimState,
    _vm: number,
    g: number,
    tp: number,
    a: number,
    b: number,
    c: number,
    x: bigint,
    xs: readonly bigint[] | null,
    t: number,
  ): void {
    if (!this.tpOn[tp] || this.outside(sim, t)) return;
    const text = formatKvmEvent(tp, sim.vcpus[g]!.vcpu_id, a, b, c, x, xs);
    this.chrome?.instant(TP_KINDS[tp]!, this.vcpuTracks[g]!, t, { text });
    this.ftrace?.lineOf(this.vcpuFtrace[g]!, t, ALL_TRACEPOINT_NAMES[tp]!, text);
  }

  /** The ftrace task of a tracepoint hit: vCPU g's worker, or its thread (made in begin()). */
  private ftraceTask(_sim: SimState, _vm: number, g: number, worker: boolean): FtraceTask {
    return worker ? this.workerFtrace[g]! : this.vcpuFtrace[g]!;
  }

  end(sim: SimState, tEnd: number): void {
    // The run's end, or the window's if sooner (nothing is written from the run after the window).
    const t = Math.min(tEnd, this.winEnd);
    this.endNs = t;
    for (let g = 0; g < this.vcpuOpen.length; g++) {
      // A step still running at the end is cut there; one that had not begun is dropped.
      for (const o of [this.vcpuOpen[g]!, this.taskOpen[g]!])
        if (o.kind !== null && o.t1 > t) {
          if (o.t0 < t) o.t1 = t;
          else o.kind = null;
        }
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
