// async_pf_sleepers: the guest's global table of tasks waiting for a 'page ready' (x86-apf §4.4).
// 256 hlist buckets indexed by hash_32(token, 8); a node is {token, cpu, wait queue}. A sleeper's node
// lives on its kernel stack, so here node i (i < nTaskNodes) belongs to task i and is never allocated;
// the "dummy" nodes a wake creates when it overtakes its fault are kzalloc'd, here taken from a fixed
// pool with an index free list. Nothing is allocated per fault.
//
// The raw bucket spinlocks are not modelled: every function here runs as part of one guest step, so it
// is atomic with respect to the other vCPUs' steps.
import { APF_WAKEUP_ALL_TOKEN, GOLDEN_RATIO_32 } from '../../../abi/kvm_host.ts';

export const KVM_TASK_SLEEP_HASHBITS = 8;
export const KVM_TASK_SLEEP_HASHSIZE = 1 << KVM_TASK_SLEEP_HASHBITS;

const NIL = -1;

/** @kernel hash_32 (include/linux/hash.h): the top `bits` bits of val * GOLDEN_RATIO_32 (u32). */
export const hash_32 = (val: number, bits: number): number =>
  Math.imul(val >>> 0, GOLDEN_RATIO_32) >>> (32 - bits);

export interface SleepTable {
  /** First node of each bucket's hlist, or -1. */
  readonly head: Int32Array;
  /** Next node in the bucket (or in the dummy free list), or -1. */
  readonly next: Int32Array;
  readonly token: Uint32Array;
  readonly cpu: Int32Array;
  /** 1 while the node is hashed; hlist_unhashed() is `linked === 0`. */
  readonly linked: Uint8Array;
  /** Nodes [0, nTaskNodes) are the sleepers' on-stack nodes: node i belongs to task i. */
  readonly nTaskNodes: number;
  /** Head of the free list of dummy nodes (indices ≥ nTaskNodes), or -1 when the pool is exhausted. */
  freeDummy: number;
  /** Counters (not part of the encoded state). */
  dummiesCreated: number;
  dummiesConsumed: number;
  /** Dummies unlinked by a wake without being freed (x86-apf §4.4 apf_task_wake_all; §9 item 6). */
  dummiesLeaked: number;
  dummyAllocFailures: number;
  /** A fault found a *sleeper* node with its token: only possible with duplicate tokens. */
  duplicateTokens: number;
}

export function newSleepTable(nTaskNodes: number, nDummies: number): SleepTable {
  const n = nTaskNodes + nDummies;
  const t: SleepTable = {
    head: new Int32Array(KVM_TASK_SLEEP_HASHSIZE).fill(NIL),
    next: new Int32Array(n).fill(NIL),
    token: new Uint32Array(n),
    cpu: new Int32Array(n),
    linked: new Uint8Array(n),
    nTaskNodes,
    freeDummy: NIL,
    dummiesCreated: 0,
    dummiesConsumed: 0,
    dummiesLeaked: 0,
    dummyAllocFailures: 0,
    duplicateTokens: 0,
  };
  resetSleepTable(t);
  return t;
}

/** Empties every bucket and puts every dummy back on the free list (counters are kept). */
export function resetSleepTable(t: SleepTable): void {
  t.head.fill(NIL);
  t.linked.fill(0);
  t.next.fill(NIL);
  t.freeDummy = NIL;
  for (let i = t.next.length - 1; i >= t.nTaskNodes; i--) {
    t.next[i] = t.freeDummy;
    t.freeDummy = i;
  }
}

export const isDummy = (t: SleepTable, node: number): boolean => node >= t.nTaskNodes;

function allocDummy(t: SleepTable): number {
  const n = t.freeDummy;
  if (n === NIL) return NIL;
  t.freeDummy = t.next[n]!;
  t.next[n] = NIL;
  return n;
}

/**
 * kfree of a dummy. A leaked dummy is also returned to the pool: the kernel loses that memory, but
 * keeping the slot out of the model's small pool would only make later wakes fail artificially.
 */
function freeDummy(t: SleepTable, n: number): void {
  t.next[n] = t.freeDummy;
  t.freeDummy = n;
}

function hlist_add_head(t: SleepTable, bucket: number, n: number): void {
  t.next[n] = t.head[bucket]!;
  t.head[bucket] = n;
  t.linked[n] = 1;
}

/** hlist_del_init: unlink `n` from its bucket (buckets are short, so walk to the predecessor). */
function hlist_del_init(t: SleepTable, bucket: number, n: number): void {
  let p = t.head[bucket]!;
  if (p === n) t.head[bucket] = t.next[n]!;
  else {
    while (t.next[p] !== n) p = t.next[p]!;
    t.next[p] = t.next[n]!;
  }
  t.next[n] = NIL;
  t.linked[n] = 0;
}

/** @kernel _find_apf_task: the first node of the bucket with this token, or -1. */
export function _find_apf_task(t: SleepTable, bucket: number, token: number): number {
  for (let n = t.head[bucket]!; n !== NIL; n = t.next[n]!) if (t.token[n] === token >>> 0) return n;
  return NIL;
}

/** Called for each sleeper a wake unlinks (the swake_up_one of its task). */
export type WakeTask = (task: number) => void;

