// The canonical encoding of one vCPU's host state (struct kvm_vcpu as src/host/x86/vcpu.ts holds it) and
// its decoding back into the real objects, so the explorer can store a state as words and later run the
// real host code on it again.
//
// Canonical means: two vCPUs that behave the same encode the same. So
// - the async_pf work pool is written as a list sorted by token (wakeup-all items last), whatever slots
//   the works occupy, and `done` as positions in that list; generations, creation numbers and the ring's
//   head are not written (a decoded pool puts work i in slot i);
// - the gfn hash is written as the sorted set of its gfns (decoding re-inserts them with the kernel's
//   own kvm_add_async_pf_gfn; where a gfn sits in the probe sequence never changes what find/del answer);
// - fields that are dead are written as 0: an exception's vector, error code and payload when none is
//   pending or injected, CR2 (the host sets it at #PF delivery and both guests read it in the same
//   delivery, so its old value never matters);
// - the hva cache (src/mem/hva_cache.ts): `len` always (an access past it WARNs, an invalid cache with
//   len 8 fails quietly), `gpa` while valid, and while invalid only when a memslot update can re-initialize
//   it from there (the VM models memslot updates and the range is in guest RAM). Its generation is written
//   as one bit, "stale vs the VM's current", and only where that decides anything: an invalid,
//   re-initializable cache outside a memslot update (stale: the next access re-initializes it and
//   succeeds). A valid cache is stale exactly while the slot is INVALID (an init during the update fails),
//   and otherwise a stale one re-initializes to the same mapping; an invalid cache during the update fails
//   either way. The bit is turned back into a generation once the VM's memslot state is decoded
//   (restoreHvaCacheGeneration);
// - derived fields are not written but rebuilt on decode by the host's own code: msr_en_flags
//   (set_msr_en_val) and the hva cache's page view (kvm_gfn_to_hva_cache_init);
// - statistics (vcpu.stat) are not written;
// - a fault's mmu_invalidate_seq snapshot is written by the world beside the VM's notifier state, as
//   "changed since" (the raw sequence is unbounded).
import { ASYNC_PF_PER_VCPU, GFN_HASH_EMPTY } from '../../abi/kvm_host.ts';
import type { GuestMemory } from '../../mem/guest_memory.ts';
import {
  type GfnToHvaCache,
  ghc_range_mappable,
  kvm_gfn_to_hva_cache_init,
  type MemslotsView,
} from '../../mem/hva_cache.ts';
import { kvm_add_async_pf_gfn, kvm_async_pf_hash_reset } from './async_pf_hash.ts';
import {
  type AsyncPfState,
  INVALID_GPA,
  W_EXECUTED,
  W_IN_USE,
  W_ON_QUEUE,
  W_WAKEUP_ALL,
  WORK_POOL_SIZE,
} from './async_pf_work.ts';
import { apic_update_highest } from './lapic.ts';
import { type KvmVcpu, set_msr_en_val } from './vcpu.ts';

/** Words per work in the pool encoding: flags, token, gfn, cr2_or_gpa, cr3, error code. */
const WORK_WORDS = 6;
const VCPU_FIXED_WORDS = 16;
/** The notifier-aware fault's words (mmu_fault_gfn, mmu_fault_flags, mmu_retry_gfn), when modelled. */
const MMU_FAULT_WORDS = 3;
const LAPIC_WORDS = 19;

/**
 * Bounds of the encoding. `maxWorks` bounds the live works of one vCPU (pending, on `done`, or a
 * wakeup-all item): the gfn hash forbids two outstanding works for one gfn, so it is the number of
 * program pages plus one. `maxGfns` bounds the hash.
 */
export interface HostCodecBounds {
  readonly maxWorks: number;
  readonly maxGfns: number;
  /** The VM models the MMU notifiers (VmConfig.mmu_notifiers): the fault-in-flight words are written. */
  readonly mmu?: boolean;
}

export const vcpuWords = (b: HostCodecBounds): number =>
  VCPU_FIXED_WORDS +
  (b.mmu ? MMU_FAULT_WORDS : 0) +
  LAPIC_WORDS +
  1 +
  b.maxWorks * WORK_WORDS +
  1 +
  b.maxWorks +
  1 +
  b.maxGfns;

