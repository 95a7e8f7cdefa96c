// The simulator's state: one plain class holding everything a run reads and writes — the event heap and
// virtual time, the VMs, host memory and the swap device, and the per-vCPU / per-VM typed arrays — and the
// constructor that builds it from a scenario. The jobs of a run are free functions over this object, each
// in its own file; the comment on each field group names the file that writes it:
//
//   simulator.ts  the run loop and event dispatch, the host hooks (the public `Simulator`)
//   vcpu_step.ts  running a vCPU's steps and charging their costs (from the VM's StepEffects)
//   wake.ts       blocking, waking and preempting vCPUs (kicks)
//   page_in.ts    page-in requests: submit, the swap device, completion, prefault checks
//   latency.ts    tracepoint counts and page-ready latency (token) bookkeeping
//   control.ts    control events: end of warmup, the guest tick, trace samples
//
// It also owns the event encoding (payload = id << 2 | kind) and `schedule`, which every job uses to put
// a vCPU's next step on the heap. Nothing here imports those files, so there is no import cycle.

import { enableThp } from '../host/x86/mmu_hugepage.ts';
import { AGE_CLEAR_FLUSH } from '../host/x86/mmu_notifier.ts';
import { HOST_MM_OPS, MM_RECLAIM } from '../host/x86/primary_mmu.ts';
import { applyX86Step, type X86Step } from '../host/x86/steps.ts';
import type { KvmVcpu } from '../host/x86/vcpu.ts';
import type { HostHooks, KvmVm } from '../host/x86/vm.ts';
import { Compaction } from './compaction.ts';
import type { SimCosts } from './costs.ts';
import { NCAT, NCOUNT } from './counters.ts';
import { compileDist } from './engine/dist.ts';
import { EventHeap } from './engine/heap.ts';
import { xoshiro128Stream } from './engine/rng.ts';
import { LogHistogram } from './histogram.ts';
import { HostMemory } from './host_memory.ts';
import { Khugepaged } from './khugepaged.ts';
import { Ksmd } from './ksm.ts';
import { initialResidentPages, KERNEL_PAGES, type SimScenario } from './load_sim.ts';
import { MmuLockTiming } from './mmu_lock.ts';
import { NumaBalancing } from './numa_balancing.ts';
import { createSimKvm, installSimGuest, type SimVm } from './sim_vm.ts';
import { SwapDevice } from './swap_device.ts';
import { TokenTable } from './token_table.ts';
import type { SimTracer } from './tracer.ts';

/** Event kinds (the low two bits of a heap payload). */
export const EV_VCPU = 0;
export const EV_SWAP = 1;
export const EV_CTRL = 2;

export interface SimOptions {
  /** Traces (Chrome JSON, ftrace), or null. */
  tracer?: SimTracer | null;
  /** Called about every 2^16 events with the fraction of virtual time done. */
  onProgress?: ((fraction: number) => void) | null;
  /**
   * Budgets (the CLI's --max-events and --max-time): stop after this many events, or when `shouldStop`
   * (asked every 2^16 events; the CLI reads its clock there, the model never does) says so. A stopped run
   * ends its measured period at the current virtual time and records why in `stopped`.
   */
  maxEvents?: number;
  shouldStop?: (() => boolean) | null;
}

/** `warmup: auto` checks every tenth of duration and gives up after this many checks. */
export const AUTO_WARMUP_MAX_CHECKS = 40;
export const autoWarmupPeriod = (sc: SimScenario): number => Math.max(1, Math.round(sc.duration / 10));
export const autoWarmupLimit = (sc: SimScenario): number => AUTO_WARMUP_MAX_CHECKS * autoWarmupPeriod(sc);

/** Builds the host hooks of VM `vmIdx`, whose vCPU 0 has global index `first` (simulator.ts). */
export type SimHooksFactory = (s: SimState, vmIdx: number, first: number) => HostHooks;

