/**
 * The apf_slot benchmark model: x86 async-PF 'page ready' delivery through the guest's one-slot mailbox,
 * as in ../shared/bench/apf_slot.pml, in the atomic-step encoding of the bench README (§2): one
 * explorer step per Promela `atomic` block, no init process, every field part of the state's identity.
 * With that encoding BFS finds exactly 18,517 / 974,625 / 2,946,903 states for 2×3 / 3×4 / 3×5, and with
 * BUG_ACK_BEFORE_CLEAR a shortest invalid end state at depth 19 (2×3).
 *
 * Protocol (host = KVM vCPU, guest = IRQ handler and tasks):
 * - a task faults and gets token t (`pending`); later it sleeps on t, or consumes a dummy entry if
 *   'page ready' for t already came (the wake-before-sleep race);
 * - a swap-in completes in any order: t goes onto `doneq` and KVM_REQ_APF_READY (`req`) is set;
 * - on the request the host delivers queued tokens while the slot is free (apf_pageready_slot_free):
 *   slot = t, raise the IRQ;
 * - the guest IRQ handler reads the slot, wakes the sleeper or leaves a dummy, clears the slot, then ACKs
 *   (the ACK MSR write sets `req` again). The seeded bug ACKs before clearing, so the host can look at the
 *   still-full slot, give up, and strand a token.
 *
 * The working state is the encoding itself: an Int32Array of bit fields laid out by a {@link BitLayout}
 * (2 words for 2×3, 3 words for 3×4 and 3×5), read and written through `get`/`set`. So encode, decode
 * and copy are copies of 2–3 words, and a step costs only the few fields it touches.
 */
import { BitLayout } from '../bit_layout.ts';
import type { Model } from '../model.ts';

export interface ApfSlotParams {
  /** Guest tasks (NTASK), >= 1. */
  readonly ntask: number;
  /** Tokens in total (NTOK), 1..30. */
  readonly ntok: number;
  /** -DBUG_ACK_BEFORE_CLEAR: the IRQ handler ACKs (req = 1) before it clears the slot. */
  readonly bugAckBeforeClear?: boolean;
}

// Scalar field indices; the arrays follow from FIXED_FIELDS on.
const SLOT = 0;
const NEXT_TOK = 1;
/** Bit t-1 set iff token t's swap-in has not completed. */
const PENDING = 2;
const REQ = 3;
const IRQ = 4;
/** Host vCPU: 0 = waiting for req, 1 = in the delivery loop (kvm_check_async_pf_completion). */
const HPC = 5;
/** Guest IRQ handler: 0 = idle, 1 = token read, 2 = woken, 3 = slot cleared (fixed model). */
const GPC = 6;
const GT = 7;
const FINISHED = 8;
const WAKEUPS = 9;
const DONEQ_LEN = 10;
const FIXED_FIELDS = 11;

/** The scalar fields by name, for {@link ApfSlotModel.stateWith}. */
const SCALARS = {
  slot: SLOT,
  nextTok: NEXT_TOK,
  pending: PENDING,
  req: REQ,
  irq: IRQ,
  hpc: HPC,
  gpc: GPC,
  gt: GT,
  finished: FINISHED,
  wakeups: WAKEUPS,
  doneqLen: DONEQ_LEN,
} as const;
export type ApfSlotScalar = keyof typeof SCALARS;

/** Task program counters (per the README): 0 fault, 1 sleep-or-dummy, 2 wait for wake, 3 finish, 4 done. */
const PC_FAULT = 0;
const PC_SLEEP = 1;
const PC_WAIT = 2;
const PC_FINISH = 3;
const PC_DONE = 4;

export class ApfSlotModel implements Model<Int32Array> {
  readonly name: string;
  readonly stateWords: number;
  readonly stepCount: number;
  readonly ntask: number;
  readonly ntok: number;
  readonly bug: boolean;
  // Array bases: doneq[k] at DONEQ + k; sleeping[t] at SLEEPING + t; dummy[t] at DUMMY + t (t >= 1);
  // task i's pc at PC + i and t at T + i (i >= 1).
  private readonly DONEQ: number;
  private readonly SLEEPING: number;
  private readonly DUMMY: number;
  private readonly PC: number;
  private readonly T: number;
  // Step ids: swap-in of token t is t - 1; then the host, the guest IRQ handler, and task i at TASK + i.
  private readonly HOST: number;
  private readonly GUEST: number;
  private readonly TASK: number;
  private readonly layout: BitLayout;

