// The discrete-event simulator: it drives the host model (src/host/x86) and the Linux guest model through
// virtual time on an overcommitted host. It re-implements no protocol logic: it only decides *when* each
// step of the model runs — `kvm_vcpu_run_step` for a vCPU, `async_pf_execute` when the swap device
// finishes a worker's page-in, `kvm_sync_fault_done` when a synchronous fault-in finishes — and reads what
// the step did to charge its cost (costs.ts) and count it.
//
// Time: one EventHeap (src/sim/engine) keyed by (time ns, seq). Payload = id << 2 | kind. A vCPU has at
// most one live step event; a preempted or rescheduled vCPU leaves a stale one behind that is recognised
// by `nextAt`. A vCPU whose next step is due no later than every queued event runs it at once without
// going through the heap (at most INLINE_MAX in a row), which is most steps: the guest's handler and
// kernel steps take nanoseconds while events are microseconds apart.
//
// A vCPU step starting at t with cost c occupies the vCPU during [t, t + c); its effects happen at t.
// A kick (an IPI: page-ready completion, reschedule, tick) for a vCPU in the middle of a compute burst
// preempts it: the rest of the burst becomes a debt the vCPU pays when the guest is back in task context
// after handling the event, so interrupts are taken when they arrive, not at the end of a burst.
import { KVM_PV_REASON_PAGE_READY } from '../abi/kvm_para.ts';
import { RESCHEDULE_VECTOR } from '../guest/x86/linux/scheduler.ts';
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
  IRQ_WAKE,
  PF_HANDLE,
} from '../guest/x86/linux/state.ts';
import { async_pf_execute } from '../host/x86/async_pf.ts';
import { doneAt, W_NOTPRESENT_INJECTED, W_WAKEUP_ALL, workPending } from '../host/x86/async_pf_work.ts';
import { kvm_apic_set_irq } from '../host/x86/lapic.ts';
import { kvm_sync_fault_done } from '../host/x86/mmu_fault.ts';
import { kvm_vcpu_can_step, kvm_vcpu_run_step, STEP_BLOCKED, STEP_HALTED } from '../host/x86/run_loop.ts';
import {
  TP_KVM_ASYNC_PF_NOT_PRESENT,
  TP_KVM_ASYNC_PF_READY,
  TP_KVM_ASYNC_PF_REPEATED_FAULT,
  TP_KVM_TRY_ASYNC_GET_PAGE,
} from '../host/x86/trace.ts';
import { IN_GUEST_MODE, type KvmVcpu } from '../host/x86/vcpu.ts';
import type { HostHooks, KvmVm } from '../host/x86/vm.ts';
import { kvm_vcpu_kick } from '../host/x86/vm.ts';
import { PAGE_HOST_RESIDENT } from '../mem/page_state.ts';
import type { SimCosts } from './costs.ts';
import {
  K_ASYNC_TRIED,
  K_EXITS,
  K_IO,
  K_IRQ_INJECTED,
  K_MINOR,
  K_PF_INJECTED,
  K_PREEMPTIONS,
  K_PREFAULT_SYNC,
  K_QUEUE_FULL,
  K_QUEUED_AREA,
  K_REPEATED,
  K_SLOT_BUSY,
  K_SLOT_BUSY_NS,
  K_TICKS,
  K_WAKEUP_ALL,
  K_WARNINGS,
  K_WORKS,
  NCAT,
  NCOUNT,
  T_EXITS,
  T_HALTED,
  T_IDLE,
  T_KERNEL,
  T_SYNC,
  T_TASK,
} from './counters.ts';
import { compileDist } from './engine/dist.ts';
import { EventHeap } from './engine/heap.ts';
import { xoshiro128Stream } from './engine/rng.ts';
import { LogHistogram } from './histogram.ts';
import { HostMemory } from './host_memory.ts';
import { initialResidentPages, KERNEL_PAGES, type SimScenario } from './load_sim.ts';
import { createSimKvm, installSimGuest, type SimVm } from './sim_vm.ts';
import { SwapDevice } from './swap_device.ts';
import { TF_DEQUEUED, TF_INJECTED, TF_SLOT_BUSY, TokenTable } from './token_table.ts';
import type { SimTracer } from './tracer.ts';