/** Where fields that name a vCPU sit in one vCPU's encoding (the explorer's vCPU symmetry renames them). */
export interface VcpuWordOffsets {
  /** Exception flags (bit 2: has_payload), vector and payload (a #PF's CR2: an async PF's token). */
  readonly excFlags: number;
  readonly excVector: number;
  readonly excPayload: number;
  /** MSR_KVM_ASYNC_PF_EN's low word (the APF area's GPA | flags) and the hva cache's GPA. */
  readonly msrEnLo: number;
  readonly dataGpa: number;
  readonly apicBase: number;
  /** The first work's words (WORK_WORDS each: flags, token, ...) and how many there are. */
  readonly works: number;
  readonly workWords: number;
  readonly maxWorks: number;
}

export function vcpuWordOffsets(b: HostCodecBounds): VcpuWordOffsets {
  const apicBase = VCPU_FIXED_WORDS + (b.mmu ? MMU_FAULT_WORDS : 0);
  return {
    excFlags: 2,
    excVector: 3,
    excPayload: 5,
    msrEnLo: 7,
    dataGpa: 13,
    apicBase,
    works: apicBase + LAPIC_WORDS + 1,
    workWords: WORK_WORDS,
    maxWorks: b.maxWorks,
  };
}

/** A live work's sort key: wakeup-all items after every real work, real works by token (creation order). */
function workBefore(s: AsyncPfState, a: number, b: number): number {
  const wa = s.wFlags[a]! & W_WAKEUP_ALL;
  const wb = s.wFlags[b]! & W_WAKEUP_ALL;
  if (wa !== wb) return wa - wb;
  return s.wToken[a]! - s.wToken[b]! || s.wGfn[a]! - s.wGfn[b]! || a - b;
}

/** The live (in-use) slots of a pool in canonical order, written into `out`; returns how many. */
export function canonicalSlots(s: AsyncPfState, out: Int32Array): number {
  let n = 0;
  for (let i = 0; i < WORK_POOL_SIZE; i++) {
    if (s.wFlags[i] === 0) continue;
    // Insertion sort: a handful of works.
    let j = n++;
    while (j > 0 && workBefore(s, out[j - 1]!, i) > 0) {
      out[j] = out[j - 1]!;
      j--;
    }
    out[j] = i;
  }
  return n;
}

/** Whether a slot holds a work whose worker has not run yet (workPending without the generation). */
export const slotPending = (s: AsyncPfState, slot: number): boolean =>
  (s.wFlags[slot]! & (W_IN_USE | W_ON_QUEUE | W_EXECUTED)) === (W_IN_USE | W_ON_QUEUE);

/**
 * The pending works of a pool (their worker has not run), in token order, written into `out`; returns
 * how many. The explorer's worker step k runs the k-th of them.
 */
export function pendingSlots(s: AsyncPfState, out: Int32Array): number {
  let n = 0;
  for (let i = 0; i < WORK_POOL_SIZE; i++) {
    if (!slotPending(s, i)) continue;
    let j = n++;
    while (j > 0 && workBefore(s, out[j - 1]!, i) > 0) {
      out[j] = out[j - 1]!;
      j--;
    }
    out[j] = i;
  }
  return n;
}

const slotScratch = new Int32Array(WORK_POOL_SIZE);
const posOfSlot = new Int32Array(WORK_POOL_SIZE);
const gfnScratch = new Float64Array(ASYNC_PF_PER_VCPU);

/** The low and high words of the last MSR value split by msrWords. */
let msrLo = 0;
let msrHi = 0;
/**
 * The last MSR_SPLITS values split, round robin: an encode splits each vCPU's MSR_KVM_ASYNC_PF_EN (one
 * APF area per CPU) and MSR_KVM_ASYNC_PF_INT in turn, so a one-entry memory missed on every call.
 */
