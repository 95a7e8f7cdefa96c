// async_pf_sleepers: the guest's global table of tasks waiting for a 'page ready' (x86-apf §4.4, §5.3).
// 256 hlist buckets indexed by hash_32(token, 8); a node is {token, cpu, wait queue} plus, in the legacy
// guest, `halted`. A sleeper's node lives on its kernel stack, so here node i (i < nTaskNodes) belongs to
// task i and is never allocated; the legacy guest's idle task can wait too (a halted wait), so node
// nTaskNodes + c belongs to CPU c's idle task. The "dummy" nodes a wake creates when it overtakes its
// fault are kzalloc'd, here taken from a fixed pool with an index free list. Nothing is allocated per
// fault.
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
  /**
   * The legacy guest's `n->halted`: the waiter cannot schedule and loops on `sti; hlt`, so waking it is a
   * reschedule IPI to `n->cpu` rather than a swake_up_one (x86-apf §5.3). Always 0 in ≥5.8 guests.
   */
  readonly halted: Uint8Array;
  /** Nodes [0, nTaskNodes) are the sleepers' on-stack nodes: node i belongs to task i. */
  readonly nTaskNodes: number;
  /** Nodes [nTaskNodes, nTaskNodes + nCpuNodes) belong to the idle tasks: node nTaskNodes + c is CPU c's. */
  readonly nCpuNodes: number;
  /** The first dummy node: nTaskNodes + nCpuNodes. */
  readonly firstDummy: number;
  /**
   * apf_task_wake_all kfree()s the dummies it unlinks (a hypothetical fix, config.wake_all_frees_dummies).
   * False in every modelled kernel, which leak them.
   */
  readonly wakeAllFreesDummies: boolean;
  /** Head of the free list of dummy nodes (indices ≥ nTaskNodes), or -1 when the pool is exhausted. */
  freeDummy: number;
  /** Counters (not part of the encoded state). */
  dummiesCreated: number;
  dummiesConsumed: number;
  /** Dummies unlinked by a wake without being freed (x86-apf §4.4 apf_task_wake_all; §9 item 6). */
  dummiesLeaked: number;
  /** Dummies unlinked and freed by the fixed apf_task_wake_all (wakeAllFreesDummies). */
  dummiesFreedByWakeAll: number;
  dummyAllocFailures: number;
  /** A fault found a *sleeper* node with its token: only possible with duplicate tokens. */
  duplicateTokens: number;
}

export function newSleepTable(
  nTaskNodes: number,
  nDummies: number,
  nCpuNodes = 0,
  wakeAllFreesDummies = false,
): SleepTable {
  const n = nTaskNodes + nCpuNodes + nDummies;
  const t: SleepTable = {
    head: new Int32Array(KVM_TASK_SLEEP_HASHSIZE).fill(NIL),
    next: new Int32Array(n).fill(NIL),
    token: new Uint32Array(n),
    cpu: new Int32Array(n),
    linked: new Uint8Array(n),
    halted: new Uint8Array(n),
    nTaskNodes,
    nCpuNodes,
    firstDummy: nTaskNodes + nCpuNodes,
    wakeAllFreesDummies,
    freeDummy: NIL,
    dummiesCreated: 0,
    dummiesConsumed: 0,
    dummiesLeaked: 0,
    dummiesFreedByWakeAll: 0,
    dummyAllocFailures: 0,
    duplicateTokens: 0,
  };
  resetSleepTable(t);
  return t;
}

/** Empties every bucket and puts every dummy back on the free list (counters are kept). */
export function resetSleepTable(t: SleepTable): void {
  t.head.fill(NIL);
  clearSleepNodes(t);
}

/** resetSleepTable for a table whose buckets are already empty: unlinks every node, refills the dummy pool. */
export function clearSleepNodes(t: SleepTable): void {
  t.linked.fill(0);
  t.halted.fill(0);
  t.next.fill(NIL);
  t.freeDummy = NIL;
  for (let i = t.next.length - 1; i >= t.firstDummy; i--) {
    t.next[i] = t.freeDummy;
    t.freeDummy = i;
  }
}

export const isDummy = (t: SleepTable, node: number): boolean => node >= t.firstDummy;