const EV_VCPU = 0;
const EV_SWAP = 1;
const EV_CTRL = 2;
// Control events: id = code | arg << 3.
const CTRL_WARMUP = 0;
const CTRL_TICK = 1;
const CTRL_SAMPLE = 2;

/** Page-in request kinds. */
const R_ASYNC = 0;
const R_SYNC = 1;
const R_PREFAULT = 2;

/** Steps a vCPU may run back to back without the heap. */
const INLINE_MAX = 64;
/** Events at one virtual instant before the run is declared stuck (a zero-cost loop). */
const STUCK_EVENTS = 20_000_000;

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

export interface SimOptions {
  /** Traces (Chrome JSON, ftrace), or null. */
  tracer?: SimTracer | null;
  /** Called about every 2^16 events with the fraction of virtual time done. */
  onProgress?: ((fraction: number) => void) | null;
}

export class SimLivelockError extends Error {
  override name = 'SimLivelockError';
}

export class Simulator {
  readonly scenario: SimScenario;
  readonly heap = new EventHeap(4096);
  now = 0;
  /** When the measured period ends (duration, or earlier with max_faults). */
  endTime: number;
  readonly vms: SimVm[] = [];
  readonly host: HostMemory;
  readonly swap: SwapDevice;
  readonly costs: SimCosts;
  readonly tracer: SimTracer | null;
  private readonly onProgress: ((fraction: number) => void) | null;

  // Per vCPU (global index g).
  readonly vcpus: KvmVcpu[] = [];
  readonly vcpuVm: Int32Array;
  private readonly scheduled: Uint8Array;
  private readonly nextAt: Float64Array;
  readonly blocked: Uint8Array;
  readonly blockedSince: Float64Array;
  readonly blockedCat: Int8Array;
  readonly dead: Uint8Array;
  readonly stepStart: Float64Array;
  readonly stepEnd: Float64Array;
  /** The time categories charged for the interval [stepStart, stepEnd) (for truncation at a snapshot). */
  readonly lastCost: Float64Array;
  private readonly debt: Float64Array;
  private readonly waitIo: Int32Array;
  private readonly tryFlag: Uint8Array;
  readonly time: Float64Array;
  readonly queuedNow: Int32Array;
  readonly queuedSince: Float64Array;
  readonly queuedMax: Int32Array;

  // Per VM.
  readonly count: Float64Array;
  readonly slotBusyMax: Float64Array;
  readonly pageReady: LogHistogram[] = [];
  readonly doneWait: LogHistogram[] = [];
  // Host-wide.
  readonly swapWait = new LogHistogram();
  readonly swapService = new LogHistogram();
  readonly tokens: TokenTable;
  /** I/O requests submitted (page-ins needed by guest accesses), for max_faults. */
  faults = 0;
  panics = 0;
  /** The swap device's busy and queue time integrals and started count at the end of warmup. */
  swapAtWarmup: [number, number, number] = [0, 0, 0];
  /** Set when the warmup snapshot was taken (metrics.ts subtracts it). */
  warmupSnapshot: unknown = null;

  // Page-in requests (a pool of typed-array records; rNext chains requests sharing one page's I/O).
  private rKind = new Uint8Array(64);
  private rVcpu = new Int32Array(64);
  private rSlot = new Int32Array(64);
  private rGen = new Uint32Array(64);
  private rGfn = new Float64Array(64);
  private rNext = new Int32Array(64);
  private rSubmit = new Float64Array(64);
  private rStart = new Float64Array(64);
  private rChannel = new Int32Array(64);
  private rFree = -1;
  private rCount = 0;
  /** Global page index → the request doing its I/O. */
  private readonly inflight = new Map<number, number>();
  private readonly vmPageBase: Float64Array;
  /** Scratch: gfns found non-resident on `done` before a step. */
  private readonly reGfn = new Float64Array(96);
  private readonly tickPeriod: Float64Array;