  constructor(params: ApfSlotParams) {
    const { ntask, ntok } = params;
    if (!Number.isInteger(ntask) || ntask < 1) throw new RangeError(`NTASK ${ntask}`);
    if (!Number.isInteger(ntok) || ntok < 1 || ntok > 30) throw new RangeError(`NTOK ${ntok}`);
    this.ntask = ntask;
    this.ntok = ntok;
    this.bug = params.bugAckBeforeClear === true;
    this.name = `apf_slot(NTASK=${ntask}, NTOK=${ntok}${this.bug ? ', BUG_ACK_BEFORE_CLEAR' : ''})`;
    this.DONEQ = FIXED_FIELDS;
    this.SLEEPING = this.DONEQ + ntok - 1;
    this.DUMMY = this.SLEEPING + ntok;
    this.PC = this.DUMMY + ntok;
    this.T = this.PC + ntask;
    this.HOST = ntok;
    this.GUEST = ntok + 1;
    this.TASK = ntok + 1;
    this.stepCount = ntok + 2 + ntask;

    const tok = BitLayout.bitsFor(ntok);
    const widths: number[] = [];
    widths[SLOT] = tok;
    widths[NEXT_TOK] = BitLayout.bitsFor(ntok + 1);
    widths[PENDING] = ntok;
    widths[REQ] = 1;
    widths[IRQ] = 1;
    widths[HPC] = 1;
    widths[GPC] = 2;
    widths[GT] = tok;
    widths[FINISHED] = BitLayout.bitsFor(ntask);
    widths[WAKEUPS] = BitLayout.bitsFor(ntok);
    widths[DONEQ_LEN] = BitLayout.bitsFor(ntok);
    for (let k = 0; k < ntok; k++) widths[this.DONEQ + k] = tok;
    for (let t = 1; t <= ntok; t++) widths[this.SLEEPING + t] = BitLayout.bitsFor(ntask);
    for (let t = 1; t <= ntok; t++) widths[this.DUMMY + t] = 1;
    for (let i = 1; i <= ntask; i++) widths[this.PC + i] = 3;
    for (let i = 1; i <= ntask; i++) widths[this.T + i] = tok;
    this.layout = new BitLayout(widths);
    this.stateWords = this.layout.words;
  }

  /**
   * A state with the given scalar fields set, the rest as in `into` (default: the initial state). For
   * tests and hand-made scenarios: it does not check that the state is reachable.
   */
  stateWith(fields: Partial<Record<ApfSlotScalar, number>>, into: Int32Array = this.initial()): Int32Array {
    for (const [name, value] of Object.entries(fields)) {
      if (value !== undefined) this.layout.set(into, SCALARS[name as ApfSlotScalar], value);
    }
    return into;
  }

  initial(): Int32Array {
    const s = new Int32Array(this.stateWords);
    this.layout.set(s, NEXT_TOK, 1);
    return s;
  }

  copy(from: Int32Array, to: Int32Array): void {
    // A plain loop: TypedArray#set costs more than copying two or three words.
    for (let w = 0; w < this.stateWords; w++) to[w] = from[w];
  }

  encode(s: Int32Array, out: Int32Array): void {
    for (let w = 0; w < this.stateWords; w++) out[w] = s[w];
  }

  decode(words: Int32Array, offset: number, into: Int32Array): void {
    for (let w = 0; w < this.stateWords; w++) into[w] = words[offset + w];
  }

  enabled(s: Int32Array, out: Int32Array): number {
    const L = this.layout;
    let n = 0;
    const pending = L.get(s, PENDING);
    for (let t = 1; t <= this.ntok; t++) if ((pending & (1 << (t - 1))) !== 0) out[n++] = t - 1;
    if (L.get(s, HPC) === 1 || L.get(s, REQ) === 1) out[n++] = this.HOST;
    if (L.get(s, GPC) !== 0 || L.get(s, IRQ) === 1) out[n++] = this.GUEST;
    for (let i = 1; i <= this.ntask; i++) {
      const pc = L.get(s, this.PC + i);
      if (pc === PC_DONE) continue;
      if (pc === PC_WAIT && L.get(s, this.SLEEPING + L.get(s, this.T + i)) === i) continue;
      out[n++] = this.TASK + i;
    }
    return n;
  }