const MSR_SPLITS = 8;
const msrKeys: bigint[] = new Array<bigint>(MSR_SPLITS).fill(0n);
const msrLos = new Int32Array(MSR_SPLITS);
const msrHis = new Int32Array(MSR_SPLITS);
let msrNext = 0;
/**
 * Splits a 64-bit MSR value into msrLo/msrHi (as int32). BigInt arithmetic allocates, and every encode
 * writes the same few values, so the last splits are remembered.
 */
function msrWords(v: bigint): void {
  for (let i = 0; i < MSR_SPLITS; i++) {
    if (msrKeys[i] === v) {
      msrLo = msrLos[i]!;
      msrHi = msrHis[i]!;
      return;
    }
  }
  msrLo = Number(v & 0xffffffffn) | 0;
  msrHi = Number(v >> 32n) | 0;
  msrKeys[msrNext] = v;
  msrLos[msrNext] = msrLo;
  msrHis[msrNext] = msrHi;
  msrNext = (msrNext + 1) % MSR_SPLITS;
}

/** BigInts of 32-bit MSR words already built by decodeVcpu (hi = 0): decoding writes the same few values. */
const msrLoValues = new Map<number, bigint>();
function msrValue(lo: number, hi: number): bigint {
  if (hi !== 0) return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  let v = msrLoValues.get(lo);
  if (v === undefined) {
    v = BigInt(lo >>> 0);
    if (msrLoValues.size < 4096) msrLoValues.set(lo, v);
  }
  return v;
}

function bit(b: boolean, shift: number): number {
  return b ? 1 << shift : 0;
}

/** An invalid cache that a memslot update can re-initialize (its kept range is in guest RAM). */
const reinitializable = (d: GfnToHvaCache, b: HostCodecBounds, mem: GuestMemory): boolean =>
  b.mmu === true && !d.valid && ghc_range_mappable(mem, d.gpa, d.len);

/** The one generation bit that is live (see the header): an invalid cache the next access re-initializes. */
const cacheStale = (d: GfnToHvaCache, b: HostCodecBounds, mem: GuestMemory, slots: MemslotsView): boolean =>
  reinitializable(d, b, mem) && !slots.slot_invalid && d.generation !== slots.memslots_generation;

/**
 * Writes the encoding of `v` at out[off ..]; returns the offset after it. `mem` and `slots` are the VM's
 * guest memory and memslot state, which the hva cache's canonical form depends on.
 */
