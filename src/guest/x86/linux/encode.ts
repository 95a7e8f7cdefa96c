// The canonical encoding of a LinuxGuestState for an explicit-state explorer (src/explore/model.ts):
// a fixed number of 32-bit words per configuration, equal for two states iff they behave the same.
// What is in it:
// - global: the static key, sysvec installed, panic, the three WARN/pr_warn-once flags, task count;
// - per CPU: online, current task, need_resched, slice (only when slicing is on), the exception and
//   interrupt frames (pc and their live registers; zeros when the frame is empty), an armed MSR fixup,
//   the `enabled` flag wherever it is stored, apf_reason.flags and .token from guest RAM, a legacy halted
//   wait (its node and saved context), the pending kernel ops and the runqueue in order, zero-padded to
//   their bounds;
// - per task slot: state, cpu, kernel pc, program counter (mod 2^32), the fetched action, the token it
//   waits on (when waiting) and host_apf_flags;
// - the sleep table: the number of hashed nodes, then each as {token, cpu, node or -1 for a dummy,
//   halted} in bucket order and list order, zero-padded (node: a task id, or a CPU's idle-task node). Pool indices of dummies are not encoded, so states that
//   differ only in which free slot a dummy took encode the same.
// Not in it: statistics, which do not influence behaviour. (What a step did is not guest state: the
// step writes it into its VM's StepEffects.)
import type { GuestMemory } from '../../../mem/guest_memory.ts';
import { apfEnabled, apfReasonPa, setApfEnabled } from './apf_reason.ts';
import {
  appendSleepNode,
  clearSleepNodes,
  hash_32,
  isDummy,
  KVM_TASK_SLEEP_HASHBITS,
} from './sleep_table.ts';
import { EXC_NONE, IRQ_NONE, KPC_USER, KQ_CAP, type LinuxGuestState, TASK_FREE } from './state.ts';

const HEADER_WORDS = 6;
const CPU_FIXED_WORDS = 22;
const TASK_WORDS = 12;
const NODE_WORDS = 4;

// Float64 ↔ two int32 words, exactly.
const f64 = new Float64Array(1);
const f64w = new Int32Array(f64.buffer);

const cpuWords = (st: LinuxGuestState): number => CPU_FIXED_WORDS + KQ_CAP + 1 + st.config.max_tasks;
const nodeBound = (st: LinuxGuestState): number => st.config.max_tasks + st.ncpus + st.config.max_dummies;

/** Words of every encoding for this state's configuration. */
export const linuxGuestEncodedWords = (st: LinuxGuestState): number =>
  HEADER_WORDS + st.ncpus * cpuWords(st) + st.config.max_tasks * TASK_WORDS + 1 + NODE_WORDS * nodeBound(st);

/**
 * Where the encoding's parts start (word offsets within it): the header, each CPU, each task slot and
 * the sleep table. A store that interns parts (the explorer's collapse compression) cuts it there.
 */
export function linuxGuestComponents(st: LinuxGuestState): number[] {
  const starts = [0];
  let w = HEADER_WORDS;
  for (let i = 0; i < st.ncpus; i++, w += cpuWords(st)) starts.push(w);
  for (let t = 0; t < st.config.max_tasks; t++, w += TASK_WORDS) starts.push(w);
  starts.push(w);
  return starts;
}

/**
 * Writes the encoding of `st` at out[offset .. offset + linuxGuestEncodedWords(st)). `mem` is the guest
 * RAM holding the apf_reason areas (flags, token and, in the 'apf_reason' layout, `enabled`).
 */
