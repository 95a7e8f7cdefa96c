// The discrete-event simulator: it drives the host model (src/host/x86) and the Linux guest model through
// virtual time on an overcommitted host. It re-implements no protocol logic: it only decides *when* each
// step of the x86 step vocabulary (src/host/x86/steps.ts) runs — `run` for a vCPU, `work` when the swap
// device finishes a worker's page-in, `sync_done` when a synchronous fault-in finishes, `lapic_irq` for the
// scheduler tick, `host_reclaim` for an eviction with host.mmu_notifiers — and reads what the step did to
// charge its cost (costs.ts) and count it. Without the notifiers, reclaim goes through the page-state
// owner (host_memory.ts → src/mem/page_state.ts).
//
// This file owns the run loop and event dispatch, and the host hooks through which the host model calls
// back into the simulator. The state is SimState (sim_state.ts); each other job is a file of free
// functions over it: vcpu_step.ts (running a vCPU and charging its steps), wake.ts (blocking, waking,
// kicks), page_in.ts (requests and the swap device), latency.ts (tracepoints, page-ready latency),
// control.ts (warmup, tick, samples).
//
// Time: one EventHeap (src/sim/engine) keyed by (time ns, seq). Payload = id << 2 | kind. A vCPU has at
// most one live step event; a preempted or rescheduled vCPU leaves a stale one behind that is recognised
// by `nextAt`.

import type { HostHooks } from '../host/x86/vm.ts';
import { StuckError } from '../scenario/usage_error.ts';
import { control, startControl } from './control.ts';
import { K_QUEUE_FULL, K_WARNINGS, NCOUNT } from './counters.ts';
import { onTracepoint } from './latency.ts';
import type { SimScenario } from './load_sim.ts';
import { ioDone, R_ASYNC, R_SYNC, submit } from './page_in.ts';
import { EV_SWAP, EV_VCPU, type SimOptions, SimState, schedule } from './sim_state.ts';
import { runVcpu } from './vcpu_step.ts';
import { onKick } from './wake.ts';

export type { SimOptions } from './sim_state.ts';
export {
  S_APF_HALT,
  S_APF_WAIT,
  S_EPT_EXIT,
  S_HLT,
  S_IRQ,
  S_KERNEL,
  S_MINOR,
  S_PF,
  S_SCHED,
  S_TASK,
} from './vcpu_step.ts';

/** Events at one virtual instant before the run is declared stuck (a zero-cost loop). */
const STUCK_EVENTS = 20_000_000;

export class SimLivelockError extends StuckError {
  override name = 'SimLivelockError';
}

/** The host hooks of VM `vmIdx` (whose vCPU 0 has global index `first`): the host model's callbacks. */
function simHooks(s: SimState, vmIdx: number, first: number): HostHooks {
  return {
    asyncWorkQueued: (v, slot) =>
      submit(s, R_ASYNC, first + v.vcpu_id, slot, v.async_pf.wGen[slot]!, v.async_pf.wGfn[slot]!),
    syncFault: (v, gfn) => {
      const g = first + v.vcpu_id;
      if (s.tryFlag[g] !== 0) {
        // An async attempt in this same fault failed to set up: the 64-work queue was full.
        s.tryFlag[g] = 0;
        s.count[vmIdx * NCOUNT + K_QUEUE_FULL]!++;
      }
      submit(s, R_SYNC, g, -1, 0, gfn);
    },
    kick: (v) => onKick(s, first + v.vcpu_id),
    trace: (vid, tp, a, b) => onTracepoint(s, vmIdx, first + vid, tp, a, b),
    // The exit/injection/MSR tracepoints: only for a tracer that asked for them (`--events`).
    kvmTrace: s.tracer?.kvmEvents
      ? (vid, tp, a, b, c, x, xs) => s.tracer!.kvmEvent!(s, vmIdx, first + vid, tp, a, b, c, x, xs, s.now)
      : null,
    warn: () => {
      s.count[vmIdx * NCOUNT + K_WARNINGS]!++;
    },
    numaHintingFault: (_v, gfn) => s.numa?.hintingFault(vmIdx, gfn),
  };
}

export class Simulator extends SimState {
  constructor(scenario: SimScenario, opts: SimOptions = {}) {
    super(scenario, opts, simHooks);
  }

  /** Runs the scenario to its end (duration or max_faults). */
  run(): void {
    const sc = this.scenario;
    this.tracer?.begin(this);
    for (let g = 0; g < this.vcpus.length; g++) schedule(this, g, 0);
    startControl(this);
    const maxFaults = sc.maxFaults ?? Number.POSITIVE_INFINITY;
    const heap = this.heap;
    let events = 0;
    let sameTime = 0;
    let lastT = -1;
    let stopped = false;
    // endTime moves once if warmup: auto ends the warm-up (control.ts).
    while (heap.size > 0 && heap.peekTime() <= this.endTime) {
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
            runVcpu(this, id);
          }
          break;
        case EV_SWAP:
          ioDone(this, id);
          break;
        default:
          control(this, id);
      }
      if (this.faults >= maxFaults) {
        this.endTime = this.now;
        stopped = true;
        break;
      }
      if (++events >= this.maxEvents) {
        this.stopped = 'max-events';
        this.endTime = this.now;
        stopped = true;
        break;
      }
      if ((events & 0xffff) === 0) {
        if (this.onProgress) this.onProgress(this.now / this.endTime);
        if (this.shouldStop?.()) {
          this.stopped = 'max-time';
          this.endTime = this.now;
          stopped = true;
          break;
        }
      }
    }
    this.events = events;
    if (!stopped) this.now = this.endTime;
    this.swap.sync(this.endTime);
    this.tracer?.end(this, this.endTime);
  }
}