export class SimState {
  readonly scenario: SimScenario;
  readonly heap = new EventHeap(4096);
  now = 0;
  /** When the measured period ends (duration, or earlier with max_faults; with warmup: auto, decided). */
  endTime: number;
  /** When the measured period starts: the scenario's warmup, or when warmup: auto found steady state. */
  warmupAt: number;
  /** warmup: auto's totals (task ns, evictions) at each check (control.ts). */
  readonly autoHistory: [number, number][] = [];
  readonly vms: SimVm[] = [];
  readonly host: HostMemory;
  /** KSM's scanner, when the host runs it (host.ksm). */
  readonly ksm: Ksmd | null = null;
  /** Automatic NUMA balancing, when on (host.numa_balancing). */
  readonly numa: NumaBalancing | null = null;
  /** khugepaged and THP splits, when the host has THP (host.thp). */
  readonly thp: Khugepaged | null = null;
  /** kcompactd's proactive compaction, when on (host.compaction). */
  readonly compaction: Compaction | null = null;
  /** mmu_lock hold and wait times and the timed invalidation windows (mmu_lock.ts), with host.mmu_notifiers. */
  readonly mmuLock: MmuLockTiming | null = null;
  /**
   * Per VM × host memory operation (vm * HOST_MM_OPS.length + op): guest faults that were the first on
   * their page after that operation's invalidation zapped its SPTE, and the exit time of those faults
   * (vcpu_step.ts; with host.mmu_notifiers).
   */
  readonly refaultsBySrc: Float64Array;
  readonly refaultNsBySrc: Float64Array;
  readonly swap: SwapDevice;
  readonly costs: SimCosts;
  readonly tracer: SimTracer | null;
  readonly onProgress: ((fraction: number) => void) | null;
  readonly maxEvents: number;
  readonly shouldStop: (() => boolean) | null;
  /** Why the run stopped before its end: a budget (SimOptions), or null. */
  stopped: 'max-events' | 'max-time' | null = null;
  /** Events processed so far. */
  events = 0;

  // Per vCPU (global index g).
  readonly vcpus: KvmVcpu[] = [];
  readonly vcpuVm: Int32Array;
  /** Whether g has a live step event, and its time (an older event for g is stale); `schedule`. */
  readonly scheduled: Uint8Array;
  readonly nextAt: Float64Array;
  /** Blocked vCPUs: since when and in which time category (vcpu_step.ts, wake.ts). */
  readonly blocked: Uint8Array;
  readonly blockedSince: Float64Array;
  readonly blockedCat: Int8Array;
  /** The guest panicked: the vCPU runs nothing more (vcpu_step.ts). */
  readonly dead: Uint8Array;
  /** The interval of the last step or wakeup, and the time categories charged for it (vcpu_step.ts,
   * wake.ts; metrics.ts truncates them at a snapshot). */
  readonly stepStart: Float64Array;
  readonly stepEnd: Float64Array;
  readonly lastCost: Float64Array;
  /** The rest of a preempted compute burst, paid back in task context (wake.ts sets, vcpu_step.ts pays). */
  readonly debt: Float64Array;
  /** Prefault page-ins the vCPU thread waits for (page_in.ts). */
  readonly waitIo: Int32Array;
  /** An async attempt is under way in the current fault (latency.ts sets, the syncFault hook reads). */
  readonly tryFlag: Uint8Array;
  /** Time per category, vCPU g at g * NCAT (vcpu_step.ts, wake.ts). */
  readonly time: Float64Array;
  /** Queued async works and their time integral (vcpu_step.ts; control.ts resets the max). */
  readonly queuedNow: Int32Array;
  readonly queuedSince: Float64Array;
  readonly queuedMax: Int32Array;

