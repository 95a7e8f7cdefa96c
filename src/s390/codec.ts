// Packs the dynamic part of a world into an Int32Array (and back) for an explicit-state explorer. Statistics,
// events, lowcore contents, timer sequence numbers and (by default) absolute time are not state: two worlds that
// differ only in them behave the same from here on, and must get the same key.
//
// Speed and size: an explorer encodes and decodes every transition and stores every state, so both directions
// are straight-line code (no visitor, no closures — tsx's keepNames wraps every closure creation in a helper
// call) that allocates nothing unless a decoded classic list has entries, and fields are bit-packed: flags and
// masks share words, and addresses are coded as NULL, NONE or "the GISA of VM k". A value that does not fit its
// field is a RangeError naming the field, never a silent merge of two states. The two functions list the fields
// in the same order; codec.test.ts checks round trips on random worlds, which keeps them from drifting apart.
import { NONE_GISA_ADDR, NULL_GISA_ADDR } from '../abi/s390_gisa.ts';
import { type ClassicIo, GIB_ADDR, type S390World, type VcpuRunState, type VmState } from './world.ts';

export interface CodecOptions {
  /** Bound on the entries of each classic per-ISC list (encoding a longer list is a RangeError). Default 2. */
  classicCap?: number;
  /**
   * How timers are encoded: `armed` (default) only whether each is active — right for an explorer that lets any
   * armed timer fire; `relative` the ns left until expiry, for a scheduler that cares about time.
   */
  time?: 'armed' | 'relative';
}

const HEADER_WORDS = 2;
const VM_WORDS = 7;
const VCPU_WORDS = 2;
const CLASSIC_ENTRY_WORDS = 5;
const CLASSIC_LISTS = 8;

/** Number of words every encoding of this world's shape takes. */
export function stateWords(w: S390World, opts: CodecOptions = {}): number {
  const cap = opts.classicCap ?? 2;
  const rel = opts.time === 'relative' ? 1 : 0;
  let n = HEADER_WORDS;
  for (const vm of w.vms) {
    n += VM_WORDS + rel + vm.vcpus.length * (VCPU_WORDS + rel);
    if (cap > 0) n += CLASSIC_LISTS * (1 + cap * CLASSIC_ENTRY_WORDS);
  }
  return n;
}

function tooBig(field: string, v: number): never {
  throw new RangeError(`codec: ${field} = ${v} does not fit its field`);
}

/** An unsigned field of `bits` bits. */
function u(v: number, bits: number, field: string): number {
  // (v | 0) !== v rejects fractions and anything beyond int32; v >>> bits catches negatives and large values.
  if ((v | 0) !== v || v >>> bits !== 0) tooBig(field, v);
  return v;
}

/** Alert-list values: 0 NULL, 1 NONE, k + 2 the GISA of VM k. */
function addrCode(w: S390World, addr: number, field: string): number {
  if (addr === NULL_GISA_ADDR) return 0;
  if (addr === NONE_GISA_ADDR) return 1;
  for (let k = 0; k < w.vms.length; k++) if (w.vms[k]!.gisa_addr === addr) return k + 2;
  return tooBig(field, addr);
}

function addrOf(w: S390World, code: number): number {
  return code < 2 ? code : w.vms[code - 2]!.gisa_addr;
}

/** A value that is either 0 or the VM's own GISA address (gi.origin, a vCPU's gd). */
function ownGisa(vm: VmState, addr: number, field: string): number {
  if (addr === 0) return 0;
  return addr === vm.gisa_addr ? 1 : tooBig(field, addr);
}

const b = (x: boolean): number => (x ? 1 : 0);

