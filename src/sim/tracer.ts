// What the simulator tells a trace writer (sim_trace.ts): numbers only, called only when tracing is on,
// so a run without traces pays one null check per call site.
import type { SimState } from './sim_state.ts';

export interface SimTracer {
  /** Virtual time between two samples of the resident-memory counters. */
  readonly samplePeriod: number;
  begin(sim: SimState): void;
  /** vCPU g ran a step of slice kind `slice` (S_* of vcpu_step.ts) during [t0, t1); task: for S_TASK. */
  step(sim: SimState, g: number, slice: number, task: number, t0: number, t1: number): void;
  /** vCPU g was blocked (category T_IDLE / T_HALTED / T_SYNC) during [t0, t1) (wakeup included). */
  blocked(sim: SimState, g: number, cat: number, t0: number, t1: number): void;
  /** A kick interrupted vCPU g's compute burst at t. */
  preempted(sim: SimState, g: number, t: number): void;
  /** kvm_async_pf_not_present: a token's life begins. */
  notPresent(sim: SimState, g: number, token: number, gva: number, t: number): void;
  /** The worker completed the token's page-in. */
  completed(sim: SimState, g: number, token: number, t: number): void;
  /** The token's life ends: the guest woke its sleeper (`woken`), or the dequeue ended a halt. */
  tokenEnd(sim: SimState, g: number, token: number, t: number, woken: boolean): void;
  /** The swap device served a page of VM vm on `channel`: queued at tSubmit, served [tStart, tDone). */
  io(
    sim: SimState,
    vm: number,
    gfn: number,
    channel: number,
    tSubmit: number,
    tStart: number,
    tDone: number,
  ): void;
  /** The swap queue or the busy channels changed. */
  swapDepth(sim: SimState, t: number): void;
  sample(sim: SimState, t: number): void;
  /** A kvm_*async_pf* tracepoint of the host model. */
  tracepoint(sim: SimState, vm: number, g: number, tp: number, a: number, b: number, t: number): void;
  /**
   * Whether the exit/injection/MSR tracepoints are wanted (`--events`): only then does the simulator set
   * the host's kvmTrace hook and call kvmEvent. Absent: no.
   */
  readonly kvmEvents?: boolean;
  /** An exit, injection or MSR tracepoint (host/x86/trace.ts KvmTraceSink's fields) of vCPU g. */
  kvmEvent?(
    sim: SimState,
    vm: number,
    g: number,
    tp: number,
    a: number,
    b: number,
    c: number,
    x: bigint,
    xs: readonly bigint[] | null,
    t: number,
  ): void;
  end(sim: SimState, t: number): void;
}