export function encodeVcpu(
  v: KvmVcpu,
  b: HostCodecBounds,
  out: Int32Array,
  off: number,
  mem: GuestMemory,
  slots: MemslotsView,
): number {
  let w = off;
  out[w++] =
    (v.mode & 3) |
    ((v.mp_state & 3) << 2) |
    bit(v.rflags_if, 4) |
    bit(v.interrupt_shadow, 5) |
    ((v.cpl & 3) << 6) |
    bit(v.cr0_pg, 8) |
    bit(v.guest_mode, 9) |
    bit(v.smm, 10) |
    bit(v.irq_reinject, 11) |
    bit(v.in_userspace, 12);
  out[w++] = v.requests;
  const e = v.exception;
  const live = e.pending || e.injected;
  out[w++] = live ? bit(e.pending, 0) | bit(e.injected, 1) | bit(e.has_payload, 2) | bit(e.vmexit, 3) : 0;
  out[w++] = live ? e.vector : 0;
  out[w++] = live ? e.error_code : 0;
  out[w++] = live && (e.has_payload || e.vmexit) ? e.payload : 0;
  const apf = v.apf;
  out[w++] =
    bit(apf.halted, 0) |
    bit(apf.send_always, 1) |
    bit(apf.delivery_as_pf_vmexit, 2) |
    bit(apf.pageready_pending, 3) |
    bit(apf.pageready_pending_store_buffered, 4) |
    bit(apf.data.valid, 5) |
    bit(cacheStale(apf.data, b, mem, slots), 6);
  msrWords(apf.msr_en_val);
  out[w++] = msrLo;
  out[w++] = msrHi;
  msrWords(apf.msr_int_val);
  out[w++] = msrLo;
  out[w++] = apf.vec;
  out[w++] = apf.id | 0;
  out[w++] = apf.host_apf_flags | 0;
  out[w++] = apf.data.valid || reinitializable(apf.data, b, mem) ? apf.data.gpa : 0;
  out[w++] = apf.data.len;
  out[w++] = v.sync_fault_gfn;
  // A notifier-aware fault in flight; its seq snapshot is the world's (relative to the VM's seq).
  if (b.mmu) {
    out[w++] = v.mmu_fault_gfn;
    out[w++] = v.mmu_fault_flags;
    out[w++] = v.mmu_retry_gfn;
  }
  // LAPIC.
  const apic = v.apic;
  out[w++] = apic.apic_base | 0;
  out[w++] = apic.spiv;
  out[w++] = apic.tpr;
  for (let i = 0; i < 8; i++) out[w++] = apic.irr[i]! | 0;
  for (let i = 0; i < 8; i++) out[w++] = apic.isr[i]! | 0;
  // The work pool, canonical.
  const s = v.async_pf;
  const n = canonicalSlots(s, slotScratch);
  if (n > b.maxWorks)
    throw new RangeError(`vcpu ${v.vcpu_id}: ${n} live works, the encoding holds ${b.maxWorks}`);
  out[w++] = s.queued;
  for (let k = 0; k < b.maxWorks; k++) {
    if (k >= n) {
      for (let j = 0; j < WORK_WORDS; j++) out[w++] = 0;
      continue;
    }
    const slot = slotScratch[k]!;
    posOfSlot[slot] = k;
    out[w++] = s.wFlags[slot]!;
    out[w++] = s.wToken[slot]! | 0;
    out[w++] = s.wGfn[slot]!;
    out[w++] = s.wCr2OrGpa[slot]! | 0;
    out[w++] = s.wCr3[slot]! | 0;
    out[w++] = s.wErrorCode[slot]! | 0;
  }
  out[w++] = s.doneLen;
  for (let k = 0; k < b.maxWorks; k++)
    out[w++] = k < s.doneLen ? posOfSlot[s.done[(s.doneHead + k) % WORK_POOL_SIZE]!]! + 1 : 0;
  // The gfn hash as a sorted set.
  const gfns = apf.gfns;
  let ng = 0;
  for (let i = 0; i < gfns.length; i++) {
    const g = gfns[i]!;
    if (g === GFN_HASH_EMPTY) continue;
    if (ng === gfnScratch.length)
      throw new RangeError(`vcpu ${v.vcpu_id}: more than ${gfnScratch.length} gfns hashed`);
    // Insertion sort: a handful of gfns.
    let j = ng++;
    while (j > 0 && gfnScratch[j - 1]! > g) {
      gfnScratch[j] = gfnScratch[j - 1]!;
      j--;
    }
    gfnScratch[j] = g;
  }
  if (ng > b.maxGfns)
    throw new RangeError(`vcpu ${v.vcpu_id}: ${ng} gfns hashed, the encoding holds ${b.maxGfns}`);
  out[w++] = ng;
  for (let k = 0; k < b.maxGfns; k++) out[w++] = k < ng ? gfnScratch[k]! : 0;
  return w;
}

