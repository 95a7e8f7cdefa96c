// Packs the dynamic part of a world into an Int32Array (and back) for an explicit-state explorer. One walk
// function describes the layout for both directions — encoding pushes each field, decoding reads it back into
// a copy of a template world with the same VMs — so the two cannot drift apart. Statistics, events, lowcore
// contents, timer sequence numbers and (by default) absolute time are not state: two worlds that differ only in
// them behave the same from here on, and must get the same key.
import { type ClassicIo, GIB_ADDR, type S390World, type VcpuRunState } from './world.ts';

export interface CodecOptions {
  /** Bound on the entries of each classic per-ISC list (encoding a longer list is a RangeError). Default 2. */
  classicCap?: number;
  /**
   * How timers are encoded: `armed` (default) only whether each is active — right for an explorer that lets any
   * armed timer fire; `relative` the ns left until expiry, for a scheduler that cares about time.
   */
  time?: 'armed' | 'relative';
}

interface FieldIo {
  readonly decoding: boolean;
  int(v: number): number;
}

const EMPTY_IO: ClassicIo = { ai: false, subchannel_id: 0, subchannel_nr: 0, io_int_parm: 0, io_int_word: 0 };

function walk(w: S390World, io: FieldIo, opts: Required<CodecOptions>): void {
  const bool = (b: boolean): boolean => io.int(b ? 1 : 0) !== 0;
  const timer = (at: number): number => {
    if (opts.time === 'armed') return io.int(at >= 0 ? 1 : 0) ? (io.decoding ? w.now : at) : -1;
    const rel = io.int(at >= 0 ? at - w.now : -1);
    return rel >= 0 ? w.now + rel : -1;
  };
  const reseq = (seq: number): number => (io.decoding ? ++w.seq : seq);

  w.kvm_loaded = bool(w.kvm_loaded);
  w.adapter_registered = bool(w.adapter_registered);
  w.chsc_gib_origin = io.int(w.chsc_gib_origin);
  w.gal_pending = bool(w.gal_pending);
  // Always the same words, so every encoding of a world shape has the same length (0s when there is no GIB).
  const gibPresent = bool(w.gib !== null);
  const origin = io.int(w.gib?.alert_list_origin ?? 0);
  const nisc = io.int(w.gib?.nisc ?? 0);
  if (io.decoding) w.gib = gibPresent ? { addr: GIB_ADDR, alert_list_origin: origin, nisc } : null;
  w.walk.phase = io.int(w.walk.phase);
  w.walk.origin = io.int(w.walk.origin);
  w.walk.final = bool(w.walk.final);

  if (io.int(w.vms.length) !== w.vms.length)
    throw new RangeError('encoded VM count differs from the template');
  for (const vm of w.vms) {
    if (io.int(vm.vcpus.length) !== vm.vcpus.length) throw new RangeError(`vCPU count of ${vm.name} differs`);
    vm.gi.origin = io.int(vm.gi.origin);
    vm.gisa.next_alert = io.int(vm.gisa.next_alert);
    vm.gisa.ipm = io.int(vm.gisa.ipm);
    vm.gisa.iam = io.int(vm.gisa.iam);
    vm.gi.mask = io.int(vm.gi.mask);
    for (let i = 0; i < vm.gi.ref_count.length; i++) vm.gi.ref_count[i] = io.int(vm.gi.ref_count[i]!);
    vm.gi.timer_at = timer(vm.gi.timer_at);
    vm.gi.timer_seq = reseq(vm.gi.timer_seq);
    vm.gi.expires = io.int(vm.gi.expires);
    vm.gi.kicked_mask = io.int(vm.gi.kicked_mask);
    vm.idle_mask = io.int(vm.idle_mask);
    vm.fi.pending = io.int(vm.fi.pending);
    vm.fi.io_counter = io.int(vm.fi.io_counter);
    vm.fi.next_rr_cpu = io.int(vm.fi.next_rr_cpu);
    vm.fi.last_sleep_cpu = io.int(vm.fi.last_sleep_cpu);
    vm.online_vcpus = io.int(vm.online_vcpus);
    vm.vcpus_in_sie = io.int(vm.vcpus_in_sie);
    vm.destroy = io.int(vm.destroy);
    vm.ai_budget = io.int(vm.ai_budget);
    for (let isc = 0; isc < vm.fi.lists.length; isc++) {
      const list = vm.fi.lists[isc]!;
      const len = io.int(list.length);
      if (len > opts.classicCap)
        throw new RangeError(`classic ISC ${isc} list of ${vm.name} exceeds classicCap`);
      const decoded: ClassicIo[] = [];
      for (let j = 0; j < opts.classicCap; j++) {
        const e = list[j] ?? EMPTY_IO;
        const entry: ClassicIo = {
          ai: bool(e.ai),
          subchannel_id: io.int(e.subchannel_id),
          subchannel_nr: io.int(e.subchannel_nr),
          io_int_parm: io.int(e.io_int_parm | 0) >>> 0,
          io_int_word: io.int(e.io_int_word | 0) >>> 0,
        };
        if (j < len) decoded.push(entry);
      }
      if (io.decoding) vm.fi.lists[isc] = decoded;
    }
    for (const v of vm.vcpus) {
      v.state = io.int(v.state) as VcpuRunState;
      v.psw_io = bool(v.psw_io);
      v.psw_ext = bool(v.psw_ext);
      v.psw_mchk = bool(v.psw_mchk);
      v.cr6 = io.int(v.cr6);
      v.cpuflags = io.int(v.cpuflags | 0) >>> 0;
      v.valid_wakeup = bool(v.valid_wakeup);
      v.wakeup_pending = bool(v.wakeup_pending);
      v.ckc_ns = io.int(v.ckc_ns);
      v.ckc_timer_at = timer(v.ckc_timer_at);
      v.ckc_timer_seq = reseq(v.ckc_timer_seq);
      v.ckc_pending = bool(v.ckc_pending);
      v.gd = io.int(v.gd);
      v.eca_aiv = bool(v.eca_aiv);
    }
  }
}