export function encodeLinuxGuest(st: LinuxGuestState, mem: GuestMemory, out: Int32Array, offset = 0): void {
  // Straight-line writes (no per-call closures): this runs once per explored transition.
  let w = offset;
  out[w++] = st.kvm_async_pf_enabled ? 1 : 0;
  out[w++] = st.sysvec_installed ? 1 : 0;
  out[w++] = st.panicked | 0;
  out[w++] = st.panicReason | 0;
  out[w++] =
    (st.warnedUnexpectedFlags ? 1 : 0) | (st.warnedUnexpectedHostFlags ? 2 : 0) | (st.warnedMsrFault ? 4 : 0);
  out[w++] = st.nTasks | 0;
  const c = st.cpu;
  const slice = st.config.slice_actions;
  const n = st.config.max_tasks;
  for (let i = 0; i < st.ncpus; i++) {
    const exc = c.excPc[i] !== EXC_NONE;
    const irq = c.irqPc[i] !== IRQ_NONE;
    const pa = apfReasonPa(st.config, i);
    out[w++] = c.online[i]! | 0;
    out[w++] = c.curr[i]! | 0;
    out[w++] = c.needResched[i]! | 0;
    out[w++] = slice > 0 ? Math.min(c.sliceUsed[i]!, slice) | 0 : 0;
    out[w++] = c.excPc[i]! | 0;
    out[w++] = exc ? c.excToken[i]! | 0 : 0;
    out[w++] = exc ? c.excErrorCode[i]! | 0 : 0;
    out[w++] = exc ? c.excFlags[i]! | 0 : 0;
    out[w++] = exc ? c.excSaved[i]! | 0 : 0;
    out[w++] = c.irqPc[i]! | 0;
    out[w++] = irq ? c.irqVector[i]! | 0 : 0;
    out[w++] = irq ? c.irqToken[i]! | 0 : 0;
    out[w++] = irq ? c.irqSaved[i]! | 0 : 0;
    out[w++] = c.gpFixupMsr[i]! | 0;
    f64[0] = c.gpFixupMsr[i] !== 0 ? c.gpFixupValue[i]! : 0;
    out[w++] = f64w[0]!;
    out[w++] = f64w[1]!;
    out[w++] = apfEnabled(mem, st.config, c.percpuEnabled, i) ? 1 : 0;
    out[w++] = mem.readU32(pa) | 0;
    out[w++] = mem.readU32(pa + 4) | 0;
    out[w++] = c.haltNode[i]! | 0;
    out[w++] = c.haltNode[i]! >= 0 ? c.haltSaved[i]! | 0 : 0;
    const pending = c.kqLen[i]! - c.kqPos[i]!;
    out[w++] = pending | 0;
    for (let k = 0; k < KQ_CAP; k++) out[w++] = k < pending ? c.kq[i * KQ_CAP + c.kqPos[i]! + k]! | 0 : 0;
    const len = c.rqLen[i]!;
    out[w++] = len | 0;
    for (let k = 0; k < n; k++) out[w++] = k < len ? c.rq[i * n + ((c.rqHead[i]! + k) % n)]! | 0 : 0;
  }
  const t = st.task;
  for (let i = 0; i < n; i++) {
    if (t.state[i] === TASK_FREE) {
      for (let k = 0; k < TASK_WORDS; k++) out[w++] = 0;
      continue;
    }
    out[w++] = t.state[i]! | 0;
    out[w++] = t.cpu[i]! | 0;
    out[w++] = t.kpc[i]! | 0;
    out[w++] = (t.pc[i]! % 2 ** 32) | 0;
    const act = t.actKind[i] !== 0; // a completed action leaves stale operands behind
    out[w++] = t.actKind[i]! | 0;
    out[w++] = act ? t.actFlags[i]! | 0 : 0;
    f64[0] = act ? t.actGpa[i]! : 0;
    out[w++] = f64w[0]!;
    out[w++] = f64w[1]!;
    f64[0] = act ? t.actNs[i]! : 0;
    out[w++] = f64w[0]!;
    out[w++] = f64w[1]!;
    out[w++] = t.kpc[i] !== KPC_USER ? t.waitToken[i]! | 0 : 0;
    out[w++] = t.host_apf_flags[i]! | 0;
  }
  // The sleep table in bucket order, each bucket in list order. Walking all 256 buckets costs more than
  // the rest of the encoding: the hashed (linked) nodes name their buckets, so sort those and walk just
  // them.
  const s = st.sleepers;
  const nodes = s.linked.length;
  bucketRoom(nodes);
  let nb = 0;
  for (let node = 0; node < nodes; node++) {
    if (s.linked[node] === 0) continue;
    const b = hash_32(s.token[node]!, KVM_TASK_SLEEP_HASHBITS);
    let j = nb++;
    while (j > 0 && bucketScratch[j - 1]! > b) {
      bucketScratch[j] = bucketScratch[j - 1]!;
      j--;
    }
    bucketScratch[j] = b;
  }
  const countAt = w++;
  let count = 0;
  for (let k = 0; k < nb; k++) {
    const b = bucketScratch[k]!;
    if (k > 0 && bucketScratch[k - 1] === b) continue;
    for (let node = s.head[b]!; node !== NIL; node = s.next[node]!) {
      out[w++] = s.token[node]! | 0;
      out[w++] = s.cpu[node]! | 0;
      out[w++] = isDummy(s, node) ? -1 : node;
      out[w++] = s.halted[node]! | 0;
      count++;
    }
  }
  out[countAt] = count;
  const endAt = offset + linuxGuestEncodedWords(st);
  while (w < endAt) out[w++] = 0;
}

