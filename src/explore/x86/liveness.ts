// The liveness checks (wakeup-liveness, no-hlt-spin, dummy-consumed) need the state graph, which the
// safety search does not keep. This pass explores the same model again (breadth-first, without partial-
// order reduction, whose ample sets only preserve safety), stores every protocol edge (steps other than
// the environment's), and then asks, for each property, which states can still reach a "discharged"
// state by protocol steps alone: a state where something is pending and no such path exists is a
// violation. Environment steps are explored (they lead to new states) but never count as a rescue: a
// wakeup that only a migration or an INIT would bring is a lost wakeup.
//
// The counterexample is a lasso: the shortest path to the first such state (BFS order), then protocol
// steps that stay among undischarged states until one repeats (the loop the system can run for ever).
//
// Cost: a second search of the full state space, plus 8 bytes per protocol edge and a few per state.
import { VISITED_FULL, VisitedSet } from '../visited_set.ts';
import { anyWaiter, faultRetrying, haltedWithDone, vmStopped } from './checks.ts';
import type { X86Model, X86State } from './model.ts';
import type { PropertyName } from './properties.ts';

export interface Lasso {
  /** Step ids from the initial state to the first state of the loop. */
  readonly prefix: readonly number[];
  /** Step ids of the loop (empty when the last state has no protocol step: a deadlock). */
  readonly loop: readonly number[];
}

export type LivenessResult =
  | { readonly kind: 'ok'; readonly states: number; readonly edges: number }
  | {
      readonly kind: 'violation';
      readonly property: PropertyName;
      /** What stays pending, e.g. "task 1 waits" or "vcpu0 halts with done non-empty". */
      readonly detail: string;
      readonly lasso: Lasso;
      readonly states: number;
      readonly edges: number;
    }
  | { readonly kind: 'budget'; readonly states: number; readonly edges: number };

/** Per-state facts the properties read (bits). */
const F_WAITER = 1;
const F_DUMMY = 2;
/** Then per vCPU v: bit (2 + 2v) halted with done non-empty, bit (3 + 2v) done non-empty. */
const haltBit = (v: number): number => 1 << (2 + 2 * v);
const doneBit = (v: number): number => 1 << (3 + 2 * v);
/** A stale fault has not completed yet (after the per-vCPU bits of at most 4 vCPUs). */
const F_FAULT_RETRY = 1 << 12;

function facts(s: X86State): number {
  const w = s.world;
  let f = 0;
  if (vmStopped(w.vm)) return 0; // nothing pending in a stopped VM (checks.ts vmStopped)
  if (anyWaiter(w)) f |= F_WAITER;
  if (w.guest.dummies() > 0) f |= F_DUMMY;
  if (w.layout.cfg.mmu !== undefined && faultRetrying(w)) f |= F_FAULT_RETRY;
  for (let v = 0; v < w.layout.vcpus; v++) {
    if (w.vcpu(v).async_pf.doneLen > 0) f |= doneBit(v);
    if (haltedWithDone(w, v)) f |= haltBit(v);
  }
  return f;
}

class IntList {
  a = new Int32Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
}

/** Protocol steps: everything the system does by itself (not the environment's budgeted actions). */
const isProtocolStep = (m: X86Model, step: number): boolean => {
  const k = m.layout.steps[step]!.kind;
  return (
    k === 'run' ||
    k === 'work' ||
    k === 'sync' ||
    k === 'drain' ||
    k === 'init_deliver' ||
    k === 'fault_lock' ||
    k === 'mm_step'
  );
};

