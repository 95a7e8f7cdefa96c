// The simulator's random streams: xoshiro128** seeded from the engine's named-stream derivation.
//
// Why not the engine's mulberry32 directly: mulberry32 is one 2^32 cycle for every seed, so k streams
// that each draw n values overlap with about k²·n / 2^32 pairs (docs/sim-engine.md). A host with 64 VMs
// × 8 tasks draws from 512 streams, millions of values each: dozens of overlapping pairs. xoshiro128**
// has 128 bits of state and period 2^128 − 1, so streams seeded from distinct 32-bit seeds (through
// splitmix32) practically never overlap. The seed of a stream still comes from `streamSeed(root, name)`
// of src/sim/engine/rng.ts, so a stream depends only on (root seed, name): adding a VM does not perturb
// the draws of the others.
import { streamSeed, type UniformSource } from './engine/rng.ts';

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

/** The stream `name` under `rootSeed` (e.g. "vm:web-0/task3", "swap"). */
export const simStream = (rootSeed: number, name: string): Xoshiro128 =>
  new Xoshiro128(streamSeed(rootSeed, name));