  // Per VM.
  /** The simulator's counters, VM i at i * NCOUNT (every job). */
  readonly count: Float64Array;
  /** Page-ready bookkeeping (latency.ts, page_in.ts; control.ts resets at warmup). */
  readonly slotBusyMax: Float64Array;
  readonly pageReady: LogHistogram[] = [];
  readonly doneWait: LogHistogram[] = [];
  /** Global page index of each VM's gfn 0 (page_in.ts). */
  readonly vmPageBase: Float64Array;
  readonly tickPeriod: Float64Array;
  // Host-wide.
  readonly swapWait = new LogHistogram();
  readonly swapService = new LogHistogram();
  /** Completed tokens until the guest is told (page_in.ts adds, latency.ts ends). */
  readonly tokens: TokenTable;
  /** I/O requests submitted (page-ins needed by guest accesses), for max_faults. */
  faults = 0;
  panics = 0;
  /** The swap device's busy and queue time integrals and started count at the end of warmup. */
  swapAtWarmup: [number, number, number] = [0, 0, 0];
  /** Set when the warmup snapshot was taken (metrics.ts subtracts it). */
  warmupSnapshot: unknown = null;
  /**
   * Called at each batch boundary of the measured window (steady_state.ts) and at its start; metrics.ts
   * installs its recorder here. Null: no batch events are scheduled.
   */
  onBatch: ((sim: SimState) => void) | null = null;
  /** Called at the end of warmup; metrics.ts installs its snapshot function here. */
  onWarmup: ((sim: SimState) => unknown) | null = null;

  // Page-in requests (page_in.ts): a pool of typed-array records; rNext chains requests sharing one
  // page's I/O, and the free list.
  rKind = new Uint8Array(64);
  rVcpu = new Int32Array(64);
  rSlot = new Int32Array(64);
  rGen = new Uint32Array(64);
  rGfn = new Float64Array(64);
  rNext = new Int32Array(64);
  rSubmit = new Float64Array(64);
  rStart = new Float64Array(64);
  rChannel = new Int32Array(64);
  rFree = -1;
  rCount = 0;
  /** Global page index → the request doing its I/O. */
  readonly inflight = new Map<number, number>();
  /** Each vCPU's `run` step (the step vocabulary's, src/host/x86/steps.ts), made once. */
  readonly runSteps: readonly X86Step[];