export function checkLiveness(
  model: X86Model,
  properties: readonly PropertyName[],
  budget: { readonly maxStates: number; readonly maxMemBytes?: number },
): LivenessResult {
  const want = new Set(properties);
  const W = model.stateWords;
  const set = new VisitedSet(W, 1024);
  const parent = new IntList();
  const parentStep = new IntList();
  const fact = new IntList();
  const src = new IntList();
  const dst = new IntList();
  const stepOf = new IntList();
  const buf = new Int32Array(W);
  const steps = new Int32Array(Math.max(1, model.stepCount));
  // One working world, stepped in place and restored to the expanded state (X86World.restore).
  const base = model.initial();
  model.encode(base, buf);
  set.findOrAdd(buf);
  parent.push(-1);
  parentStep.push(-1);
  for (let i = 0; i < set.size; i++) {
    const words = set.chunkOf(i);
    const at = set.offsetOf(i);
    model.restore(base, words, at);
    fact.push(facts(base));
    const n = model.enabled(base, steps);
    for (let k = 0; k < n; k++) {
      const step = steps[k]!;
      if (k > 0) model.restore(base, words, at);
      model.apply(base, step);
      model.encode(base, buf);
      let r = set.findOrAdd(buf);
      if (r === VISITED_FULL) {
        const lists = 4 * (parent.a.length + parentStep.a.length + fact.a.length + 3 * src.a.length);
        if (set.size >= budget.maxStates || set.grownByteLength + lists > (budget.maxMemBytes ?? Infinity))
          return { kind: 'budget', states: set.size, edges: src.n };
        set.grow();
        r = set.findOrAdd(buf);
      }
      const j = r >= 0 ? r : -r - 1;
      if (r >= 0) {
        parent.push(i);
        parentStep.push(step);
      }
      if (isProtocolStep(model, step)) {
        src.push(i);
        dst.push(j);
        stepOf.push(step);
      }
    }
  }
  const N = set.size;
  const E = src.n;
  // Reverse CSR of the protocol edges.
  const revStart = new Int32Array(N + 1);
  for (let e = 0; e < E; e++) revStart[dst.a[e]! + 1]!++;
  for (let i = 0; i < N; i++) revStart[i + 1] = revStart[i + 1]! + revStart[i]!;
  const revSrc = new Int32Array(E);
  const fill = revStart.slice(0, N);
  for (let e = 0; e < E; e++) revSrc[fill[dst.a[e]!]!++] = src.a[e]!;
  // Forward CSR (for the loop).
  const fwdStart = new Int32Array(N + 1);
  for (let e = 0; e < E; e++) fwdStart[src.a[e]! + 1]!++;
  for (let i = 0; i < N; i++) fwdStart[i + 1] = fwdStart[i + 1]! + fwdStart[i]!;
  const fwdDst = new Int32Array(E);
  const fwdStep = new Int32Array(E);
  const ffill = fwdStart.slice(0, N);
  for (let e = 0; e < E; e++) {
    const at = ffill[src.a[e]!]!++;
    fwdDst[at] = dst.a[e]!;
    fwdStep[at] = stepOf.a[e]!;
  }

  /** States that can reach a state where `pending` is false, by protocol edges. */
  const canDischarge = (pending: number): Uint8Array => {
    const ok = new Uint8Array(N);
    const queue = new Int32Array(N);
    let qn = 0;
    for (let i = 0; i < N; i++) {
      if ((fact.a[i]! & pending) !== 0) continue;
      ok[i] = 1;
      queue[qn++] = i;
    }
    for (let q = 0; q < qn; q++) {
      const j = queue[q]!;
      for (let e = revStart[j]!; e < revStart[j + 1]!; e++) {
        const i = revSrc[e]!;
        if (ok[i]) continue;
        ok[i] = 1;
        queue[qn++] = i;
      }
    }
    return ok;
  };

  const lassoTo = (bad: number): Lasso => {
    const prefix: number[] = [];
    for (let i = bad; parent.a[i]! >= 0; i = parent.a[i]!) prefix.push(parentStep.a[i]!);
    prefix.reverse();
    // Follow the first protocol edge from each state until a state repeats.
    const seenAt = new Map<number, number>();
    const path: number[] = [];
    const pathSteps: number[] = [];
    let i = bad;
    while (!seenAt.has(i) && fwdStart[i + 1]! > fwdStart[i]!) {
      seenAt.set(i, path.length);
      path.push(i);
      const e = fwdStart[i]!;
      pathSteps.push(fwdStep[e]!);
      i = fwdDst[e]!;
    }
    if (!seenAt.has(i)) return { prefix: [...prefix, ...pathSteps], loop: [] }; // a dead end
    const start = seenAt.get(i)!;
    return { prefix: [...prefix, ...pathSteps.slice(0, start)], loop: pathSteps.slice(start) };
  };

  const checks: Array<{ property: PropertyName; pending: number; at: number; detail: string }> = [];
  if (want.has('wakeup-liveness'))
    checks.push({
      property: 'wakeup-liveness',
      pending: F_WAITER,
      at: F_WAITER,
      detail: 'a waiter is never woken',
    });
  if (want.has('dummy-consumed'))
    checks.push({
      property: 'dummy-consumed',
      pending: F_DUMMY,
      at: F_DUMMY,
      detail: 'a dummy sleep entry is never consumed',
    });
  if (want.has('no-hlt-spin'))
    for (let v = 0; v < model.layout.vcpus; v++)
      checks.push({
        property: 'no-hlt-spin',
        pending: doneBit(v),
        at: haltBit(v),
        detail: `vcpu${v} halts while its done list can never drain: HLT returns at once for ever`,
      });
  if (want.has('fault-progress'))
    checks.push({
      property: 'fault-progress',
      pending: F_FAULT_RETRY,
      at: F_FAULT_RETRY,
      detail: 'a fault sent back as stale never completes, though the host starts no new operation',
    });
  let best: { i: number; c: (typeof checks)[number] } | null = null;
  for (const c of checks) {
    const ok = canDischarge(c.pending);
    for (let i = 0; i < N && (best === null || i < best.i); i++)
      if ((fact.a[i]! & c.at) !== 0 && !ok[i]) {
        best = { i, c };
        break;
      }
  }
  if (best === null) return { kind: 'ok', states: N, edges: E };
  return {
    kind: 'violation',
    property: best.c.property,
    detail: best.c.detail,
    lasso: lassoTo(best.i),
    states: N,
    edges: E,
  };
}
