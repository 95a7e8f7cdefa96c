// Random distributions for simulation parameters (service times, think times, latencies …).
//
// A scenario writes a distribution as a spec (see dist_schema.ts); `compileDist` turns the spec into a
// `Dist`, a small object whose `sample(rng)` is a switch on a numeric kind over preallocated fields, so a
// draw allocates nothing and every Dist has the same hidden class (the call site stays monomorphic).
//
// Each kind consumes a fixed number of uniform draws per sample, in a fixed order, so a stream's sequence
// of samples is a pure function of its seed:
//   constant     0 draws
//   uniform      1 draw   min + (max - min) * u
//   exponential  1 draw   -mean * ln(1 - u)                      (des.c's expo(), bit for bit)
//   lognormal    2 draws  median * exp(sigma * z), z by Box–Muller from u1 then u2:
//                         z = sqrt(-2 ln(1 - u1)) * cos(2π u2)   (the sine half is discarded, not cached,
//                         so a sample never depends on the previous one)
//   empirical    1 draw   values[floor(u * n)], or with weights the first i whose cumulative weight
//                         exceeds u * total (binary search)
// u is in [0, 1), so 1 - u is in (0, 1] and the logarithms are finite.

import type { UniformSource } from './rng.ts';

/** A distribution spec with values already converted to numbers (ns for durations). */
export type DistSpec =
  | { dist: 'constant'; value: number }
  | { dist: 'uniform'; min: number; max: number }
  | { dist: 'exponential'; mean: number }
  | { dist: 'lognormal'; median: number; sigma: number }
  | { dist: 'empirical'; values: readonly number[]; weights?: readonly number[] | undefined };

export type DistKind = DistSpec['dist'];

export const DIST_KINDS: readonly DistKind[] = [
  'constant',
  'uniform',
  'exponential',
  'lognormal',
  'empirical',
];

const CONSTANT = 0;
const UNIFORM = 1;
const EXPONENTIAL = 2;
const LOGNORMAL = 3;
const EMPIRICAL = 4;
const WEIGHTED = 5;

const TWO_PI = 2 * Math.PI;
const EMPTY = new Float64Array(0);

/** A compiled distribution. Create with `compileDist`. */
export class Dist {
  /** One of the kind constants above. */
  private readonly kind: number;
  /** constant: value; uniform: min; exponential: -mean; lognormal: median. */
  private readonly a: number;
  /** uniform: max - min; lognormal: sigma. */
  private readonly b: number;
  /** empirical: the values. */
  private readonly values: Float64Array;
  /** weighted empirical: cumulative weights (last = total). */
  private readonly cumulative: Float64Array;
  /** The spec this was compiled from (for reports and `mean`). */
  readonly spec: DistSpec;

  /** @internal use compileDist, which validates. */
  constructor(
    kind: number,
    a: number,
    b: number,
    values: Float64Array,
    cumulative: Float64Array,
    spec: DistSpec,
  ) {
    this.kind = kind;
    this.a = a;
    this.b = b;
    this.values = values;
    this.cumulative = cumulative;
    this.spec = spec;
  }