  apply(s: Int32Array, step: number): string | null {
    if (step < this.ntok) {
      // Swapin(t): atomic { doneq!t; req = true }
      const L = this.layout;
      const len = L.get(s, DONEQ_LEN);
      L.set(s, PENDING, L.get(s, PENDING) & ~(1 << step));
      L.set(s, this.DONEQ + len, step + 1);
      L.set(s, DONEQ_LEN, len + 1);
      L.set(s, REQ, 1);
      return null;
    }
    if (step === this.HOST) {
      this.hostStep(s);
      return null;
    }
    if (step === this.GUEST) return this.guestStep(s);
    this.taskStep(s, step - this.TASK);
    return null;
  }

  /** HostVcpu: `atomic { req -> req = false }`, then the delivery loop's `atomic` or its `else -> break`. */
  private hostStep(s: Int32Array): void {
    const L = this.layout;
    if (L.get(s, HPC) === 0) {
      L.set(s, REQ, 0);
      L.set(s, HPC, 1);
    } else if (L.get(s, SLOT) === 0 && L.get(s, DONEQ_LEN) > 0) {
      const d = this.DONEQ;
      const len = L.get(s, DONEQ_LEN);
      L.set(s, SLOT, L.get(s, d));
      for (let k = 1; k < len; k++) L.set(s, d + k - 1, L.get(s, d + k));
      L.set(s, d + len - 1, 0);
      L.set(s, DONEQ_LEN, len - 1);
      L.set(s, IRQ, 1);
    } else {
      L.set(s, HPC, 0);
    }
  }

  /** GuestIrq: read the slot, wake (kvm_async_pf_task_wake), then clear the slot and ACK (in bug order). */
  private guestStep(s: Int32Array): string | null {
    const L = this.layout;
    switch (L.get(s, GPC)) {
      case 0:
        L.set(s, IRQ, 0);
        L.set(s, GT, L.get(s, SLOT));
        L.set(s, GPC, 1);
        return null;
      case 1: {
        const t = L.get(s, GT);
        if (t === 0) return 'assert(t != 0)';
        if (L.get(s, this.SLEEPING + t) !== 0) {
          L.set(s, this.SLEEPING + t, 0);
          L.set(s, WAKEUPS, L.get(s, WAKEUPS) + 1);
        } else {
          if (L.get(s, this.DUMMY + t) !== 0) return 'assert(!dummy[t])';
          L.set(s, this.DUMMY + t, 1);
        }
        L.set(s, GPC, 2);
        return null;
      }
      case 2:
        L.set(s, this.bug ? REQ : SLOT, this.bug ? 1 : 0);
        L.set(s, GPC, 3);
        return null;
      default:
        L.set(s, this.bug ? SLOT : REQ, this.bug ? 0 : 1);
        L.set(s, GT, 0);
        L.set(s, GPC, 0);
        return null;
    }
  }

  /** Task(i): fault -> token t; sleep on t or consume its dummy; wait for the wake; finish when out of tokens. */
  private taskStep(s: Int32Array, i: number): void {
    const L = this.layout;
    const pcAt = this.PC + i;
    const tAt = this.T + i;
    switch (L.get(s, pcAt)) {
      case PC_FAULT: {
        const t = L.get(s, NEXT_TOK);
        if (t <= this.ntok) {
          L.set(s, tAt, t);
          L.set(s, NEXT_TOK, t + 1);
          L.set(s, PENDING, L.get(s, PENDING) | (1 << (t - 1)));
          L.set(s, pcAt, PC_SLEEP);
        } else {
          L.set(s, pcAt, PC_FINISH);
        }
        return;
      }
      case PC_SLEEP: {
        const t = L.get(s, tAt);
        if (L.get(s, this.DUMMY + t) !== 0) L.set(s, this.DUMMY + t, 0);
        else L.set(s, this.SLEEPING + t, i);
        L.set(s, pcAt, PC_WAIT);
        return;
      }
      case PC_WAIT:
        L.set(s, tAt, 0);
        L.set(s, pcAt, PC_FAULT);
        return;
      default:
        L.set(s, FINISHED, L.get(s, FINISHED) + 1);
        L.set(s, pcAt, PC_DONE);
    }
  }

