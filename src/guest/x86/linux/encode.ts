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
import { appendSleepNode, forEachSleepNode, isDummy, resetSleepTable } from './sleep_table.ts';
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
 * Writes the encoding of `st` at out[offset .. offset + linuxGuestEncodedWords(st)). `mem` is the guest
 * RAM holding the apf_reason areas (flags, token and, in the 'apf_reason' layout, `enabled`).
 */
export function encodeLinuxGuest(st: LinuxGuestState, mem: GuestMemory, out: Int32Array, offset = 0): void {
  let w = offset;
  const put = (v: number): void => {
    out[w++] = v | 0;
  };
  const putF64 = (v: number): void => {
    f64[0] = v;
    out[w++] = f64w[0]!;
    out[w++] = f64w[1]!;
  };
  put(st.kvm_async_pf_enabled ? 1 : 0);
  put(st.sysvec_installed ? 1 : 0);
  put(st.panicked);
  put(st.panicReason);
  put(
    (st.warnedUnexpectedFlags ? 1 : 0) | (st.warnedUnexpectedHostFlags ? 2 : 0) | (st.warnedMsrFault ? 4 : 0),
  );
  put(st.nTasks);
  const c = st.cpu;
  const slice = st.config.slice_actions;
  for (let i = 0; i < st.ncpus; i++) {
    const exc = c.excPc[i] !== EXC_NONE;
    const irq = c.irqPc[i] !== IRQ_NONE;
    const pa = apfReasonPa(st.config, i);
    put(c.online[i]!);
    put(c.curr[i]!);
    put(c.needResched[i]!);
    put(slice > 0 ? Math.min(c.sliceUsed[i]!, slice) : 0);
    put(c.excPc[i]!);
    put(exc ? c.excToken[i]! : 0);
    put(exc ? c.excErrorCode[i]! : 0);
    put(exc ? c.excFlags[i]! : 0);
    put(exc ? c.excSaved[i]! : 0);
    put(c.irqPc[i]!);
    put(irq ? c.irqVector[i]! : 0);
    put(irq ? c.irqToken[i]! : 0);
    put(irq ? c.irqSaved[i]! : 0);
    put(c.gpFixupMsr[i]!);
    putF64(c.gpFixupMsr[i] !== 0 ? c.gpFixupValue[i]! : 0);
    put(apfEnabled(mem, st.config, c.percpuEnabled, i) ? 1 : 0);
    put(mem.readU32(pa));
    put(mem.readU32(pa + 4));
    put(c.haltNode[i]!);
    put(c.haltNode[i]! >= 0 ? c.haltSaved[i]! : 0);
    const pending = c.kqLen[i]! - c.kqPos[i]!;
    put(pending);
    for (let k = 0; k < KQ_CAP; k++) put(k < pending ? c.kq[i * KQ_CAP + c.kqPos[i]! + k]! : 0);
    const n = st.config.max_tasks;
    put(c.rqLen[i]!);
    for (let k = 0; k < n; k++) put(k < c.rqLen[i]! ? c.rq[i * n + ((c.rqHead[i]! + k) % n)]! : 0);
  }
  const t = st.task;
  for (let i = 0; i < st.config.max_tasks; i++) {
    if (t.state[i] === TASK_FREE) {
      for (let k = 0; k < TASK_WORDS; k++) put(0);
      continue;
    }
    put(t.state[i]!);
    put(t.cpu[i]!);
    put(t.kpc[i]!);
    put(t.pc[i]! % 2 ** 32);
    const act = t.actKind[i] !== 0; // a completed action leaves stale operands behind
    put(t.actKind[i]!);
    put(act ? t.actFlags[i]! : 0);
    putF64(act ? t.actGpa[i]! : 0);
    putF64(act ? t.actNs[i]! : 0);
    put(t.kpc[i] !== KPC_USER ? t.waitToken[i]! : 0);
    put(t.host_apf_flags[i]!);
  }
  const s = st.sleepers;
  let count = 0;
  forEachSleepNode(s, () => count++);
  put(count);
  forEachSleepNode(s, (_b, node) => {
    put(s.token[node]!);
    put(s.cpu[node]!);
    put(isDummy(s, node) ? -1 : node);
    put(s.halted[node]!);
  });
  for (let k = count * NODE_WORDS; k < nodeBound(st) * NODE_WORDS; k++) put(0);
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
  const get = (): number => words[w++]!;
  const getU32 = (): number => words[w++]! >>> 0;
  const getF64 = (): number => {
    f64w[0] = words[w++]!;
    f64w[1] = words[w++]!;
    return f64[0]!;
  };
  st.kvm_async_pf_enabled = get() !== 0;
  st.sysvec_installed = get() !== 0;
  st.panicked = get();
  st.panicReason = get();
  const warned = get();
  st.warnedUnexpectedFlags = (warned & 1) !== 0;
  st.warnedUnexpectedHostFlags = (warned & 2) !== 0;
  st.warnedMsrFault = (warned & 4) !== 0;
  st.nTasks = get();
  const c = st.cpu;
  for (let i = 0; i < st.ncpus; i++) {
    const pa = apfReasonPa(st.config, i);
    c.online[i] = get();
    c.curr[i] = get();
    c.needResched[i] = get();
    c.sliceUsed[i] = get();
    c.excPc[i] = get();
    c.excToken[i] = getU32();
    c.excErrorCode[i] = get();
    c.excFlags[i] = getU32();
    c.excSaved[i] = get();
    c.irqPc[i] = get();
    c.irqVector[i] = get();
    c.irqToken[i] = getU32();
    c.irqSaved[i] = get();
    c.gpFixupMsr[i] = get();
    c.gpFixupValue[i] = getF64();
    setApfEnabled(mem, st.config, c.percpuEnabled, i, get() !== 0);
    mem.writeU32(pa, getU32());
    mem.writeU32(pa + 4, getU32());
    c.haltNode[i] = get();
    c.haltSaved[i] = get();
    const pending = get();
    c.kqPos[i] = 0;
    c.kqLen[i] = pending;
    for (let k = 0; k < KQ_CAP; k++) c.kq[i * KQ_CAP + k] = get();
    const n = st.config.max_tasks;
    c.rqHead[i] = 0;
    c.rqLen[i] = get();
    for (let k = 0; k < n; k++) c.rq[i * n + k] = get();
  }
  const t = st.task;
  for (let i = 0; i < st.config.max_tasks; i++) {
    t.state[i] = get();
    t.cpu[i] = get();
    t.kpc[i] = get();
    t.pc[i] = getU32();
    t.actKind[i] = get();
    t.actFlags[i] = get();
    t.actGpa[i] = getF64();
    t.actNs[i] = getF64();
    t.waitToken[i] = getU32();
    t.host_apf_flags[i] = getU32();
  }
  const s = st.sleepers;
  resetSleepTable(s);
  const count = get();
  for (let k = 0; k < count; k++) {
    const token = getU32();
    const cpu = get();
    const node = get();
    const halted = get() !== 0;
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
