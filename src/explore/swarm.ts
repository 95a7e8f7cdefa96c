/**
 * Swarm search (Holzmann, Joshi and Groce, "Swarm verification", ASE 2008; spin's swarm tool): instead of
 * one search that cannot finish, many small independent searches that each explore a different part of
 * the space, because each takes successors in another order, hashes with other functions and stops at
 * another depth. Each is a bitstate depth-first search (bitstate.ts) over the model wrapped by
 * `diversify`, which reorders the enabled steps; together they cover more of a large space, sooner, than
 * one search with all the memory.
 *
 * Everything here is a deterministic function of the swarm's seed and the search's number: search i of a
 * swarm is the same search whichever thread runs it and whenever (x86/swarm_run.ts relies on it).
 */
import { hashWordsSeeded } from './hash.ts';
import type { Model } from './model.ts';

/** How a search orders the enabled steps of a state. */
export type SwarmOrder = 'model' | 'reverse' | 'shuffle' | 'rank';

/** One search of a swarm. */
export interface SwarmMember {
  readonly index: number;
  /**
   * model: the model's own order (search 0, the plain bitstate search); reverse: last first (spin -T);
   * shuffle: a fresh pseudo-random permutation per expanded state; rank: one fixed pseudo-random priority
   * per step id for the whole search.
   */
  readonly order: SwarmOrder;
  /** The order's pseudo-random seed (shuffle, rank). */
  readonly orderSeed: number;
  /** Mixed into the bitstate hash functions (bitstate.ts hashSeed). */
  readonly hashSeed: number;
  /** States deeper than this are not expanded (spin -m); null: no bound. */
  readonly depthBound: number | null;
}

/** splitmix32: a small, well-mixed 32-bit generator (one step of it per call). */
export function splitmix32(state: number): { value: number; next: number } {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return { value: z >>> 0, next };
}

/** The depth bounds the members cycle through (spin's swarm varies -m the same way). */
export const SWARM_DEPTH_BOUNDS: readonly (number | null)[] = [null, null, 1000, 100];

/**
 * Search `index` of the swarm with seed `seed`. Search 0 is the plain bitstate search (the model's order,
 * the default hashes, no bound), so a swarm never does worse than `--bitstate` with the same bits;
 * search 1 takes steps in reverse; the others alternate shuffled and ranked orders. Every search but 0
 * has hash functions of its own; the depth bounds cycle through SWARM_DEPTH_BOUNDS.
 */
export function swarmMember(seed: number, index: number): SwarmMember {
  if (index === 0) return { index, order: 'model', orderSeed: 0, hashSeed: 0, depthBound: null };
  let st = (Math.imul(seed | 0, 0x2c1b3c6d) ^ Math.imul(index, 0x297a2d39)) | 0;
  const a = splitmix32(st);
  st = a.next;
  const b = splitmix32(st);
  const order: SwarmOrder = index === 1 ? 'reverse' : index % 2 === 0 ? 'shuffle' : 'rank';
  return {
    index,
    order,
    orderSeed: a.value,
    hashSeed: b.value | 0 || 1,
    depthBound: SWARM_DEPTH_BOUNDS[index % SWARM_DEPTH_BOUNDS.length]!,
  };
}

/** A short description of a member for the output ("rank order 0x1a2b3c4d, depth ≤ 100"). */
export function describeMember(m: SwarmMember): string {
  const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
  const order =
    m.order === 'model' || m.order === 'reverse'
      ? `${m.order} order`
      : `${m.order} order ${hex(m.orderSeed)}`;
  const hash = m.hashSeed === 0 ? 'default hashes' : `hash seed ${hex(m.hashSeed)}`;
  return `${order}, ${hash}, ${m.depthBound === null ? 'no depth bound' : `depth ≤ ${m.depthBound}`}`;
}

/**
 * `model` with its enabled steps reordered as `member` says, and every encoding it produces counted in
 * `sketch` (the union coverage estimate). The steps themselves, their ids, encodings and checks are the
 * model's: a trace found through the wrapper is a trace of the model.
 */