const NIL = -1;
/** Buckets of the hashed sleep nodes, sorted (encode); sized for any node pool. */
let bucketScratch = new Int32Array(64);

/** Makes the bucket scratch hold `nodes` entries. */
function bucketRoom(nodes: number): void {
  if (bucketScratch.length < nodes) bucketScratch = new Int32Array(nodes);
}

/**
 * Overwrites `st` (same configuration as the encoded one) with the state encoded at `words[offset ..]`,
 * and the apf_reason words in `mem`. Statistics and last-step outputs are left as they were.
 */
export function decodeLinuxGuest(
  words: Int32Array,
  offset: number,
  st: LinuxGuestState,
  mem: GuestMemory,
): void {
  let w = offset;
  st.kvm_async_pf_enabled = words[w++] !== 0;
  st.sysvec_installed = words[w++] !== 0;
  st.panicked = words[w++]!;
  st.panicReason = words[w++]!;
  const warned = words[w++]!;
  st.warnedUnexpectedFlags = (warned & 1) !== 0;
  st.warnedUnexpectedHostFlags = (warned & 2) !== 0;
  st.warnedMsrFault = (warned & 4) !== 0;
  st.nTasks = words[w++]!;
  const c = st.cpu;
  const n = st.config.max_tasks;
  for (let i = 0; i < st.ncpus; i++) {
    const pa = apfReasonPa(st.config, i);
    c.online[i] = words[w++]!;
    c.curr[i] = words[w++]!;
    c.needResched[i] = words[w++]!;
    c.sliceUsed[i] = words[w++]!;
    c.excPc[i] = words[w++]!;
    c.excToken[i] = words[w++]! >>> 0;
    c.excErrorCode[i] = words[w++]!;
    c.excFlags[i] = words[w++]! >>> 0;
    c.excSaved[i] = words[w++]!;
    c.irqPc[i] = words[w++]!;
    c.irqVector[i] = words[w++]!;
    c.irqToken[i] = words[w++]! >>> 0;
    c.irqSaved[i] = words[w++]!;
    c.gpFixupMsr[i] = words[w++]!;
    f64w[0] = words[w++]!;
    f64w[1] = words[w++]!;
    c.gpFixupValue[i] = f64[0]!;
    setApfEnabled(mem, st.config, c.percpuEnabled, i, words[w++] !== 0);
    mem.writeU32(pa, words[w++]! >>> 0);
    mem.writeU32(pa + 4, words[w++]! >>> 0);
    c.haltNode[i] = words[w++]!;
    c.haltSaved[i] = words[w++]!;
    const pending = words[w++]!;
    c.kqPos[i] = 0;
    c.kqLen[i] = pending;
    for (let k = 0; k < KQ_CAP; k++) c.kq[i * KQ_CAP + k] = words[w++]!;
    c.rqHead[i] = 0;
    c.rqLen[i] = words[w++]!;
    for (let k = 0; k < n; k++) c.rq[i * n + k] = words[w++]!;
  }
  const t = st.task;
  for (let i = 0; i < n; i++) {
    t.state[i] = words[w++]!;
    t.cpu[i] = words[w++]!;
    t.kpc[i] = words[w++]!;
    t.pc[i] = words[w++]! >>> 0;
    t.actKind[i] = words[w++]!;
    t.actFlags[i] = words[w++]!;
    f64w[0] = words[w++]!;
    f64w[1] = words[w++]!;
    t.actGpa[i] = f64[0]!;
    f64w[0] = words[w++]!;
    f64w[1] = words[w++]!;
    t.actNs[i] = f64[0]!;
    t.waitToken[i] = words[w++]! >>> 0;
    t.host_apf_flags[i] = words[w++]! >>> 0;
  }
  const s = st.sleepers;
  // resetSleepTable, except that only the buckets in use are emptied (not all 256).
  const nodes = s.linked.length;
  for (let node = 0; node < nodes; node++)
    if (s.linked[node] !== 0) s.head[hash_32(s.token[node]!, KVM_TASK_SLEEP_HASHBITS)] = NIL;
  clearSleepNodes(s);
  const count = words[w++]!;
  for (let k = 0; k < count; k++) {
    const token = words[w++]! >>> 0;
    const cpu = words[w++]!;
    const node = words[w++]!;
    const halted = words[w++]! !== 0;
    if (!appendSleepNode(s, token, cpu, node, halted))
      throw new RangeError('decode: more dummies than max_dummies');
  }
}