/**
 * @kernel apf_task_wake_one: unlink the node and wake its sleeper. A dummy has no sleeper and is not
 * freed here: whoever unlinks a dummy this way leaks it.
 */
function apf_task_wake_one(t: SleepTable, bucket: number, n: number, wake: WakeTask): void {
  hlist_del_init(t, bucket, n);
  if (isDummy(t, n)) {
    t.dummiesLeaked++;
    freeDummy(t, n);
  } else wake(n);
}

export const QUEUED = 0;
/** A dummy for the token existed: the wake came first, so the fault returns without sleeping. */
export const CONSUMED_DUMMY = 1;

/**
 * @kernel kvm_async_pf_queue_task (the first half of kvm_async_pf_task_wait_schedule): consume a dummy
 * with this token, or hash the task's own node {token, cpu}.
 */
export function kvm_async_pf_queue_task(t: SleepTable, token: number, task: number, cpu: number): number {
  const bucket = hash_32(token, KVM_TASK_SLEEP_HASHBITS);
  const e = _find_apf_task(t, bucket, token);
  if (e !== NIL) {
    // hlist_del + kfree. A sleeper node here would mean two faults share a token (§9 item 4); the
    // kernel would kfree an on-stack node. The model unlinks it and counts the anomaly instead.
    hlist_del_init(t, bucket, e);
    if (isDummy(t, e)) {
      t.dummiesConsumed++;
      freeDummy(t, e);
    } else t.duplicateTokens++;
    return CONSUMED_DUMMY;
  }
  t.token[task] = token >>> 0;
  t.cpu[task] = cpu;
  hlist_add_head(t, bucket, task);
  return QUEUED;
}

/** @kernel apf_task_wake_all: unlink and wake every node of this CPU, dummies included (leaked). */
export function apf_task_wake_all(t: SleepTable, cpu: number, wake: WakeTask): void {
  for (let b = 0; b < KVM_TASK_SLEEP_HASHSIZE; b++) {
    let n = t.head[b]!;
    while (n !== NIL) {
      const next = t.next[n]!; // hlist_for_each_safe
      if (t.cpu[n] === cpu) apf_task_wake_one(t, b, n, wake);
      n = next;
    }
  }
}

export const WOKE = 0;
export const DUMMY_CREATED = 1;
/** GFP_ATOMIC failed (the pool is empty): the caller retries the whole wake later (cpu_relax; goto again). */
export const ALLOC_FAILED = 2;
export const WOKE_ALL = 3;

/**
 * @kernel kvm_async_pf_task_wake (x86-apf §4.4): ~0 wakes all of this CPU; a found node is woken;
 * otherwise a dummy {token, cpu} records that the wake came first. The kernel allocates the dummy
 * outside the bucket lock and searches again before inserting it; as one atomic model step the second
 * search always gives the first one's answer, so it is folded in.
 */
export function kvm_async_pf_task_wake(t: SleepTable, token: number, cpu: number, wake: WakeTask): number {
  if (token >>> 0 === APF_WAKEUP_ALL_TOKEN) {
    apf_task_wake_all(t, cpu, wake);
    return WOKE_ALL;
  }
  const bucket = hash_32(token, KVM_TASK_SLEEP_HASHBITS);
  const n = _find_apf_task(t, bucket, token);
  if (n !== NIL) {
    apf_task_wake_one(t, bucket, n, wake);
    return WOKE;
  }
  const dummy = allocDummy(t);
  if (dummy === NIL) {
    t.dummyAllocFailures++;
    return ALLOC_FAILED;
  }
  t.token[dummy] = token >>> 0;
  t.cpu[dummy] = cpu;
  hlist_add_head(t, bucket, dummy);
  t.dummiesCreated++;
  return DUMMY_CREATED;
}

/** hlist_unhashed(&n.link) for a sleeper's node. */
export const sleeperUnhashed = (t: SleepTable, task: number): boolean => t.linked[task] === 0;

/** Linked nodes, for tests and encoding: calls `f(bucket, node)` in bucket order, then list order. */
export function forEachSleepNode(t: SleepTable, f: (bucket: number, node: number) => void): void {
  for (let b = 0; b < KVM_TASK_SLEEP_HASHSIZE; b++)
    for (let n = t.head[b]!; n !== NIL; n = t.next[n]!) f(b, n);
}

/**
 * Appends a node at the *tail* of its bucket (for decoding a canonical encoding, which lists each
 * bucket in list order). `task` < 0 takes a dummy from the pool; returns false if none is left.
 */
export function appendSleepNode(t: SleepTable, token: number, cpu: number, task: number): boolean {
  const n = task >= 0 ? task : allocDummy(t);
  if (n === NIL) return false;
  const bucket = hash_32(token, KVM_TASK_SLEEP_HASHBITS);
  t.token[n] = token >>> 0;
  t.cpu[n] = cpu;
  t.linked[n] = 1;
  t.next[n] = NIL;
  let p = t.head[bucket]!;
  if (p === NIL) t.head[bucket] = n;
  else {
    while (t.next[p] !== NIL) p = t.next[p]!;
    t.next[p] = n;
  }
  return true;
}
