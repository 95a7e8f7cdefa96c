// Seeded pseudo-random numbers: mulberry32, bit-identical to /work/shared/bench/des.c, plus named
// independent streams derived from one root seed.
//
// Why mulberry32: it is what the reference engine (des.c) uses, so the engine can be checked against it
// bit for bit; it is tiny (one uint32 of state) and fast in JS (Math.imul, no BigInt).
//
// Why named streams: each source of randomness (a vCPU, a VM, the swap device …) draws from its own
// stream whose seed depends only on (root seed, stream name). Adding a stream, or changing how often
// another stream draws, therefore does not perturb any existing stream's draws, and scenario results
// stay comparable across model changes.
//
// Caveat (documented in docs/sim-engine.md): mulberry32's state advances by a constant (a Weyl
// sequence), so every seed walks the same cycle of 2^32 states; two streams are the same sequence at
// different offsets. Streams that each draw far fewer than 2^32 / (number of streams) values are, with
// high probability, non-overlapping; see `streamOffset`.

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

/**
 * Hands out named streams under one root seed. `stream(name)` returns a fresh generator each call (the
 * factory holds no per-stream state), so callers own their streams and asking twice for a name restarts
 * that stream from its beginning.
 */
export class RngFactory {
  readonly rootSeed: number;

  constructor(rootSeed: number) {
    this.rootSeed = rootSeed >>> 0;
  }

  stream(name: string): Mulberry32 {
    return new Mulberry32(streamSeed(this.rootSeed, name));
  }
}