  constructor(scenario: SimScenario, opts: SimOptions, hooksFor: SimHooksFactory) {
    this.scenario = scenario;
    this.costs = scenario.costs;
    this.tracer = opts.tracer ?? null;
    this.onProgress = opts.onProgress ?? null;
    this.warmupAt = scenario.warmup;
    this.maxEvents = opts.maxEvents ?? Number.POSITIVE_INFINITY;
    this.shouldStop = opts.shouldStop ?? null;
    // warmup: auto decides the warm-up during the run (control.ts); until then the end is the latest
    // possible one.
    this.endTime = scenario.autoWarmup ? autoWarmupLimit(scenario) + scenario.duration : scenario.duration;
    const nvm = scenario.vms.length;
    let nv = 0;
    for (const v of scenario.vms) nv += v.vcpus;
    this.vcpuVm = new Int32Array(nv);
    this.scheduled = new Uint8Array(nv);
    this.nextAt = new Float64Array(nv);
    this.blocked = new Uint8Array(nv);
    this.blockedSince = new Float64Array(nv);
    this.blockedCat = new Int8Array(nv);
    this.dead = new Uint8Array(nv);
    this.stepStart = new Float64Array(nv);
    this.stepEnd = new Float64Array(nv);
    this.lastCost = new Float64Array(nv * NCAT);
    this.debt = new Float64Array(nv);
    this.waitIo = new Int32Array(nv);
    this.tryFlag = new Uint8Array(nv);
    this.time = new Float64Array(nv * NCAT);
    this.queuedNow = new Int32Array(nv);
    this.queuedSince = new Float64Array(nv);
    this.queuedMax = new Int32Array(nv);
    this.count = new Float64Array(nvm * NCOUNT);
    this.slotBusyMax = new Float64Array(nvm);
    this.tokens = new TokenTable(nv);
    this.vmPageBase = new Float64Array(nvm);
    this.tickPeriod = new Float64Array(nvm);

    // Host side of every VM first (guest RAM), then host memory over all of it, then the guests.
    const kvms: KvmVm[] = [];
    let g = 0;
    let pages = 0;
    scenario.vms.forEach((spec, i) => {
      kvms.push(createSimKvm(spec, hooksFor(this, i, g), scenario.mmuNotifiers, scenario.mmuCaches));
      if (scenario.thp !== null) enableThp(kvms[i]!);
      this.vmPageBase[i] = pages;
      pages += kvms[i]!.mem.npages;
      g += spec.vcpus;
    });
    // With the notifiers, reclaim is the x86 `host_reclaim` step (start → PTE clear → end), never a write
    // of page state by the simulator.
    const evictPage = scenario.mmuNotifiers
      ? (vm: number, gfn: number, n: number): void => {
          const k = kvms[vm]!;
          if (n === 1) applyX86Step(k, { kind: 'host_reclaim', gfn });
          else {
            const p = gfn + k.mmu.slot_base;
            applyX86Step(k, { kind: 'host_mm', op: MM_RECLAIM, start: p, end: p + n });
          }
        }
      : null;
    // … and reclaim's aging asks KVM through clear_flush_young (per era: from 6.13 x86 does not flush).
    const agePage = scenario.mmuNotifiers
      ? (vm: number, gfn: number, n: number): boolean => {
          const k = kvms[vm]!;
          const p = gfn + k.mmu.slot_base;
          return applyX86Step(k, { kind: 'host_age', age: AGE_CLEAR_FLUSH, start: p, end: p + n }) === 1;
        }
      : null;
    this.host = new HostMemory(
      scenario.ramPages,
      kvms.map((k) => k.mem.pageState),
      kvms.map(() => KERNEL_PAGES),
      evictPage,
      agePage,
    );
    g = 0;
    const runSteps: X86Step[] = [];
    this.runSteps = runSteps;
    scenario.vms.forEach((spec, i) => {
      this.host.setInitialResidency(i, initialResidentPages(spec));
      const sv = installSimGuest(spec, kvms[i]!, i, g, this.host, scenario.seed);
      this.vms.push(sv);
      for (const v of sv.vm.vcpus) {
        this.vcpus.push(v);
        runSteps.push({ kind: 'run', vcpu: v.vcpu_id });
        this.vcpuVm[g++] = i;
      }
      this.pageReady.push(new LogHistogram());
      this.doneWait.push(new LogHistogram());
      this.tickPeriod[i] = spec.tick;
    });
    if (scenario.ksm !== null) {
      this.ksm = new Ksmd(
        scenario.ksm,
        kvms,
        this.vmPageBase,
        KERNEL_PAGES,
        this.host,
        scenario.vms.map((v) => ({ fraction: v.duplicatePages, kinds: v.duplicateKinds })),
        scenario.seed,
      );
      this.host.ksm = this.ksm;
    }
    if (scenario.numa !== null)
      this.numa = new NumaBalancing(
        scenario.numa,
        kvms,
        this.vmPageBase,
        this.host.totalPages,
        scenario.seed,
      );
    if (scenario.thp !== null) {
      this.thp = new Khugepaged(scenario.thp, kvms);
      this.host.thp = this.thp;
    }
    if (scenario.compaction !== null)
      this.compaction = new Compaction(scenario.compaction, kvms, this.vmPageBase, scenario.seed);
    this.refaultsBySrc = new Float64Array(nvm * HOST_MM_OPS.length);
    this.refaultNsBySrc = new Float64Array(nvm * HOST_MM_OPS.length);
    if (scenario.mmuNotifiers) {
      const lock = new MmuLockTiming(kvms, this.costs);
      this.mmuLock = lock;
      kvms.forEach((k, i) => {
        k.mmuHost.zapSource = new Uint8Array(k.mem.npages);
        k.mmuHost.onLock = (sptes) => lock.notifier(i, this.now, sptes);
      });
    }
    this.swap = new SwapDevice(
      scenario.swapChannels,
      compileDist(scenario.swapLatency),
      xoshiro128Stream(scenario.seed, 'host/swap'),
    );
  }

  /** Global vCPU index of VM vm's vCPU c. */
  vcpuIndex(vm: number, c: number): number {
    return this.vms[vm]!.firstVcpu + c;
  }
}

/** Puts vCPU g's next step at t on the heap (an earlier step event of g becomes stale). */
export function schedule(s: SimState, g: number, t: number): void {
  s.scheduled[g] = 1;
  s.nextAt[g] = t;
  s.heap.push(t, (g << 2) | EV_VCPU);
}