  /** The assertion `init` makes once every task finished (successors are still generated). */
  invariant(s: Int32Array): string | null {
    const L = this.layout;
    if (
      L.get(s, FINISHED) === this.ntask &&
      (L.get(s, DONEQ_LEN) !== 0 || L.get(s, NEXT_TOK) !== this.ntok + 1)
    ) {
      return 'assert(len(doneq) == 0 && nextTok == NTOK + 1)';
    }
    return null;
  }

  /** No step enabled before every task finished: a task sleeps on a token that will never be delivered. */
  endState(s: Int32Array): string | null {
    return this.layout.get(s, FINISHED) < this.ntask ? 'invalid end state' : null;
  }

  stepLabel(step: number, s: Int32Array): string {
    const L = this.layout;
    const get = (f: number) => L.get(s, f);
    if (step < this.ntok) return `swap-in of token ${step + 1} completes`;
    if (step === this.HOST) {
      if (get(HPC) === 0) return 'host: takes KVM_REQ_APF_READY';
      if (get(SLOT) === 0 && get(DONEQ_LEN) > 0)
        return `host: delivers token ${get(this.DONEQ)} into the slot, raises the IRQ`;
      return get(SLOT) !== 0 ? 'host: slot busy, stops delivering' : 'host: nothing queued, stops delivering';
    }
    if (step === this.GUEST) {
      const t = get(GT);
      switch (get(GPC)) {
        case 0:
          return `guest IRQ: reads token ${get(SLOT)} from the slot`;
        case 1:
          return get(this.SLEEPING + t) !== 0
            ? `guest IRQ: wakes task ${get(this.SLEEPING + t)} (token ${t})`
            : `guest IRQ: no sleeper on token ${t}, leaves a dummy`;
        case 2:
          return this.bug
            ? 'guest IRQ: ACKs (req = 1) before clearing the slot'
            : 'guest IRQ: clears the slot';
        default:
          return this.bug ? 'guest IRQ: clears the slot' : 'guest IRQ: ACKs (req = 1)';
      }
    }
    const i = step - this.TASK;
    const t = get(this.T + i);
    switch (get(this.PC + i)) {
      case PC_FAULT:
        return get(NEXT_TOK) <= this.ntok
          ? `task ${i}: faults, gets token ${get(NEXT_TOK)}`
          : `task ${i}: no tokens left`;
      case PC_SLEEP:
        return get(this.DUMMY + t) !== 0
          ? `task ${i}: finds the dummy for token ${t}`
          : `task ${i}: sleeps on token ${t}`;
      case PC_WAIT:
        return `task ${i}: runs again (token ${t} done)`;
      default:
        return `task ${i}: finishes`;
    }
  }

  describe(s: Int32Array): Record<string, string | number> {
    const L = this.layout;
    const get = (f: number) => L.get(s, f);
    const tokens = Array.from({ length: this.ntok }, (_, k) => k + 1);
    const queued = Array.from({ length: get(DONEQ_LEN) }, (_, k) => get(this.DONEQ + k));
    const d: Record<string, string | number> = {
      slot: get(SLOT),
      nextTok: get(NEXT_TOK),
      pending: `{${tokens.filter((t) => (get(PENDING) & (1 << (t - 1))) !== 0).join(',')}}`,
      doneq: `[${queued.join(',')}]`,
      req: get(REQ),
      irq: get(IRQ),
      hpc: get(HPC),
      gpc: get(GPC),
      gt: get(GT),
    };
    for (const t of tokens) d[`sleeping[${t}]`] = get(this.SLEEPING + t);
    for (const t of tokens) d[`dummy[${t}]`] = get(this.DUMMY + t);
    for (let i = 1; i <= this.ntask; i++) {
      d[`task${i}.pc`] = get(this.PC + i);
      d[`task${i}.t`] = get(this.T + i);
    }
    d.finished = get(FINISHED);
    d.wakeups = get(WAKEUPS);
    return d;
  }
}

/** The apf_slot model for NTASK tasks and NTOK tokens (the .pml's defaults are 2 and 3). */
export function apfSlotModel(params: ApfSlotParams): ApfSlotModel {
  return new ApfSlotModel(params);
}