export function diversify<S>(model: Model<S>, member: SwarmMember, sketch: StateSketch | null): Model<S> {
  const order = member.order;
  const stepCount = Math.max(1, model.stepCount);
  const rank = new Uint32Array(stepCount);
  let rng = member.orderSeed | 0;
  for (let i = 0; i < stepCount; i++) {
    const r = splitmix32(rng);
    rng = r.next;
    rank[i] = r.value;
  }
  const tmp = new Int32Array(stepCount);
  const words = model.stateWords;
  return {
    ...model,
    encode(s, out) {
      model.encode(s, out);
      sketch?.add(out, words);
    },
    enabled(s, out) {
      const n = model.enabled(s, out);
      if (n < 2 || order === 'model') return n;
      if (order === 'reverse') {
        for (let i = 0, j = n - 1; i < j; i++, j--) {
          const t = out[i]!;
          out[i] = out[j]!;
          out[j] = t;
        }
      } else if (order === 'shuffle') {
        // Fisher–Yates with the member's generator, advanced once per swap: deterministic given the
        // search's sequence of expansions, which is itself deterministic.
        for (let i = n - 1; i > 0; i--) {
          const r = splitmix32(rng);
          rng = r.next;
          const j = r.value % (i + 1);
          const t = out[i]!;
          out[i] = out[j]!;
          out[j] = t;
        }
      } else {
        // Insertion sort by rank (n is small: the enabled steps of one state).
        for (let i = 0; i < n; i++) tmp[i] = out[i]!;
        for (let i = 1; i < n; i++) {
          const v = tmp[i]!;
          const rv = rank[v]!;
          let j = i - 1;
          while (j >= 0 && rank[tmp[j]!]! > rv) {
            tmp[j + 1] = tmp[j]!;
            j--;
          }
          tmp[j + 1] = v;
        }
        for (let i = 0; i < n; i++) out[i] = tmp[i]!;
      }
      return n;
    },
  };
}

/**
 * A HyperLogLog sketch (Flajolet et al. 2007) of the distinct encodings a search produced: 2^14 one-byte
 * registers (16 KiB), standard error about 1.04/√16384 ≈ 0.8%. Sketches of several searches merge by
 * taking each register's maximum, which estimates the number of distinct states the searches reached
 * together: the swarm's union coverage. Its hash is fixed (not a member's), so every search hashes a state
 * the same way. 32-bit hashes keep the estimate good up to about 10^8 states.
 */
export const SKETCH_P = 14;
const SKETCH_M = 1 << SKETCH_P;
const SKETCH_SEED = 0x5bd1e995 | 0;

export class StateSketch {
  readonly registers: Uint8Array;
  constructor(registers?: Uint8Array) {
    this.registers = registers ?? new Uint8Array(SKETCH_M);
  }
  add(words: Int32Array, n: number): void {
    const h = hashWordsSeeded(words, 0, n, SKETCH_SEED);
    const idx = h >>> (32 - SKETCH_P);
    // Rank of the first 1 bit in the remaining 18 bits (1-based), 19 when they are all 0.
    const rest = (h << SKETCH_P) | (1 << (SKETCH_P - 1));
    const rho = Math.clz32(rest) + 1;
    if (rho > this.registers[idx]!) this.registers[idx] = rho;
  }
  merge(other: Uint8Array): void {
    const r = this.registers;
    for (let i = 0; i < SKETCH_M; i++) if (other[i]! > r[i]!) r[i] = other[i]!;
  }
  /** The estimated number of distinct states (with the small-range correction: linear counting). */
  estimate(): number {
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < SKETCH_M; i++) {
      const v = this.registers[i]!;
      sum += 2 ** -v;
      if (v === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / SKETCH_M);
    const e = (alpha * SKETCH_M * SKETCH_M) / sum;
    if (e <= 2.5 * SKETCH_M && zeros > 0) return SKETCH_M * Math.log(SKETCH_M / zeros);
    return e;
  }
}