const withDefaults = (o: CodecOptions): Required<CodecOptions> => ({
  classicCap: o.classicCap ?? 2,
  time: o.time ?? 'armed',
});

/** Number of words every encoding of this world's shape takes. */
export function stateWords(w: S390World, opts: CodecOptions = {}): number {
  let n = 0;
  const int = (v: number): number => {
    n++;
    return v;
  };
  walk(w, { decoding: false, int }, withDefaults(opts));
  return n;
}

/** Writes the state vector into out[0 .. stateWords). Does not change the world. */
export function encodeInto(w: S390World, out: Int32Array, opts: CodecOptions = {}): void {
  let at = 0;
  const int = (v: number): number => {
    out[at++] = v | 0;
    return v;
  };
  walk(w, { decoding: false, int }, withDefaults(opts));
}

/** The state vector of a world. Does not change the world. */
export function encodeState(w: S390World, opts: CodecOptions = {}): Int32Array {
  const out = new Int32Array(stateWords(w, opts));
  encodeInto(w, out, opts);
  return out;
}

/**
 * Overwrites the dynamic state of `into` (a world of the same shape) from words[offset ..]. Timer sequence
 * numbers are reassigned in encoding order; statistics and `now` are left as they are.
 */
export function decodeInto(
  words: Int32Array,
  offset: number,
  into: S390World,
  opts: CodecOptions = {},
): void {
  let at = offset;
  const int = (): number => {
    if (at >= words.length) throw new RangeError('state vector too short for the template');
    return words[at++]!;
  };
  walk(into, { decoding: true, int }, withDefaults(opts));
}

/** A new world: the template's static parts (config, names, addresses, vCPU ids) with the encoded state. */
export function decodeState(template: S390World, state: Int32Array, opts: CodecOptions = {}): S390World {
  const w: S390World = structuredClone({ ...template, events: [] });
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