/** Overwrites `v` with the vCPU encoded at words[off ..]; returns the offset after it. */
export function decodeVcpu(
  words: Int32Array,
  off: number,
  b: HostCodecBounds,
  v: KvmVcpu,
  mem: GuestMemory,
): number {
  let w = off;
  const f = words[w++]!;
  v.mode = f & 3;
  v.mp_state = (f >>> 2) & 3;
  v.rflags_if = (f & (1 << 4)) !== 0;
  v.interrupt_shadow = (f & (1 << 5)) !== 0;
  v.cpl = (f >>> 6) & 3;
  v.cr0_pg = (f & (1 << 8)) !== 0;
  v.guest_mode = (f & (1 << 9)) !== 0;
  v.smm = (f & (1 << 10)) !== 0;
  v.irq_reinject = (f & (1 << 11)) !== 0;
  v.in_userspace = (f & (1 << 12)) !== 0;
  v.cr2 = 0;
  v.requests = words[w++]!;
  const e = v.exception;
  const ef = words[w++]!;
  e.pending = (ef & 1) !== 0;
  e.injected = (ef & 2) !== 0;
  e.has_payload = (ef & 4) !== 0;
  e.vmexit = (ef & 8) !== 0;
  e.vector = words[w++]!;
  e.error_code = words[w++]!;
  e.payload = words[w++]! >>> 0;
  const apf = v.apf;
  const af = words[w++]!;
  apf.halted = (af & 1) !== 0;
  apf.send_always = (af & 2) !== 0;
  apf.delivery_as_pf_vmexit = (af & 4) !== 0;
  apf.pageready_pending = (af & 8) !== 0;
  apf.pageready_pending_store_buffered = (af & 16) !== 0;
  apf.data.valid = (af & 32) !== 0;
  const lo = words[w++]!;
  const hi = words[w++]!;
  set_msr_en_val(apf, msrValue(lo, hi)); // and the flag bits derived from it
  apf.msr_int_val = msrValue(words[w++]!, 0);
  apf.vec = words[w++]!;
  apf.id = words[w++]! >>> 0;
  apf.host_apf_flags = words[w++]! >>> 0;
  const gpa = words[w++]!;
  const len = words[w++]!;
  // The cache's page view is derived: rebuild it as kvm_gfn_to_hva_cache_init does. The generation is
  // held relative (1: stale) until restoreHvaCacheGeneration sees the VM's memslot state.
  if (apf.data.valid) kvm_gfn_to_hva_cache_init(mem, apf.data, gpa, len, 0);
  else {
    const d = apf.data;
    d.gpa = gpa;
    d.len = len;
    d.valid = false;
    d.page = null;
    d.off = 0;
  }
  apf.data.generation = (af & 64) !== 0 ? 1 : 0;
  v.sync_fault_gfn = words[w++]!;
  if (b.mmu) {
    v.mmu_fault_gfn = words[w++]!;
    v.mmu_fault_flags = words[w++]!;
    v.mmu_retry_gfn = words[w++]!;
  }
  const apic = v.apic;
  apic.apic_base = words[w++]! >>> 0;
  apic.spiv = words[w++]!;
  apic.tpr = words[w++]!;
  for (let i = 0; i < 8; i++) apic.irr[i] = words[w++]!;
  for (let i = 0; i < 8; i++) apic.isr[i] = words[w++]!;
  apic_update_highest(apic);
  const s = v.async_pf;
  s.wFlags.fill(0);
  s.queued = words[w++]!;
  let n = 0;
  for (let k = 0; k < b.maxWorks; k++) {
    const flags = words[w++]!;
    if (flags === 0) {
      w += WORK_WORDS - 1;
      continue;
    }
    s.wFlags[k] = flags;
    s.wToken[k] = words[w++]! >>> 0;
    s.wGfn[k] = words[w++]!;
    s.wCr2OrGpa[k] = words[w++]! >>> 0;
    const cr3 = words[w++]!;
    s.wCr3[k] = cr3 === INVALID_GPA ? INVALID_GPA : cr3 >>> 0;
    s.wErrorCode[k] = words[w++]!;
    s.wSeq[k] = k;
    s.wGen[k] = 1;
    n = k + 1;
  }
  s.nextSeq = n;
  s.doneLen = words[w++]!;
  s.doneHead = 0;
  for (let k = 0; k < b.maxWorks; k++) {
    const p = words[w++]!;
    if (k < s.doneLen) s.done[k] = p - 1;
  }
  kvm_async_pf_hash_reset(apf.gfns);
  const ng = words[w++]!;
  for (let k = 0; k < b.maxGfns; k++) {
    const g = words[w++]!;
    if (k < ng) kvm_add_async_pf_gfn(apf.gfns, g);
  }
  return w;
}

/**
 * After decodeVcpu and the VM's memslot state (mmu_codec.ts): the cache's generation from its decoded
 * "stale" bit, relative to the VM's current generation. A valid cache is stale while the slot is INVALID
 * (see the header).
 */
export function restoreHvaCacheGeneration(v: KvmVcpu, slots: MemslotsView): void {
  const d = v.apf.data;
  const stale = d.generation === 1 || (d.valid && slots.slot_invalid);
  d.generation = stale ? slots.memslots_generation - 1 : slots.memslots_generation;
}