  constructor(scenario: SimScenario, opts: SimOptions = {}) {
    this.scenario = scenario;
    this.costs = scenario.costs;
    this.tracer = opts.tracer ?? null;
    this.onProgress = opts.onProgress ?? null;
    this.endTime = scenario.duration;
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
      kvms.push(createSimKvm(spec, this.hooksFor(i, g)));
      this.vmPageBase[i] = pages;
      pages += kvms[i]!.mem.npages;
      g += spec.vcpus;
    });
    this.host = new HostMemory(
      scenario.ramPages,
      kvms.map((k) => k.mem.pageState),
      kvms.map(() => KERNEL_PAGES),
    );
    g = 0;
    scenario.vms.forEach((spec, i) => {
      this.host.setInitialResidency(i, initialResidentPages(spec));
      const sv = installSimGuest(spec, kvms[i]!, i, g, this.host, scenario.seed);
      this.vms.push(sv);
      for (const v of sv.vm.vcpus) {
        this.vcpus.push(v);
        this.vcpuVm[g++] = i;
      }
      this.pageReady.push(new LogHistogram());
      this.doneWait.push(new LogHistogram());
      this.tickPeriod[i] = spec.tick;
    });
    this.swap = new SwapDevice(
      scenario.swapChannels,
      compileDist(scenario.swapLatency),
      xoshiro128Stream(scenario.seed, 'host/swap'),
    );
  }

  private hooksFor(vmIdx: number, first: number): HostHooks {
    return {
      asyncWorkQueued: (v, slot) =>
        this.submit(R_ASYNC, first + v.vcpu_id, slot, v.async_pf.wGen[slot]!, v.async_pf.wGfn[slot]!),
      syncFault: (v, gfn) => {
        const g = first + v.vcpu_id;
        if (this.tryFlag[g] !== 0) {
          // An async attempt in this same fault failed to set up: the 64-work queue was full.
          this.tryFlag[g] = 0;
          this.count[vmIdx * NCOUNT + K_QUEUE_FULL]!++;
        }
        this.submit(R_SYNC, g, -1, 0, gfn);
      },
      kick: (v) => this.onKick(first + v.vcpu_id),
      trace: (vid, tp, a, b) => this.onTracepoint(vmIdx, first + vid, tp, a, b),
      warn: () => {
        this.count[vmIdx * NCOUNT + K_WARNINGS]!++;
      },
    };
  }

  /** Runs the scenario to its end (duration or max_faults). */
  run(): void {
    const sc = this.scenario;
    this.tracer?.begin(this);
    for (let g = 0; g < this.vcpus.length; g++) this.schedule(g, 0);
    if (sc.warmup > 0) this.heap.push(sc.warmup, (CTRL_WARMUP << 2) | EV_CTRL);
    for (let i = 0; i < this.vms.length; i++)
      if (this.tickPeriod[i]! > 0)
        this.heap.push(this.tickPeriod[i]!, ((CTRL_TICK | (i << 3)) << 2) | EV_CTRL);
    if (this.tracer) this.heap.push(0, (CTRL_SAMPLE << 2) | EV_CTRL);
    const end = sc.duration;
    const maxFaults = sc.maxFaults ?? Number.POSITIVE_INFINITY;
    const heap = this.heap;
    let events = 0;
    let sameTime = 0;
    let lastT = -1;
    while (heap.size > 0 && heap.peekTime() <= end) {
      const p = heap.pop();
      const t = heap.lastTime;
      if (t === lastT) {
        if (++sameTime > STUCK_EVENTS)
          throw new SimLivelockError(
            `virtual time is stuck at ${t} ns (a zero-cost loop in the model); give the costs non-zero values`,
          );
      } else {
        lastT = t;
        sameTime = 0;
      }
      this.now = t;
      const id = p >>> 2;
      switch (p & 3) {
        case EV_VCPU:
          if (this.scheduled[id] !== 0 && this.nextAt[id] === t) {
            this.scheduled[id] = 0;
            this.runVcpu(id);
          }
          break;
        case EV_SWAP:
          this.ioDone(id);
          break;
        default:
          this.control(id);
      }
      if (this.faults >= maxFaults) {
        this.endTime = this.now;
        break;
      }
      if ((++events & 0xffff) === 0 && this.onProgress) this.onProgress(this.now / end);
    }
    if (this.endTime === end) this.now = end;
    this.swap.sync(this.endTime);
    this.tracer?.end(this, this.endTime);
  }

  private control(id: number): void {
    const code = id & 7;
    const arg = id >>> 3;
    if (code === CTRL_WARMUP) {
      this.warmupSnapshot = this.onWarmup?.(this) ?? null;
      this.swap.sync(this.now);
      this.swapAtWarmup = [this.swap.busyArea, this.swap.queueArea, this.swap.started];
      this.swap.maxQueue = this.swap.qLen;
      for (const h of this.pageReady) h.reset();
      for (const h of this.doneWait) h.reset();
      this.swapWait.reset();
      this.swapService.reset();
      this.slotBusyMax.fill(0);
      for (let g = 0; g < this.vcpus.length; g++) this.queuedMax[g] = this.queuedNow[g]!;
    } else if (code === CTRL_TICK) {
      this.tick(arg);
      this.heap.push(this.now + this.tickPeriod[arg]!, ((CTRL_TICK | (arg << 3)) << 2) | EV_CTRL);
    } else {
      this.tracer?.sample(this, this.now);
      this.heap.push(this.now + this.tracer!.samplePeriod, (CTRL_SAMPLE << 2) | EV_CTRL);
    }
  }

  /** Called at the end of warmup; metrics.ts installs its snapshot function here. */
  onWarmup: ((sim: Simulator) => unknown) | null = null;

  /**
   * The scheduler tick of VM `vm`: every vCPU that has a task (running or queued) gets a reschedule
   * interrupt, the guest model's stand-in for scheduler_tick() setting need_resched. An artificially
   * halted vCPU wakes up for it and may switch tasks (x86-apf §3.9 step 5); one blocked in a synchronous
   * fault cannot.
   */
  private tick(vm: number): void {
    const sv = this.vms[vm]!;
    const cpu = sv.guest.state.cpu;
    for (const v of sv.vm.vcpus) {
      const c = v.vcpu_id;
      if (this.dead[sv.firstVcpu + c] !== 0) continue;
      if (cpu.curr[c]! < 0 && cpu.rqLen[c] === 0) continue; // NOHZ idle: no tick
      this.count[vm * NCOUNT + K_TICKS]!++;
      if (kvm_apic_set_irq(v.apic, RESCHEDULE_VECTOR)) kvm_vcpu_kick(sv.vm, v);
    }
  }

  private schedule(g: number, t: number): void {
    this.scheduled[g] = 1;
    this.nextAt[g] = t;
    this.heap.push(t, (g << 2) | EV_VCPU);
  }

  /** Runs vCPU g's steps from `now` until it blocks, or its next step is not the earliest event. */
  private runVcpu(g: number): void {
    const vcpu = this.vcpus[g]!;
    const vmIdx = this.vcpuVm[g]!;
    const sv = this.vms[vmIdx]!;
    const vm = sv.vm;
    const gs = sv.guest.state;
    const cpu = gs.cpu;
    const gc = gs.counters;
    const adapter = sv.adapter;
    const costs = this.costs;
    const c = vcpu.vcpu_id;
    const cnt = vmIdx * NCOUNT;
    const w = vcpu.async_pf;
    const heap = this.heap;
    const tracer = this.tracer;
    const time = this.time;
    const lastCost = this.lastCost;
    const count = this.count;
    const tb = g * NCAT;
    for (let inline = 0; ; inline++) {
      const entering = vcpu.mode !== IN_GUEST_MODE;
      const acks0 = gc.acks;
      const fixed0 = vcpu.stat.pf_fixed;
      const irqPc0 = cpu.irqPc[c]!;
      const excPc0 = cpu.excPc[c]!;
      const excFlags0 = cpu.excFlags[c]!;
      adapter.pf = 0;
      adapter.irq = 0;
      const nRe = w.doneLen > 0 ? this.findReevicted(vm, vcpu) : 0;
      const r = kvm_vcpu_run_step(vm, vcpu);
      if (r === STEP_BLOCKED) {
        this.block(g, vcpu);
        return;
      }
      let cTask = 0;
      let cKernel = 0;
      let cExit = 0;
      let slice = S_APF_HALT;
      let kind = -1;
      if (r === STEP_HALTED) cExit = costs.halt;
      else {
        if (entering) {
          cExit += costs.vm_exit;
          count[cnt + K_EXITS]!++;
        }
        if (adapter.pf !== 0) {
          cExit += costs.pf_injection * adapter.pf;
          count[cnt + K_PF_INJECTED]! += adapter.pf;
        }
        if (adapter.irq !== 0) {
          cExit += costs.irq_delivery * adapter.irq;
          count[cnt + K_IRQ_INJECTED]! += adapter.irq;
        }
        kind = cpu.lastKind[c]!;
        switch (kind) {
          case GSTEP_COMPUTE:
            cTask += cpu.lastNs[c]!;
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
            slice =
              irqPc0 !== 0 || adapter.irq !== 0
                ? S_IRQ
                : excPc0 !== 0 || adapter.pf !== 0
                  ? S_PF
                  : S_APF_WAIT;
            // The page-ready wake: the IRQ handler's kvm_async_pf_task_wake, or the legacy #PF handler's.
            if (irqPc0 === IRQ_WAKE && cpu.irqPc[c] !== IRQ_WAKE) this.guestWake(g, vmIdx, cpu.irqToken[c]!);
            else if (
              excPc0 === PF_HANDLE &&
              excFlags0 === KVM_PV_REASON_PAGE_READY &&
              cpu.excPc[c] !== PF_HANDLE
            )
              this.guestWake(g, vmIdx, cpu.excToken[c]!);
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
            this.dead[g] = 1;
            this.panics++;
            return;
          default:
            slice = S_TASK;
        }
        const dAck = gc.acks - acks0;
        if (dAck !== 0) cExit += costs.ack_msr * dAck;
        const dFix = vcpu.stat.pf_fixed - fixed0;
        if (dFix !== 0) cExit += costs.prefault * dFix;
      }
      const q = w.queued;
      if (q !== this.queuedNow[g]) {
        count[cnt + K_QUEUED_AREA]! += this.queuedNow[g]! * (this.now - this.queuedSince[g]!);
        this.queuedNow[g] = q;
        this.queuedSince[g] = this.now;
        if (q > this.queuedMax[g]!) this.queuedMax[g] = q;
      }
      if (nRe > 0) this.checkPrefaults(g, vmIdx, vm, nRe);
      let paid = 0;
      if (this.debt[g]! > 0 && cpu.irqPc[c] === 0 && cpu.excPc[c] === 0 && cpu.haltNode[c]! < 0) {
        // Back in task context after the event that preempted a burst: finish the burst first.
        paid = this.debt[g]!;
        cTask += paid;
        this.debt[g] = 0;
      }
      const now = this.now;
      const cost = cTask + cKernel + cExit;
      const t2 = now + cost;
      time[tb + T_TASK]! += cTask;
      time[tb + T_KERNEL]! += cKernel;
      time[tb + T_EXITS]! += cExit;
      lastCost[tb + T_TASK] = cTask;
      lastCost[tb + T_KERNEL] = cKernel;
      lastCost[tb + T_EXITS] = cExit;
      lastCost[tb + T_IDLE] = 0;
      lastCost[tb + T_HALTED] = 0;
      lastCost[tb + T_SYNC] = 0;
      this.stepStart[g] = now;
      this.stepEnd[g] = t2;
      if (tracer !== null) {
        const task = kind === GSTEP_COMPUTE || kind === GSTEP_TOUCH ? cpu.lastTask[c]! : -1;
        tracer.step(this, g, slice, task, now, t2 - paid);
        if (paid > 0) tracer.step(this, g, S_TASK, cpu.curr[c]!, t2 - paid, t2);
      }
      if (this.waitIo[g]! > 0) {
        // A prefault found its page evicted again: the vCPU thread waits for a synchronous page-in.
        this.blocked[g] = 1;
        this.blockedSince[g] = t2;
        this.blockedCat[g] = T_SYNC;
        return;
      }
      if (inline < INLINE_MAX && t2 <= heap.peekTime() && t2 <= this.endTime) {
        this.now = t2;
        continue;
      }
      this.schedule(g, t2);
      return;
    }
  }

  /** Gfns on vCPU's `done` list whose pages are not resident now (evicted again after the page-in). */
  private findReevicted(vm: KvmVm, vcpu: KvmVcpu): number {
    const w = vcpu.async_pf;
    const st = vm.mem.pageState;
    let n = 0;
    for (let i = 0; i < w.doneLen && n < this.reGfn.length; i++) {
      const slot = doneAt(w, i);
      if ((w.wFlags[slot]! & W_WAKEUP_ALL) !== 0) continue;
      const gfn = w.wGfn[slot]!;
      if (gfn < st.length && (st[gfn]! & PAGE_HOST_RESIDENT) === 0) this.reGfn[n++] = gfn;
    }
    return n;
  }

  /**
   * After a step that may have prefaulted: a page that was not resident before and is now was mapped by
   * kvm_arch_async_page_ready's prefetch fault, which the model completes at once. In the kernel that is
   * a blocking fault-in on the vCPU thread; the simulator charges it as a synchronous page-in.
   */
  private checkPrefaults(g: number, vmIdx: number, vm: KvmVm, n: number): void {
    const st = vm.mem.pageState;
    for (let i = 0; i < n; i++) {
      const gfn = this.reGfn[i]!;
      if ((st[gfn]! & PAGE_HOST_RESIDENT) === 0) continue;
      this.host.pagedIn(vmIdx, gfn);
      this.count[vmIdx * NCOUNT + K_PREFAULT_SYNC]!++;
      this.waitIo[g]!++;
      this.submit(R_PREFAULT, g, -1, 0, gfn);
    }
  }

  /** vCPU g cannot step: it sleeps in HLT, in the artificial halt, or in a synchronous fault. */
  private block(g: number, vcpu: KvmVcpu): void {
    this.blocked[g] = 1;
    this.blockedSince[g] = this.now;
    this.blockedCat[g] = vcpu.sync_fault_gfn >= 0 ? T_SYNC : vcpu.apf.halted ? T_HALTED : T_IDLE;
  }

  /** Something may have made blocked vCPU g runnable (a completion, an IPI, a finished page-in). */
  private maybeWake(g: number): void {
    if (this.blocked[g] === 0 || this.dead[g] !== 0 || this.waitIo[g]! > 0) return;
    const vcpu = this.vcpus[g]!;
    const sv = this.vms[this.vcpuVm[g]!]!;
    if (!kvm_vcpu_can_step(sv.vm, vcpu)) return;
    this.blocked[g] = 0;
    const since = this.blockedSince[g]!;
    const now = this.now;
    const tb = g * NCAT;
    this.lastCost.fill(0, tb, tb + NCAT);
    if (since >= now) {
      // The block had not begun (a prefault page-in that finished within its step's cost).
      this.stepStart[g] = since;
      this.stepEnd[g] = since;
      this.schedule(g, since);
      return;
    }
    const cat = this.blockedCat[g]!;
    const wake = this.costs.wakeup;
    this.time[tb + cat]! += now - since + wake;
    this.lastCost[tb + cat] = wake;
    this.stepStart[g] = now;
    this.stepEnd[g] = now + wake;
    this.tracer?.blocked(this, g, cat, since, now + wake);
    this.schedule(g, now + wake);
  }

  /** HostHooks.kick: wake a blocked vCPU, or interrupt one in the middle of a compute burst. */
  private onKick(g: number): void {
    if (this.blocked[g] !== 0) {
      this.maybeWake(g);
      return;
    }
    if (this.scheduled[g] === 0) return; // it is the vCPU stepping now
    const now = this.now;
    const tb = g * NCAT;
    const task = this.lastCost[tb + T_TASK]!;
    if (this.stepEnd[g]! <= now || task <= 0 || this.vcpus[g]!.mode === IN_GUEST_MODE) return;
    const d = Math.min(this.stepEnd[g]! - now, task);
    this.time[tb + T_TASK]! -= d;
    this.lastCost[tb + T_TASK] = task - d;
    this.stepEnd[g] = now;
    this.debt[g]! += d;
    this.count[this.vcpuVm[g]! * NCOUNT + K_PREEMPTIONS]!++;
    this.tracer?.preempted(this, g, now);
    this.schedule(g, now);
  }

  /** HostHooks.trace: counts, page-ready bookkeeping, and the traces. */
  private onTracepoint(vmIdx: number, g: number, tp: number, a: number, b: number): void {
    const cnt = vmIdx * NCOUNT;
    switch (tp) {
      case TP_KVM_TRY_ASYNC_GET_PAGE:
        this.count[cnt + K_ASYNC_TRIED]!++;
        this.tryFlag[g] = 1;
        break;
      case TP_KVM_ASYNC_PF_REPEATED_FAULT:
        this.count[cnt + K_REPEATED]!++;
        this.tryFlag[g] = 0;
        break;
      case TP_KVM_ASYNC_PF_NOT_PRESENT:
        this.count[cnt + K_WORKS]!++;
        this.tryFlag[g] = 0;
        this.tracer?.notPresent(this, g, a, b, this.now);
        break;
      case TP_KVM_ASYNC_PF_READY:
        if (a === 0xffffffff) this.count[cnt + K_WAKEUP_ALL]!++;
        else this.dequeued(g, vmIdx, a);
        break;
      default:
        break;
    }
    this.tracer?.tracepoint(this, vmIdx, g, tp, a, b, this.now);
  }

  /** The host dequeued the completion of `token` (kvm_check_async_pf_completion). */
  private dequeued(g: number, vmIdx: number, token: number): void {
    const tt = this.tokens;
    const i = tt.find(g, token);
    if (i < 0) return;
    const now = this.now;
    const waited = now - tt.tDone[i]!;
    this.doneWait[vmIdx]!.record(waited);
    const f = tt.flags[i]!;
    if ((f & TF_SLOT_BUSY) !== 0) {
      this.count[vmIdx * NCOUNT + K_SLOT_BUSY]!++;
      this.count[vmIdx * NCOUNT + K_SLOT_BUSY_NS]! += waited;
      if (waited > this.slotBusyMax[vmIdx]!) this.slotBusyMax[vmIdx] = waited;
    }
    if ((f & TF_INJECTED) === 0) {
      // Nobody sleeps on it in the guest: the dequeue itself ends the artificial halt.
      this.pageReady[vmIdx]!.record(waited);
      tt.free(g, i);
      this.tracer?.tokenEnd(this, g, token, now, false);
      return;
    }
    tt.tDeq[i] = now;
    tt.flags[i] = f | TF_DEQUEUED;
  }

  /** The guest woke the sleeper of `token` (or left a dummy for it): the end of its page-ready latency. */
  private guestWake(g: number, vmIdx: number, token: number): void {
    if (token === 0xffffffff) return;
    const tt = this.tokens;
    const i = tt.find(g, token);
    if (i < 0) return;
    this.pageReady[vmIdx]!.record(this.now - tt.tDone[i]!);
    tt.free(g, i);
    this.tracer?.tokenEnd(this, g, token, this.now, true);
  }

  // Page-in requests and the swap device.

  private allocReq(): number {
    if (this.rFree >= 0) {
      const r = this.rFree;
      this.rFree = this.rNext[r]!;
      return r;
    }
    if (this.rCount === this.rKind.length) this.growReqs();
    return this.rCount++;
  }

  private growReqs(): void {
    const n = this.rKind.length * 2;
    const grow = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.rKind = grow(this.rKind);
    this.rVcpu = grow(this.rVcpu);
    this.rSlot = grow(this.rSlot);
    this.rGen = grow(this.rGen);
    this.rGfn = grow(this.rGfn);
    this.rNext = grow(this.rNext);
    this.rSubmit = grow(this.rSubmit);
    this.rStart = grow(this.rStart);
    this.rChannel = grow(this.rChannel);
  }

  /** A page-in for vCPU g's VM: join the I/O already in flight for that page, or go to the device. */
  private submit(kind: number, g: number, slot: number, gen: number, gfn: number): void {
    const r = this.allocReq();
    this.rKind[r] = kind;
    this.rVcpu[r] = g;
    this.rSlot[r] = slot;
    this.rGen[r] = gen;
    this.rGfn[r] = gfn;
    this.rSubmit[r] = this.now;
    this.rChannel[r] = -1;
    this.faults++;
    const vmIdx = this.vcpuVm[g]!;
    this.count[vmIdx * NCOUNT + K_IO]!++;
    const page = this.vmPageBase[vmIdx]! + gfn;
    const owner = this.inflight.get(page);
    if (owner !== undefined) {
      this.rNext[r] = this.rNext[owner]!;
      this.rNext[owner] = r;
      return;
    }
    this.rNext[r] = -1;
    this.inflight.set(page, r);
    if (this.swap.canStart()) this.startIo(r);
    else {
      this.swap.enqueue(this.now, r);
      this.tracer?.swapDepth(this, this.now);
    }
  }

  private startIo(r: number): void {
    const now = this.now;
    this.rChannel[r] = this.swap.start(now);
    this.rStart[r] = now;
    this.swapWait.record(now - this.rSubmit[r]!);
    const service = this.swap.serviceTime();
    this.swapService.record(service);
    this.heap.push(now + service, (r << 2) | EV_SWAP);
    this.tracer?.swapDepth(this, now);
  }

  /** The device finished request r's page: complete it and every request that joined it. */
  private ioDone(r: number): void {
    const now = this.now;
    this.swap.release(now, this.rChannel[r]!);
    const g0 = this.rVcpu[r]!;
    const gfn0 = this.rGfn[r]!;
    const vm0 = this.vcpuVm[g0]!;
    this.inflight.delete(this.vmPageBase[vm0]! + gfn0);
    this.tracer?.io(this, vm0, gfn0, this.rChannel[r]!, this.rSubmit[r]!, this.rStart[r]!, now);
    const next = this.swap.dequeue(now);
    if (next >= 0) this.startIo(next);
    else this.tracer?.swapDepth(this, now);
    for (let q = r; q >= 0; ) {
      const after = this.rNext[q]!;
      this.complete(q);
      this.rNext[q] = this.rFree;
      this.rFree = q;
      q = after;
    }
  }

  private complete(r: number): void {
    const g = this.rVcpu[r]!;
    const vmIdx = this.vcpuVm[g]!;
    const sv = this.vms[vmIdx]!;
    const vm = sv.vm;
    const vcpu = this.vcpus[g]!;
    const gfn = this.rGfn[r]!;
    const st = vm.mem.pageState;
    switch (this.rKind[r]) {
      case R_ASYNC: {
        const slot = this.rSlot[r]!;
        const w = vcpu.async_pf;
        if (!workPending(w, slot, this.rGen[r]!)) return; // cancelled (queue cleared)
        const was = st[gfn]! & PAGE_HOST_RESIDENT;
        const busy = this.slotBusy(sv, vcpu);
        const injected = (w.wFlags[slot]! & W_NOTPRESENT_INJECTED) !== 0;
        const token = w.wToken[slot]!;
        async_pf_execute(vm, vcpu, slot);
        if (was === 0) this.host.pagedIn(vmIdx, gfn);
        this.tokens.add(g, token, this.now, (busy ? TF_SLOT_BUSY : 0) | (injected ? TF_INJECTED : 0));
        this.tracer?.completed(this, g, token, this.now);
        this.maybeWake(g);
        return;
      }
      case R_SYNC: {
        if (vcpu.sync_fault_gfn !== gfn) return;
        const was = st[gfn]! & PAGE_HOST_RESIDENT;
        kvm_sync_fault_done(vm, vcpu);
        if (was === 0) this.host.pagedIn(vmIdx, gfn);
        this.maybeWake(g);
        return;
      }
      default:
        this.waitIo[g]!--;
        this.maybeWake(g);
    }
  }

  /** Whether vCPU's page-ready slot is still occupied (the guest has not consumed the last one). */
  private slotBusy(sv: SimVm, vcpu: KvmVcpu): boolean {
    const data = vcpu.apf.data;
    if (!data.valid || data.page === null) return false;
    // ≥5.8: token@4 must be 0 for the next delivery; ≤5.7: the reason word@0.
    const off = sv.vm.era.pageReady === 'interrupt' ? 4 : 0;
    return data.page.getUint32(data.off + off, true) !== 0;
  }

  /** Global vCPU index of VM vm's vCPU c. */
  vcpuIndex(vm: number, c: number): number {
    return this.vms[vm]!.firstVcpu + c;
  }
}
