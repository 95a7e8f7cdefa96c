// Seeded pseudo-random numbers: the one RNG module of the simulators. Two generators, both seeded from
// named streams of one root seed:
//
// - xoshiro128** (`Xoshiro128`, `xoshiro128Stream`): 128 bits of state, period 2^128 − 1. New code should
//   use this one. Streams seeded from distinct 32-bit seeds (through splitmix32) practically never
//   overlap, however many streams there are and however long they run. The x86 workload simulator
//   (src/sim) draws every task's workload and the swap device's latencies from it.
// - mulberry32 (`Mulberry32`, `mulberry32Stream`): bit-identical to des.c (../shared/bench/des.c), so
//   the engine can be checked against the C reference bit for bit; tiny (one uint32 of state) and fast.
//   Its state is a Weyl sequence: every seed walks the same cycle of 2^32 states, so two streams are the
//   same sequence at different offsets, and k streams that each draw n values overlap with about
//   k²·n / 2^32 pairs (docs/sim-engine.md; see `streamOffset`). It stays for the des.c reproduction and
//   for the s390 simulator (src/sim/s390), whose recorded outputs are its draws: moving s390 to
//   xoshiro128** would change every s390 result, which is a decision of its own.
//
// Why named streams: each source of randomness (a vCPU, a VM, the swap device …) draws from its own
// stream whose seed depends only on (root seed, stream name) (`streamSeed`). Adding a stream, or changing
// how often another stream draws, therefore does not perturb any existing stream's draws, and scenario
// results stay comparable across model changes.

/** The Weyl increment of mulberry32. */
const GOLDEN = 0x6d2b79f5;

/** A source of uniform draws in [0, 1). The engine's distributions only need this. */
export interface UniformSource {
  next(): number;
}

/**
 * mulberry32. `next()` returns (t ^ (t >>> 14)) / 2^32, exactly as des.c's `rnd()`: a multiple of 2^-32
 * in [0, 1).
 */
export class Mulberry32 implements UniformSource {
  /** The 32-bit state, kept as an int32 (its bits are what matter). */
  state: number;

  constructor(seed: number) {
    // des.c: rs = (uint32_t)atol(argv[4]); `| 0` keeps the same low 32 bits.
    this.state = seed | 0;
  }

  next(): number {
    const s = (this.state + GOLDEN) | 0;
    this.state = s;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uint32 draw (the same value `next()` would scale by 2^-32). */
  nextUint32(): number {
    const s = (this.state + GOLDEN) | 0;
    this.state = s;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  }
}

const utf8 = new TextEncoder();

/**
 * The seed of stream `name` under `rootSeed`:
 *
 *   h = FNV-1a-32 over the bytes [rootSeed as 4 little-endian bytes] ++ UTF-8(name)
 *   seed = fmix32(h)    (MurmurHash3's 32-bit finalizer)
 *
 * FNV-1a is stable, byte-oriented and trivial to reimplement anywhere; the finalizer spreads FNV's
 * weakly mixed output over all 32 bits so that names differing in one character ('vm0', 'vm1') get
 * unrelated seeds, i.e. far-apart offsets on mulberry32's cycle.
 */
export function streamSeed(rootSeed: number, name: string): number {
  let h = 0x811c9dc5;
  const r = rootSeed >>> 0;
  for (let k = 0; k < 4; k++) {
    h ^= (r >>> (8 * k)) & 0xff;
    h = Math.imul(h, 0x01000193);
  }
  for (const b of utf8.encode(name)) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** MurmurHash3's fmix32: a bijection on uint32 with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Multiplicative inverse of GOLDEN mod 2^32 (GOLDEN is odd), by Newton's iteration. */
const GOLDEN_INV = (() => {
  let x = GOLDEN;
  for (let k = 0; k < 5; k++) x = Math.imul(x, 2 - Math.imul(GOLDEN, x));
  return x >>> 0;
})();

/**
 * How many draws stream `from` must make before it reaches the state stream `to` starts in: the two
 * streams are the same mulberry32 sequence shifted by this many draws (mod 2^32). Streams overlap only if
 * one of them draws at least this many (or, the other way round, 2^32 minus this many) values.
 */
export function streamOffset(fromSeed: number, toSeed: number): number {
  return Math.imul((toSeed - fromSeed) | 0, GOLDEN_INV) >>> 0;
}

/** The mulberry32 stream `name` under `rootSeed` (each call starts the stream from its beginning). */
export const mulberry32Stream = (rootSeed: number, name: string): Mulberry32 =>
  new Mulberry32(streamSeed(rootSeed, name));

/** splitmix32 step: expands one 32-bit seed into well-mixed state words. */
function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** xoshiro128** (Blackman & Vigna). `next()` is a multiple of 2^-32 in [0, 1). */
export class Xoshiro128 implements UniformSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    x = splitmix32(x);
    this.s0 = x | 0;
    x = splitmix32(x ^ 0x6a09e667);
    this.s1 = x | 0;
    x = splitmix32(x ^ 0xbb67ae85);
    this.s2 = x | 0;
    x = splitmix32(x ^ 0x3c6ef372);
    this.s3 = x | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  nextUint32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return r >>> 0;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }
}

/** The xoshiro128** stream `name` under `rootSeed` (e.g. "vm:web-0/task3", "host/swap"). */
export const xoshiro128Stream = (rootSeed: number, name: string): Xoshiro128 =>
  new Xoshiro128(streamSeed(rootSeed, name));
