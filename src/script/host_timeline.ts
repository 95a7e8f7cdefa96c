// The host side of a script run, shared by the bare-guest runner (runner.ts) and the Linux-guest runner
// (linux_runner.ts): the VM with its hooks, and the timeline on which async workers and synchronous
// fault-ins complete at the virtual time their page's backing delay says. Time only moves when a runner
// advances it; the transcript records collected here have no times in them, the ftrace lines do.

import { workPending } from '../host/x86/async_pf_work.ts';
import type { EraConfig } from '../host/x86/era.ts';
import { MC_EV_BUG } from '../host/x86/mmu_caches_vm.ts';
import { formatMmuTracepoint, MMU_TRACEPOINT_NAMES } from '../host/x86/mmu_notifier.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import {
  ALL_TRACEPOINT_NAMES,
  formatKvmEvent,
  formatTracepoint,
  TP_KVM_APIC_ACCEPT_IRQ,
  TP_KVM_ASYNC_PF_COMPLETED,
  TRACEPOINT_NAMES,
} from '../host/x86/trace.ts';
import type { KvmVcpu } from '../host/x86/vcpu.ts';
import { createVm, type KvmVm, type VmConfig } from '../host/x86/vm.ts';
import type { EventFilter } from '../trace/events_filter.ts';
import { formatFtraceLine } from '../trace/ftrace.ts';
import type { TranscriptRecord } from './transcript.ts';

export interface TimelineOptions {
  /** Put tracepoints in the transcript. */
  traceEvents?: boolean;
  /** Collect ftrace-format lines. */
  ftrace?: boolean;
  /**
   * The events the ftrace lines hold (`--events`); absent: the async-PF and MMU-notifier ones, as
   * always. The transcript's tracepoints (traceEvents) are not filtered.
   */
  events?: EventFilter;
}

/** The host task an ftrace line is attributed to: its comm, pid and CPU column. */
export interface HostTask {
  comm: string;
  pid: number;
  cpu: number;
}

/** The vCPU thread (QEMU's name for it) and the async worker of vCPU `n`, as the ftrace lines name them. */
const vcpuThread = (n: number): HostTask => ({ comm: `CPU ${n}/KVM`, pid: 1000 + n, cpu: n });
const asyncWorker = (n: number): HostTask => ({ comm: `kworker/${n}:1`, pid: 100 + n, cpu: n });

/** A completion due at virtual time `t` (ties in scheduling order). */
interface Timed {
  t: number;
  seq: number;
  kind: 'work' | 'sync';
  vcpu: number;
  slot: number;
  gen: number;
}

export class HostTimeline {
  readonly records: TranscriptRecord[];
  readonly ftrace: string[];
  readonly vm: KvmVm;
  /** Virtual time in nanoseconds. */
  now = 0;
  private readonly timeline: Timed[] = [];
  private readonly delays = new Map<number, number>();
  private readonly warned = new Set<string>();
  private seq = 0;
  /**
   * Who runs now, for the ftrace lines of the notifier tracepoints (which carry no vCPU): a host
   * memory operation's task while it runs (host_mm.ts), else the vCPU thread that last stepped, or the
   * async worker / vCPU thread of a completion that is firing.
   */
  task: HostTask = vcpuThread(0);

  constructor(
    era: EraConfig,
    config: VmConfig,
    /** Records carry `vcpu` (more than one vCPU). */
    readonly multi: boolean,
    private readonly opts: TimelineOptions,
    /**
     * Migration (runner.ts `migrate`): the destination host goes on with the source's transcript, ftrace
     * lines and virtual time; the source's pending completions stay behind with it.
     */
    from?: HostTimeline,
  ) {
    this.records = from?.records ?? [];
    this.ftrace = from?.ftrace ?? [];
    this.now = from?.now ?? 0;
    this.vm = createVm(era, config);
    this.vm.hooks = {
      asyncWorkQueued: (vcpu, slot) =>
        this.schedule('work', vcpu, slot, vcpu.async_pf.wGen[slot]!, vcpu.async_pf.wGfn[slot]!),
      syncFault: (vcpu, gfn) => this.schedule('sync', vcpu, -1, 0, gfn),
      kick: () => {},
      warn: (vcpu, message) => {
        // WARN_ON_ONCE: one splat per call site.
        if (this.warned.has(message)) return;
        this.warned.add(message);
        this.records.push({ event: 'host_warning', ...(this.multi ? { vcpu: vcpu.vcpu_id } : {}), message });
      },
      memcacheEvent: (vcpu, ev, message) => {
        if (ev === MC_EV_BUG)
          this.records.push({ event: 'host_bug', ...(this.multi ? { vcpu: vcpu.vcpu_id } : {}), message });
      },
      trace: opts.traceEvents || opts.ftrace ? (v, tp, a, b) => this.trace(v, tp, a, b) : null,
      mmuTrace: opts.traceEvents || opts.ftrace ? (tp, start, end) => this.mmuTrace(tp, start, end) : null,
      kvmTrace:
        opts.ftrace && opts.events?.anyKvmEvent
          ? (v, tp, a, b, c, x, xs) => this.kvmTrace(v, tp, a, b, c, x, xs)
          : null,
    };
  }