/** The node of CPU `cpu`'s idle task (legacy halted waits). */
export const cpuNode = (t: SleepTable, cpu: number): number => t.nTaskNodes + cpu;

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

/**
 * Called for each waiter's node a wake unlinks: the swake_up_one of its task, or for a `halted` node
 * (legacy) smp_send_reschedule(n->cpu). The node is already unlinked; its token, cpu and halted remain.
 */
export type WakeTask = (node: number) => void;

/**
 * @kernel apf_task_wake_one: unlink the node and wake its sleeper. A dummy has no sleeper and is not
 * freed here: whoever unlinks a dummy this way leaks it — unless, with the hypothetical fix, it is
 * apf_task_wake_all (`fromWakeAll`) that frees what it unlinked.
 */
function apf_task_wake_one(
  t: SleepTable,
  bucket: number,
  n: number,
  wake: WakeTask,
  fromWakeAll: boolean,
): void {
  hlist_del_init(t, bucket, n);
  if (isDummy(t, n)) {
    if (fromWakeAll && t.wakeAllFreesDummies) t.dummiesFreedByWakeAll++;
    else t.dummiesLeaked++;
    freeDummy(t, n);
  } else wake(n);
}

export const QUEUED = 0;
/** A dummy for the token existed: the wake came first, so the fault returns without sleeping. */
export const CONSUMED_DUMMY = 1;

/**
 * @kernel kvm_async_pf_queue_task (the first half of kvm_async_pf_task_wait_schedule; in the legacy guest
 * the first half of kvm_async_pf_task_wait): consume a dummy with this token, or hash the waiter's own
 * node {token, cpu, halted} — a task's node, or (legacy) the idle task's node of this CPU.
 */
export function kvm_async_pf_queue_task(
  t: SleepTable,
  token: number,
  node: number,
  cpu: number,
  halted = false,
): number {
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
  t.token[node] = token >>> 0;
  t.cpu[node] = cpu;
  t.halted[node] = halted ? 1 : 0;
  hlist_add_head(t, bucket, node);
  return QUEUED;
}

/**
 * @kernel apf_task_wake_all: unlink and wake every node of this CPU, dummies included (leaked, or freed
 * with the hypothetical fix).
 */
export function apf_task_wake_all(t: SleepTable, cpu: number, wake: WakeTask): void {
  for (let b = 0; b < KVM_TASK_SLEEP_HASHSIZE; b++) {
    let n = t.head[b]!;
    while (n !== NIL) {
      const next = t.next[n]!; // hlist_for_each_safe
      if (t.cpu[n] === cpu) apf_task_wake_one(t, b, n, wake, true);
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
    apf_task_wake_one(t, bucket, n, wake, false);
    return WOKE;
  }
  const dummy = allocDummy(t);
  if (dummy === NIL) {
    t.dummyAllocFailures++;
    return ALLOC_FAILED;
  }
  t.token[dummy] = token >>> 0;
  t.cpu[dummy] = cpu;
  t.halted[dummy] = 0; // kzalloc
  hlist_add_head(t, bucket, dummy);
  t.dummiesCreated++;
  return DUMMY_CREATED;
}

/** hlist_unhashed(&n.link) for a waiter's node. */
export const sleeperUnhashed = (t: SleepTable, node: number): boolean => t.linked[node] === 0;

/** Linked nodes, for tests and encoding: calls `f(bucket, node)` in bucket order, then list order. */
export function forEachSleepNode(t: SleepTable, f: (bucket: number, node: number) => void): void {
  for (let b = 0; b < KVM_TASK_SLEEP_HASHSIZE; b++)
    for (let n = t.head[b]!; n !== NIL; n = t.next[n]!) f(b, n);
}

/**
 * Appends a node at the *tail* of its bucket (for decoding a canonical encoding, which lists each
 * bucket in list order). `node` < 0 takes a dummy from the pool; returns false if none is left.
 */
export function appendSleepNode(
  t: SleepTable,
  token: number,
  cpu: number,
  node: number,
  halted = false,
): boolean {
  const n = node >= 0 ? node : allocDummy(t);
  if (n === NIL) return false;
  const bucket = hash_32(token, KVM_TASK_SLEEP_HASHBITS);
  t.token[n] = token >>> 0;
  t.cpu[n] = cpu;
  t.halted[n] = halted ? 1 : 0;
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