  /** Draws one sample, consuming the number of uniforms listed at the top of this file. */
  sample(rng: UniformSource): number {
    switch (this.kind) {
      case CONSTANT:
        return this.a;
      case UNIFORM:
        return this.a + this.b * rng.next();
      case EXPONENTIAL:
        // this.a holds -mean: des.c computes -mean * log(1 - u), and negation is exact, so this is the
        // same double.
        return this.a * Math.log(1 - rng.next());
      case LOGNORMAL: {
        const u1 = rng.next();
        const u2 = rng.next();
        const z = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(TWO_PI * u2);
        return this.a * Math.exp(this.b * z);
      }
      case EMPIRICAL: {
        const values = this.values;
        return values[Math.floor(rng.next() * values.length)]!;
      }
      default: {
        const cum = this.cumulative;
        const x = rng.next() * cum[cum.length - 1]!;
        // First index with cum[i] > x; zero-weight entries (cum[i] === cum[i-1]) are never chosen.
        let lo = 0;
        let hi = cum.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cum[mid]! > x) hi = mid;
          else lo = mid + 1;
        }
        return this.values[lo]!;
      }
    }
  }

  /** The distribution's mean (for reports and sanity checks; exact formula, no sampling). */
  mean(): number {
    const s = this.spec;
    switch (s.dist) {
      case 'constant':
        return s.value;
      case 'uniform':
        return (s.min + s.max) / 2;
      case 'exponential':
        return s.mean;
      case 'lognormal':
        return s.median * Math.exp((s.sigma * s.sigma) / 2);
      case 'empirical': {
        const w = s.weights;
        let sum = 0;
        let total = 0;
        for (let i = 0; i < s.values.length; i++) {
          const wi = w ? w[i]! : 1;
          sum += wi * s.values[i]!;
          total += wi;
        }
        return sum / total;
      }
    }
  }
}

/**
 * Checks a spec's parameters; returns an error phrase or null. The zod schema reports these per field;
 * this is the backstop for specs built in code.
 */
export function checkDistSpec(spec: DistSpec): string | null {
  const finite = (x: number) => typeof x === 'number' && Number.isFinite(x);
  switch (spec.dist) {
    case 'constant':
      return finite(spec.value) ? null : 'value must be a finite number';
    case 'uniform':
      if (!finite(spec.min) || !finite(spec.max)) return 'min and max must be finite numbers';
      return spec.min <= spec.max ? null : 'min must not exceed max';
    case 'exponential':
      return finite(spec.mean) && spec.mean > 0 ? null : 'mean must be greater than 0';
    case 'lognormal':
      if (!(finite(spec.median) && spec.median > 0)) return 'median must be greater than 0';
      return finite(spec.sigma) && spec.sigma >= 0 ? null : 'sigma must be a number >= 0';
    case 'empirical': {
      if (spec.values.length === 0) return 'values must not be empty';
      if (!spec.values.every(finite)) return 'values must be finite numbers';
      const w = spec.weights;
      if (w === undefined) return null;
      if (w.length !== spec.values.length) {
        return `weights must have one entry per value (${spec.values.length}), got ${w.length}`;
      }
      if (!w.every((x) => finite(x) && x >= 0)) return 'weights must be numbers >= 0';
      return w.some((x) => x > 0) ? null : 'at least one weight must be greater than 0';
    }
  }
}

/** Compiles a spec into a sampler. Throws on an invalid spec (a programming error: schemas validate). */
export function compileDist(spec: DistSpec): Dist {
  const err = checkDistSpec(spec);
  if (err !== null) throw new RangeError(`invalid ${spec.dist} distribution: ${err}`);
  switch (spec.dist) {
    case 'constant':
      return new Dist(CONSTANT, spec.value, 0, EMPTY, EMPTY, spec);
    case 'uniform':
      return new Dist(UNIFORM, spec.min, spec.max - spec.min, EMPTY, EMPTY, spec);
    case 'exponential':
      return new Dist(EXPONENTIAL, -spec.mean, 0, EMPTY, EMPTY, spec);
    case 'lognormal':
      return new Dist(LOGNORMAL, spec.median, spec.sigma, EMPTY, EMPTY, spec);
    case 'empirical': {
      const values = Float64Array.from(spec.values);
      const w = spec.weights;
      if (w === undefined) return new Dist(EMPIRICAL, 0, 0, values, EMPTY, spec);
      const cumulative = new Float64Array(w.length);
      let total = 0;
      for (let i = 0; i < w.length; i++) {
        total += w[i]!;
        cumulative[i] = total;
      }
      return new Dist(WEIGHTED, 0, 0, values, cumulative, spec);
    }
  }
}