/** Writes the state vector into out[0 .. stateWords); returns the number of words written. */
export function encodeInto(w: S390World, out: Int32Array, opts: CodecOptions = {}): number {
  const cap = opts.classicCap ?? 2;
  const relative = opts.time === 'relative';
  const now = w.now;
  const gib = w.gib;
  const walk = w.walk;
  let i = 0;
  const chsc =
    w.chsc_gib_origin === 0 ? 0 : w.chsc_gib_origin === GIB_ADDR ? 1 : tooBig('chsc', w.chsc_gib_origin);
  out[i++] =
    b(w.kvm_loaded) |
    (b(w.adapter_registered) << 1) |
    (b(w.gal_pending) << 2) |
    (b(gib !== null) << 3) |
    (b(walk.final) << 4) |
    (chsc << 5) |
    (u(walk.phase, 2, 'walk.phase') << 6) |
    (u(gib?.nisc ?? 0, 3, 'nisc') << 8) |
    (u(addrCode(w, walk.cur, 'walk.cur'), 5, 'walk.cur') << 11) |
    (u(w.vms.length, 16, 'VM count') << 16);
  out[i++] =
    addrCode(w, gib?.alert_list_origin ?? 0, 'alert_list_origin') |
    (addrCode(w, walk.origin, 'walk.origin') << 16);
  for (const vm of w.vms) {
    const gi = vm.gi;
    const fi = vm.fi;
    const expires =
      gi.expires === 0 ? 0 : gi.expires === w.cfg.expires_ns ? 1 : tooBig('expires', gi.expires);
    out[i++] =
      u(vm.gisa.ipm, 8, 'ipm') |
      (u(vm.gisa.iam, 8, 'iam') << 8) |
      (u(gi.mask, 8, 'alert.mask') << 16) |
      (u(vm.destroy, 2, 'destroy') << 24) |
      (ownGisa(vm, gi.origin, 'gi.origin') << 26) |
      (b(gi.timer_at >= 0) << 27) |
      (expires << 28);
    out[i++] =
      addrCode(w, vm.gisa.next_alert === vm.gisa_addr ? NULL_GISA_ADDR : vm.gisa.next_alert, 'next_alert') |
      (b(vm.gisa.next_alert === vm.gisa_addr) << 15) |
      (u(vm.ai_budget, 8, 'ai_budget') << 16) |
      (u(fi.pending, 8, 'fi.pending') << 24);
    const rc = gi.ref_count;
    let packed = 0;
    for (let k = 0; k < 8; k++) packed |= u(rc[k]!, 4, 'ref_count') << (4 * k);
    out[i++] = packed;
    out[i++] = gi.kicked_mask;
    out[i++] = vm.idle_mask;
    out[i++] =
      u(fi.next_rr_cpu, 5, 'next_rr_cpu') |
      (u(fi.last_sleep_cpu, 5, 'last_sleep_cpu') << 5) |
      (u(vm.online_vcpus, 6, 'online_vcpus') << 10) |
      (u(vm.vcpus_in_sie, 6, 'vcpus_in_sie') << 16) |
      (u(vm.vcpus.length, 6, 'vCPU count') << 22);
    out[i++] =
      u(fi.io_counter, 16, 'io_counter') |
      (b(vm.arch_destroyed) << 16) |
      (u(vm.walk_uaf, 2, 'walk_uaf') << 17);
    if (relative) out[i++] = gi.timer_at >= 0 ? gi.timer_at - now : -1;
    const lists = fi.lists;
    if (cap > 0) {
      for (let isc = 0; isc < CLASSIC_LISTS; isc++) {
        const list = lists[isc]!;
        if (list.length > cap) throw new RangeError(`${vm.name} classic ISC ${isc} list exceeds classicCap`);
        out[i++] = list.length;
        for (let j = 0; j < cap; j++) {
          const e = list[j];
          if (e === undefined) {
            for (let k = 0; k < CLASSIC_ENTRY_WORDS; k++) out[i++] = 0;
            continue;
          }
          out[i++] = b(e.ai);
          out[i++] = e.subchannel_id;
          out[i++] = e.subchannel_nr;
          out[i++] = e.io_int_parm | 0;
          out[i++] = e.io_int_word | 0;
        }
      }
    } else
      for (let isc = 0; isc < CLASSIC_LISTS; isc++)
        if (lists[isc]!.length) throw new RangeError(`${vm.name} classic ISC ${isc} list exceeds classicCap`);
    for (const v of vm.vcpus) {
      if ((v.cpuflags & 0xffffff) !== 0) tooBig('cpuflags', v.cpuflags);
      out[i++] =
        u(v.state, 2, 'vcpu state') |
        (b(v.psw_io) << 2) |
        (b(v.psw_ext) << 3) |
        (b(v.psw_mchk) << 4) |
        (b(v.valid_wakeup) << 5) |
        (b(v.wakeup_pending) << 6) |
        (b(v.ckc_pending) << 7) |
        (b(v.eca_aiv) << 8) |
        (ownGisa(vm, v.gd, 'gd') << 9) |
        (b(v.ckc_timer_at >= 0) << 10) |
        (u(v.cr6, 8, 'cr6') << 16) |
        ((v.cpuflags >>> 24) << 24);
      out[i++] = v.ckc_ns;
      if (relative) out[i++] = v.ckc_timer_at >= 0 ? v.ckc_timer_at - now : -1;
    }
  }
  return i;
}

