// Runs a sim scenario: every variant for every seed, then the expected directions per seed.
import type { MetricName } from './metrics.ts';
import type { S390SimScenario, SimExpect, SimVariant } from './scenario.ts';
import { S390Sim, type SimResult } from './scheduler.ts';
import { buildSetup, defaultVariant } from './workload.ts';

export interface SimRunOptions {
  /** Seeds to run (default: the scenario's `seeds`, else [1]). */
  seeds?: readonly number[];
  /** Only these variants (default: all). Expectations naming another variant are skipped. */
  variants?: readonly string[];
}

/** One expectation checked for one seed. */
export interface ExpectOutcome {
  readonly metric: MetricName;
  readonly seed: number;
  readonly left: { variant: string; value: number };
  readonly op: 'lt' | 'le' | 'gt' | 'ge';
  readonly right: { variant?: string; value: number };
  readonly holds: boolean;
  readonly note?: string;
}

export interface SimReport {
  readonly name: string;
  readonly seeds: readonly number[];
  readonly variants: readonly string[];
  /** Variant-major, then seed order. */
  readonly results: readonly SimResult[];
  readonly expectations: readonly ExpectOutcome[];
  /** Every expectation held for every seed. */
  readonly ok: boolean;
}

const OPS = {
  lt: (a: number, b: number) => a < b,
  le: (a: number, b: number) => a <= b,
  gt: (a: number, b: number) => a > b,
  ge: (a: number, b: number) => a >= b,
} as const;
export const OP_SYMBOL = { lt: '<', le: '≤', gt: '>', ge: '≥' } as const;

export function runSimScenario(s: S390SimScenario, opts: SimRunOptions = {}): SimReport {
  const seeds = opts.seeds ?? s.seeds ?? [1];
  const all: SimVariant[] = s.variants ?? [defaultVariant(s)];
  const variants = opts.variants ? all.filter((v) => opts.variants!.includes(v.name)) : all;
  const results: SimResult[] = [];
  for (const v of variants) for (const seed of seeds) results.push(new S390Sim(buildSetup(s, v, seed)).run());
  const find = (variant: string, seed: number) =>
    results.find((r) => r.variant === variant && r.seed === seed)?.metrics;
  const expectations: ExpectOutcome[] = [];
  for (const e of s.expect ?? [])
    for (const seed of seeds) {
      const o = check(e, seed, find);
      if (o) expectations.push(o);
    }
  return {
    name: s.name ?? '',
    seeds,
    variants: variants.map((v) => v.name),
    results,
    expectations,
    ok: expectations.every((o) => o.holds),
  };
}

function check(
  e: SimExpect,
  seed: number,
  find: (variant: string, seed: number) => Record<MetricName, number> | undefined,
): ExpectOutcome | null {
  const op = e.lt !== undefined ? 'lt' : e.le !== undefined ? 'le' : e.gt !== undefined ? 'gt' : 'ge';
  const bound = e[op]!;
  const left = find(e.variant, seed);
  const rightMetrics = typeof bound === 'string' ? find(bound, seed) : undefined;
  if (!left || (typeof bound === 'string' && !rightMetrics)) return null;
  const value = left[e.metric];
  const rightValue = typeof bound === 'number' ? bound : rightMetrics![e.metric];
  return {
    metric: e.metric,
    seed,
    left: { variant: e.variant, value },
    op,
    right: typeof bound === 'string' ? { variant: bound, value: rightValue } : { value: rightValue },
    holds: OPS[op](value, rightValue),
    ...(e.note !== undefined ? { note: e.note } : {}),
  };
}
