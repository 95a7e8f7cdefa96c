// The des.c model (../shared/bench/des.c) on top of the engine's heap and PRNG: the engine core's
// correctness check (bit-for-bit equal output) and its speed check (events/s against the C build).
//
// The model: N vCPUs each run for exp(mean 10) then, with probability 0.3, fault; a fault holds one of
// CAP units of a FIFO "swap device" for exp(mean 100). Units are des.c's (µs). The run stops when
// `limit` faults have completed, checked before each pop; "events" are heap pops.
//
// Everything below follows des.c's draw order exactly, since one extra or reordered draw changes every
// later number:
//   - init: for i = 0..N-1, push run-end(i) at expo(10);
//   - run-end(v): draw u; if u < 0.3 it faults: take a unit and push fault-end(v) at now+expo(100), or
//     join the FIFO if all units are busy; otherwise push run-end(v) at now+expo(10);
//   - fault-end(v): faults++; hand the unit to the FIFO head w (push fault-end(w) at now+expo(100)) or
//     release it; then push run-end(v) at now+expo(10).
// Payloads encode the event as v*2 (run-end) or v*2+1 (fault-end), as in des.c.

import { EventHeap } from './heap.ts';
import { Mulberry32 } from './rng.ts';

export interface DesResult {
  events: number;
  faults: number;
  /** Time of the last popped event (des.c's `now`). */
  simTime: number;
  /** Sum of FIFO waiting times divided by completed faults (des.c's `waitsum/faults`). */
  meanWait: number;
}

export interface DesConfig {
  vcpus: number;
  cap: number;
  limit: number;
  seed: number;
}

/**
 * One des.c run. The constructor allocates (like des.c's mallocs before its clock starts); `run()` does
 * the initial pushes and the loop (what des.c times). A DesReference runs once.
 */
export class DesReference {
  private readonly cfg: DesConfig;
  private readonly heap: EventHeap;
  private readonly rng: Mulberry32;
  /** Ring buffer of waiting vCPUs, N+1 slots like des.c (never more than N waiters). */
  private readonly fifo: Int32Array;
  /** When each waiting vCPU joined the FIFO. */
  private readonly waitStart: Float64Array;

  constructor(cfg: DesConfig) {
    this.cfg = cfg;
    this.heap = new EventHeap(cfg.vcpus + 8);
    this.rng = new Mulberry32(cfg.seed);
    this.fifo = new Int32Array(cfg.vcpus + 1);
    this.waitStart = new Float64Array(cfg.vcpus);
  }

  run(): DesResult {
    const { vcpus, cap, limit } = this.cfg;
    const heap = this.heap;
    const rng = this.rng;
    const fifo = this.fifo;
    const waitStart = this.waitStart;
    const ring = vcpus + 1;
    let head = 0;
    let tail = 0;
    let queued = 0;
    let busy = 0;
    let now = 0;
    let waitSum = 0;
    let faults = 0;
    let events = 0;

    for (let i = 0; i < vcpus; i++) heap.push(-10 * Math.log(1 - rng.next()), i * 2);
    while (faults < limit) {
      const p = heap.pop();
      now = heap.lastTime;
      events++;
      const v = p >> 1;
      // Every event except a queued fault ends with one push for v: run-end(v) at now+expo(10), or (a
      // fault that got a unit) fault-end(v) at now+expo(100). Sharing that one push site keeps run() small
      // enough for V8 to inline the heap and PRNG calls everywhere; the draw order is unchanged.
      let mean = 10;
      let next = v * 2;
      if ((p & 1) === 0) {
        // run-end(v)
        if (rng.next() < 0.3) {
          if (busy < cap) {
            busy++;
            mean = 100;
            next = v * 2 + 1;
          } else {
            fifo[tail] = v;
            tail = tail + 1 === ring ? 0 : tail + 1;
            queued++;
            waitStart[v] = now;
            continue;
          }
        }
      } else {
        // fault-end(v): the unit goes to the FIFO head (pushed first, as in des.c) or back to the pool.
        faults++;
        if (queued > 0) {
          const w = fifo[head]!;
          head = head + 1 === ring ? 0 : head + 1;
          queued--;
          waitSum += now - waitStart[w]!;
          heap.push(now + -100 * Math.log(1 - rng.next()), w * 2 + 1);
        } else {
          busy--;
        }
      }
      // des.c: now + expo(mean) with expo(m) = -m * log(1 - u); -mean * x is the same double.
      heap.push(now + -mean * Math.log(1 - rng.next()), next);
    }
    return { events, faults, simTime: now, meanWait: waitSum / faults };
  }
}

/** Convenience: allocate and run. */
export function runDesReference(cfg: DesConfig): DesResult {
  return new DesReference(cfg).run();
}

/** Formats a result the way des.c prints it (simTime %.6f, meanWait %.4f), for exact comparison. */
export function formatDesResult(r: DesResult): string {
  return `events ${r.events}, simTime ${r.simTime.toFixed(6)}, meanWait ${r.meanWait.toFixed(4)}`;
}
