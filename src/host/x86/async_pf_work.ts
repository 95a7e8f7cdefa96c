// struct kvm_async_pf for one vCPU, as a fixed pool of typed-array slots (x86-apf §2.2, §2.3), plus the
// vcpu->async_pf.queue / .done lists. At most ASYNC_PF_PER_VCPU works plus one wakeup-all item are alive
// at once (a wakeup-all is only queued while `done` is empty), so the pool never grows and nothing is
// allocated per fault.
import { ASYNC_PF_PER_VCPU } from '../../abi/kvm_host.ts';

export const WORK_POOL_SIZE = ASYNC_PF_PER_VCPU + 2;

/** wFlags bits. */
export const W_IN_USE = 1 << 0;
/** Linked on vcpu->async_pf.queue (created, not yet dequeued). Wakeup-all items never are. */
export const W_ON_QUEUE = 1 << 1;
/** Linked on vcpu->async_pf.done. */
export const W_ON_DONE = 1 << 2;
/** async_pf_execute has run (the page was faulted in). */
export const W_EXECUTED = 1 << 3;
export const W_WAKEUP_ALL = 1 << 4;
export const W_NOTPRESENT_INJECTED = 1 << 5;
/** arch.direct_map: created under a direct (TDP) MMU. */
export const W_DIRECT_MAP = 1 << 6;

/** INVALID_GPA for arch.cr3 of direct-map works. */
export const INVALID_GPA = -1;

export interface AsyncPfState {
  /** vcpu->async_pf.queued: works on `queue` plus wakeup-all items on `done`. */
  queued: number;
  /** Per slot: W_* bits. */
  readonly wFlags: Uint8Array;
  /** Per slot: arch.token. */
  readonly wToken: Uint32Array;
  /** Per slot: arch.gfn. */
  readonly wGfn: Float64Array;
  /** Per slot: cr2_or_gpa (the faulting GPA under TDP, the GVA under shadow paging). */
  readonly wCr2OrGpa: Float64Array;
  /** Per slot: arch.cr3 (INVALID_GPA when direct). */
  readonly wCr3: Float64Array;
  /** Per slot: arch.error_code. */
  readonly wErrorCode: Float64Array;
  /** Per slot: bumped on every allocation, so a scheduler can tell a reused slot from the old work. */
  readonly wGen: Uint32Array;
  /** Per slot: creation order, for walking `queue` in list order. */
  readonly wSeq: Float64Array;
  nextSeq: number;
  /** `done` as a FIFO ring of slot indices. */
  readonly done: Int16Array;
  doneHead: number;
  doneLen: number;
}

export function newAsyncPfState(): AsyncPfState {
  return {
    queued: 0,
    wFlags: new Uint8Array(WORK_POOL_SIZE),
    wToken: new Uint32Array(WORK_POOL_SIZE),
    wGfn: new Float64Array(WORK_POOL_SIZE),
    wCr2OrGpa: new Float64Array(WORK_POOL_SIZE),
    wCr3: new Float64Array(WORK_POOL_SIZE),
    wErrorCode: new Float64Array(WORK_POOL_SIZE),
    wGen: new Uint32Array(WORK_POOL_SIZE),
    wSeq: new Float64Array(WORK_POOL_SIZE),
    nextSeq: 0,
    done: new Int16Array(WORK_POOL_SIZE),
    doneHead: 0,
    doneLen: 0,
  };
}

/** kmem_cache_zalloc: a free slot, or -1 (the model's allocation failure; cannot happen by pool size). */
export function allocWork(s: AsyncPfState): number {
  for (let i = 0; i < WORK_POOL_SIZE; i++) {
    if (s.wFlags[i] === 0) {
      s.wFlags[i] = W_IN_USE;
      s.wGen[i] = (s.wGen[i]! + 1) >>> 0;
      s.wSeq[i] = s.nextSeq++;
      s.wToken[i] = 0;
      s.wGfn[i] = 0;
      s.wCr2OrGpa[i] = 0;
      s.wCr3[i] = INVALID_GPA;
      s.wErrorCode[i] = 0;
      return i;
    }
  }
  return -1;
}

export function freeWork(s: AsyncPfState, slot: number): void {
  s.wFlags[slot] = 0;
}

export const doneEmpty = (s: AsyncPfState): boolean => s.doneLen === 0;

/** list_add_tail(&work->link, &done) */
export function donePush(s: AsyncPfState, slot: number): void {
  s.done[(s.doneHead + s.doneLen) % WORK_POOL_SIZE] = slot;
  s.doneLen++;
  s.wFlags[slot] = s.wFlags[slot]! | W_ON_DONE;
}

/** list_first_entry + list_del on `done`. */
export function donePop(s: AsyncPfState): number {
  const slot = s.done[s.doneHead]!;
  s.doneHead = (s.doneHead + 1) % WORK_POOL_SIZE;
  s.doneLen--;
  s.wFlags[slot] = s.wFlags[slot]! & ~W_ON_DONE;
  return slot;
}

/** The i-th item of `done` (0 = head). */
export const doneAt = (s: AsyncPfState, i: number): number => s.done[(s.doneHead + i) % WORK_POOL_SIZE]!;

/** Whether `slot` still holds generation `gen` and its worker has not run: the completion is still due. */
export const workPending = (s: AsyncPfState, slot: number, gen: number): boolean =>
  s.wGen[slot] === gen &&
  (s.wFlags[slot]! & (W_IN_USE | W_ON_QUEUE | W_EXECUTED)) === (W_IN_USE | W_ON_QUEUE);
