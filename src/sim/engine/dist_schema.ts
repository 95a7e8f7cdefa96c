// zod schema for a distribution spec as scenarios write it:
//
//   latency: 10us                                          # constant (a plain value)
//   latency: { dist: constant, value: 10us }
//   latency: { dist: uniform, min: 1us, max: 5us }
//   latency: { dist: exponential, mean: 10us }
//   latency: { dist: lognormal, median: 100us, sigma: 0.5 }  # median = e^mu; sigma is dimensionless
//   latency: { dist: empirical, values: [10us, 20us] }
//   latency: { dist: empirical, values: [10us, 20us], weights: [3, 1] }
//
// Output: a DistSpec (dist.ts) with values converted to numbers (ns for durations), ready for compileDist.
//
// The top level dispatches by hand on "is it an object, and what is its `dist`" instead of using a zod
// union, so that every error is one issue at the offending field (`latency.dist: expected one of …`,
// `latency.values[2]: expected a duration …`) instead of a union's top-level "Invalid input".

import { z } from 'zod';
import { show, withInputSide } from '../../scenario/values.ts';
import { checkDistSpec, DIST_KINDS, type DistKind, type DistSpec } from './dist.ts';
import { durationSchema } from './quantity_schema.ts';

type ValueSchema = z.ZodType<number, unknown>;

const sigmaSchema = z.number({ error: 'sigma must be a number >= 0' }).min(0, 'sigma must be a number >= 0');
const weightSchema = z
  .number({ error: 'a weight must be a number >= 0' })
  .min(0, 'a weight must be a number >= 0');

function kindSchemas(value: ValueSchema): Record<DistKind, z.ZodType<DistSpec, unknown>> {
  return {
    constant: z.strictObject({ dist: z.literal('constant'), value }),
    uniform: z
      .strictObject({ dist: z.literal('uniform'), min: value, max: value })
      .refine((s) => s.min <= s.max, { message: 'max must not be less than min', path: ['max'] }),
    exponential: z
      .strictObject({ dist: z.literal('exponential'), mean: value })
      .refine((s) => s.mean > 0, { message: 'mean must be greater than 0', path: ['mean'] }),
    lognormal: z
      .strictObject({ dist: z.literal('lognormal'), median: value, sigma: sigmaSchema })
      .refine((s) => s.median > 0, { message: 'median must be greater than 0', path: ['median'] }),
    empirical: z
      .strictObject({
        dist: z.literal('empirical'),
        values: z.array(value).min(1, 'values must list at least one value'),
        weights: z.array(weightSchema).optional(),
      })
      .refine((s) => s.weights === undefined || s.weights.length === s.values.length, {
        message: 'weights must have one entry per value',
        path: ['weights'],
      })
      .refine((s) => s.weights === undefined || s.weights.some((w) => w > 0), {
        message: 'at least one weight must be greater than 0',
        path: ['weights'],
      }),
  };
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * A distribution spec schema whose values (constant, min/max, mean, median, empirical values) are parsed
 * by `value`, durations by default. A plain value means a constant.
 */
export function distSpecSchema(value: ValueSchema = durationSchema) {
  const kinds = kindSchemas(value);
  const allowed = DIST_KINDS.map((k) => JSON.stringify(k)).join(', ');
  const asWritten = z.union([value, ...Object.values(kinds)]);
  return withInputSide(
    z.unknown().transform((input, ctx): DistSpec => {
      let issues: readonly z.core.$ZodIssue[];
      if (isPlainObject(input)) {
        const kind = input.dist;
        if (typeof kind !== 'string' || !(DIST_KINDS as readonly string[]).includes(kind)) {
          const got = kind === undefined ? 'nothing' : show(kind);
          ctx.issues.push({
            code: 'custom',
            message: `expected one of ${allowed}, got ${got}`,
            input,
            path: ['dist'],
          });
          return z.NEVER;
        }
        const r = kinds[kind as DistKind].safeParse(input);
        if (r.success) return finish(r.data, ctx);
        issues = r.error.issues;
      } else {
        const r = value.safeParse(input);
        if (r.success) return finish({ dist: 'constant', value: r.data }, ctx);
        issues = r.error.issues;
      }
      // Forwarded as-is (codes kept, paths relative to this field; zod prefixes the field's path).
      for (const issue of issues) ctx.issues.push({ ...issue, input } as z.core.$ZodRawIssue);
      return z.NEVER;
    }),
    asWritten,
  );
}

/** Backstop for what the per-field checks cannot see (e.g. non-finite numbers from a custom `value`). */
function finish(spec: DistSpec, ctx: z.core.$RefinementCtx<unknown>): DistSpec {
  const err = checkDistSpec(spec);
  if (err === null) return spec;
  ctx.issues.push({ code: 'custom', message: err, input: spec });
  return z.NEVER;
}

/** The usual case: a distribution of durations, in ns. */
export const durationDistSchema = distSpecSchema();
