// What the explore world needs from a guest model beyond GuestModel: its state as words (encode/decode
// into the real guest objects), the predicates the properties read, what it is about to do (for step
// labels) and the environment's guest-side actions (INIT). One implementation per guest model.
import type { KvmVcpu } from '../../host/x86/vcpu.ts';
import type { GuestModel } from '../../host/x86/vm.ts';

export interface GuestAdapter {
  /** The guest the host injects into and steps. */
  readonly model: GuestModel;
  readonly kind: 'linux' | 'bare';
  /** Words of every encoding. */
  readonly words: number;
  /** Where the encoding's parts start (relative word offsets, ascending from 0), for collapse compression. */
  readonly components?: readonly number[];
  /** Guest-memory u32 words (GPAs) this adapter's encoding already covers. */
  readonly coveredWords: readonly number[];
  encode(out: Int32Array, off: number): void;
  decode(words: Int32Array, off: number): void;

  /** Called before the host runs `vcpu` (the bare guest fetches its next op here). */
  beforeRun(vcpu: KvmVcpu): void;
  /** The guest can no longer execute anything (a Linux panic). */
  dead(): boolean;
  /** The guest WARNed about unexpected async-PF flags (encoded, sticky). */
  warnedFlags(): boolean;
  /** The guest panicked (encoded, sticky). */
  panicked(): boolean;

  /** Number of waiter instances the liveness check tracks (tasks for Linux, one per vCPU for bare). */
  readonly waiterSlots: number;
  /** Whether waiter `i` waits for a page-ready now (a task asleep on a token, outstanding tokens). */
  waiting(i: number): boolean;
  /** The vCPU whose page-ready (or wakeup-all) can end waiter i's wait, or -1 if unknown. */
  waiterVcpu(i: number): number;
  /** Anything in flight on this CPU that may still wake a waiter: a handler or queued kernel work. */
  busy(cpu: number): boolean;
  /** Dummy sleep entries present now. */
  dummies(): number;
  /** Dummies leaked so far (a counter, not encoded; the observer takes deltas). */
  leakedDummies(): number;

  /** The environment's INIT for this vCPU (guest side: see world.ts). */
  initCpu(vcpu: KvmVcpu): void;

  /** What the guest's next instruction on this CPU is, for step labels. */
  nextAction(vcpu: KvmVcpu): string;
  /** Named fields for counterexample diffs. */
  describe(out: Record<string, string | number | boolean>): void;
}

export const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