/** Overwrites `to` with `from` (same configuration), statistics included. */
export function copyLinuxGuestState(from: LinuxGuestState, to: LinuxGuestState): void {
  if (
    from.ncpus !== to.ncpus ||
    from.config.max_tasks !== to.config.max_tasks ||
    from.config.max_dummies !== to.config.max_dummies
  )
    throw new RangeError('copyLinuxGuestState: different configurations');
  to.kvm_async_pf_enabled = from.kvm_async_pf_enabled;
  to.sysvec_installed = from.sysvec_installed;
  to.panicked = from.panicked;
  to.panicReason = from.panicReason;
  to.warnedUnexpectedFlags = from.warnedUnexpectedFlags;
  to.warnedUnexpectedHostFlags = from.warnedUnexpectedHostFlags;
  to.warnedMsrFault = from.warnedMsrFault;
  to.nTasks = from.nTasks;
  copyArrays(from.cpu, to.cpu);
  copyArrays(from.task, to.task);
  copyArrays(from.sleepers, to.sleepers);
  const s = from.sleepers;
  Object.assign(to.sleepers, {
    freeDummy: s.freeDummy,
    dummiesCreated: s.dummiesCreated,
    dummiesConsumed: s.dummiesConsumed,
    dummiesLeaked: s.dummiesLeaked,
    dummiesFreedByWakeAll: s.dummiesFreedByWakeAll,
    dummyAllocFailures: s.dummyAllocFailures,
    duplicateTokens: s.duplicateTokens,
  });
  Object.assign(to.counters, from.counters);
}

/** Copies every typed-array field of `from` into the same field of `to`. */
function copyArrays(from: object, to: object): void {
  const src = from as Record<string, unknown>;
  const dst = to as Record<string, unknown>;
  for (const k of Object.keys(src)) {
    const a = src[k];
    if (ArrayBuffer.isView(a)) (dst[k] as Int32Array).set(a as Int32Array);
  }
}