  /** The VMM's KVM_SET_MSRS of one MSR between runs (the vCPU is outside KVM_RUN); whether it was processed. */
  setMsr(vcpu: number, msr: number, value: bigint): boolean {
    return applyX86Step(this.vm, { kind: 'host_set_msr', vcpu, msr, value, exit: false }) === 1;
  }

  /** The host page of `gfn` is missing; faulting it in (async worker or blocking GUP) takes `delayNs`. */
  setBacking(gfn: number, delayNs: number): void {
    this.delays.set(gfn, delayNs);
    applyX86Step(this.vm, { kind: 'host_reclaim', gfn });
  }

  private schedule(kind: Timed['kind'], vcpu: KvmVcpu, slot: number, gen: number, gfn: number): void {
    const t = this.now + (this.delays.get(gfn) ?? 0);
    this.timeline.push({ t, seq: this.seq++, kind, vcpu: vcpu.vcpu_id, slot, gen });
    this.timeline.sort((a, b) => a.t - b.t || a.seq - b.seq);
  }

  /** The time of the next timed event, or Infinity when there is none. */
  nextTime(): number {
    return this.timeline.length > 0 ? this.timeline[0]!.t : Number.POSITIVE_INFINITY;
  }

  /** Fires timed events due by `now`. */
  fireDue(): void {
    while (this.timeline.length > 0 && this.timeline[0]!.t <= this.now) this.fire(this.timeline.shift()!);
  }

  /** Advances time to the next timed event and fires it; false when there is none. */
  advance(): boolean {
    const e = this.timeline.shift();
    if (e === undefined) return false;
    this.now = Math.max(this.now, e.t);
    this.fire(e);
    return true;
  }

  /** The vCPU thread of `vcpu` is about to step (attribution of host-side tracepoints it causes). */
  running(vcpu: number): void {
    if (this.task.pid !== 1000 + vcpu) this.task = vcpuThread(vcpu);
  }

  private fire(e: Timed): void {
    const vcpu = this.vm.vcpus[e.vcpu]!;
    this.task = e.kind === 'work' ? asyncWorker(e.vcpu) : vcpuThread(e.vcpu);
    if (e.kind === 'work') {
      if (workPending(vcpu.async_pf, e.slot, e.gen))
        applyX86Step(this.vm, { kind: 'work', vcpu: e.vcpu, slot: e.slot });
    } else applyX86Step(this.vm, { kind: 'sync_done', vcpu: e.vcpu });
  }

  /**
   * A notifier tracepoint (start, end: host virtual addresses). It belongs to no vCPU: the transcript
   * record has no `vcpu`, and the ftrace line names the task that ran the host operation (`task`).
   */
  private mmuTrace(tp: number, start: number, end: number): void {
    const name = MMU_TRACEPOINT_NAMES[tp]!;
    const text = formatMmuTracepoint(tp, start, end);
    if (this.opts.traceEvents) this.records.push({ trace: name, text });
    if (this.opts.ftrace && (this.opts.events?.has(name) ?? true))
      this.ftrace.push(formatFtraceLine({ ...this.task, timeNs: this.now, event: name, text }));
  }

  private trace(vcpu: number, tp: number, a: number, b: number): void {
    const name = TRACEPOINT_NAMES[tp]!;
    const text = formatTracepoint(tp, a, b);
    if (this.opts.traceEvents) this.records.push({ trace: name, ...(this.multi ? { vcpu } : {}), text });
    if (this.opts.ftrace && (this.opts.events?.has(name) ?? true)) {
      const worker = tp === TP_KVM_ASYNC_PF_COMPLETED;
      this.ftrace.push(
        formatFtraceLine({
          comm: worker ? `kworker/${vcpu}:1` : `CPU ${vcpu}/KVM`,
          pid: worker ? 100 + vcpu : 1000 + vcpu,
          cpu: vcpu,
          timeNs: this.now,
          event: name,
          text,
        }),
      );
    }
  }

  /**
   * An exit, injection or MSR tracepoint (ftrace only): on the vCPU's thread, but kvm_apic_accept_irq on
   * the task that sent the interrupt (the one running now).
   */
  private kvmTrace(
    vcpu: number,
    tp: number,
    a: number,
    b: number,
    c: number,
    x: bigint,
    xs: readonly bigint[] | null,
  ): void {
    const name = ALL_TRACEPOINT_NAMES[tp]!;
    if (!this.opts.events!.has(name)) return;
    const task = tp === TP_KVM_APIC_ACCEPT_IRQ ? this.task : vcpuThread(vcpu);
    const text = formatKvmEvent(tp, vcpu, a, b, c, x, xs);
    this.ftrace.push(formatFtraceLine({ ...task, timeNs: this.now, event: name, text }));
  }
}