/** The state vector of a world. Does not change the world. */
export function encodeState(w: S390World, opts: CodecOptions = {}): Int32Array {
  const out = new Int32Array(stateWords(w, opts));
  encodeInto(w, out, opts);
  return out;
}

/**
 * Overwrites the dynamic state of `into` (a world of the same shape) from words[offset ..]. Timer sequence
 * numbers are reassigned in encoding order; statistics and `now` are left as they are. With `armed` timers an
 * armed timer decodes as due now.
 */
export function decodeInto(
  words: Int32Array,
  offset: number,
  into: S390World,
  opts: CodecOptions = {},
): void {
  const cap = opts.classicCap ?? 2;
  const relative = opts.time === 'relative';
  const w = into;
  const now = w.now;
  if (offset + stateWords(w, opts) > words.length)
    throw new RangeError('state vector too short for the template');
  let i = offset;
  const h0 = words[i++]!;
  const h1 = words[i++]!;
  if (h0 >>> 16 !== w.vms.length) throw new RangeError('encoded VM count differs from the template');
  w.kvm_loaded = (h0 & 1) !== 0;
  w.adapter_registered = (h0 & 2) !== 0;
  w.gal_pending = (h0 & 4) !== 0;
  w.chsc_gib_origin = h0 & 0x20 ? GIB_ADDR : 0;
  const origin = addrOf(w, h1 & 0xffff);
  const nisc = (h0 >>> 8) & 7;
  if (!(h0 & 8)) w.gib = null;
  else if (w.gib !== null) {
    w.gib.alert_list_origin = origin;
    w.gib.nisc = nisc;
  } else w.gib = { addr: GIB_ADDR, alert_list_origin: origin, nisc };
  w.walk.final = (h0 & 0x10) !== 0;
  w.walk.phase = (h0 >>> 6) & 3;
  w.walk.origin = addrOf(w, h1 >>> 16);
  w.walk.cur = addrOf(w, (h0 >>> 11) & 31);
  for (const vm of w.vms) {
    const gi = vm.gi;
    const fi = vm.fi;
    const m0 = words[i++]!;
    const m1 = words[i++]!;
    const rc = words[i++]!;
    vm.gisa.ipm = m0 & 0xff;
    vm.gisa.iam = (m0 >>> 8) & 0xff;
    gi.mask = (m0 >>> 16) & 0xff;
    vm.destroy = (m0 >>> 24) & 3;
    gi.origin = m0 & (1 << 26) ? vm.gisa_addr : 0;
    gi.timer_at = m0 & (1 << 27) ? now : -1;
    gi.expires = m0 & (1 << 28) ? w.cfg.expires_ns : 0;
    vm.gisa.next_alert = m1 & 0x8000 ? vm.gisa_addr : addrOf(w, m1 & 0x7fff);
    vm.ai_budget = (m1 >>> 16) & 0xff;
    fi.pending = m1 >>> 24;
    const ref = gi.ref_count;
    for (let k = 0; k < 8; k++) ref[k] = (rc >>> (4 * k)) & 0xf;
    gi.kicked_mask = words[i++]!;
    vm.idle_mask = words[i++]!;
    const m5 = words[i++]!;
    fi.next_rr_cpu = m5 & 31;
    fi.last_sleep_cpu = (m5 >>> 5) & 31;
    vm.online_vcpus = (m5 >>> 10) & 63;
    vm.vcpus_in_sie = (m5 >>> 16) & 63;
    if (((m5 >>> 22) & 63) !== vm.vcpus.length) throw new RangeError(`vCPU count of ${vm.name} differs`);
    const m6 = words[i++]!;
    fi.io_counter = m6 & 0xffff;
    vm.arch_destroyed = (m6 & 0x10000) !== 0;
    vm.walk_uaf = (m6 >>> 17) & 3;
    if (relative) {
      const rel = words[i++]!;
      gi.timer_at = rel >= 0 ? now + rel : -1;
    }
    gi.timer_seq = gi.timer_at >= 0 ? ++w.seq : 0;
    const lists = fi.lists;
    for (let isc = 0; isc < CLASSIC_LISTS; isc++) {
      const list = lists[isc]!;
      if (list.length !== 0) list.length = 0;
      if (cap === 0) continue;
      const len = words[i++]!;
      for (let j = 0; j < len; j++) {
        const at = i + j * CLASSIC_ENTRY_WORDS;
        const e: ClassicIo = {
          ai: words[at] !== 0,
          subchannel_id: words[at + 1]!,
          subchannel_nr: words[at + 2]!,
          io_int_parm: words[at + 3]! >>> 0,
          io_int_word: words[at + 4]! >>> 0,
        };
        list.push(e);
      }
      i += cap * CLASSIC_ENTRY_WORDS;
    }
    for (const v of vm.vcpus) {
      const c0 = words[i++]!;
      v.state = (c0 & 3) as VcpuRunState;
      v.psw_io = (c0 & 4) !== 0;
      v.psw_ext = (c0 & 8) !== 0;
      v.psw_mchk = (c0 & 0x10) !== 0;
      v.valid_wakeup = (c0 & 0x20) !== 0;
      v.wakeup_pending = (c0 & 0x40) !== 0;
      v.ckc_pending = (c0 & 0x80) !== 0;
      v.eca_aiv = (c0 & 0x100) !== 0;
      v.gd = c0 & 0x200 ? vm.gisa_addr : 0;
      v.ckc_timer_at = c0 & 0x400 ? now : -1;
      v.cr6 = (c0 >>> 16) & 0xff;
      v.cpuflags = (c0 & 0xff000000) >>> 0;
      v.ckc_ns = words[i++]!;
      if (relative) {
        const rel = words[i++]!;
        v.ckc_timer_at = rel >= 0 ? now + rel : -1;
      }
      v.ckc_timer_seq = v.ckc_timer_at >= 0 ? ++w.seq : 0;
    }
  }
  // Reading past the end yields undefined (decoded as zeros), so the length is checked once, afterwards.
  if (i > words.length) throw new RangeError('state vector too short for the template');
}

/** A deep copy of a world with its own records and an empty event list (statistics included). */
export function cloneWorld(w: S390World): S390World {
  return structuredClone({ ...w, events: [] });
}

/** A new world: the template's static parts (config, names, addresses, vCPU ids) with the encoded state. */
export function decodeState(template: S390World, state: Int32Array, opts: CodecOptions = {}): S390World {
  const w = cloneWorld(template);
  w.seq = 0;
  decodeInto(state, 0, w, opts);
  if (state.length !== stateWords(w, opts)) throw new RangeError('state vector longer than the template');
  return w;
}

/** The same state as bytes (little-endian int32s), e.g. for a hash set or a file. */
export const encodeStateBytes = (w: S390World, opts: CodecOptions = {}): Uint8Array =>
  new Uint8Array(encodeState(w, opts).buffer);

/** A canonical string key for a visited-set. */
export const stateKey = (w: S390World, opts: CodecOptions = {}): string =>
  Buffer.from(encodeState(w, opts).buffer).toString('latin1');
