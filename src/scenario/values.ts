// zod building blocks for scenario values: integers written as numbers, bigints or "0x…" strings, sizes
// with binary units, and names-or-numbers for MSRs and CPUID bits.
import { z } from 'zod';
import { DURATION_JSON_SCHEMA, parseDuration, parseSize, SIZE_JSON_SCHEMA } from './units.ts';

// Each helper below is `z.unknown()` plus a transform, so zod alone would publish it as an untyped field
// in the JSON Schemas (schemas/*.json, scripts/gen-schemas.ts). `.meta()` gives each the type of what a
// scenario file holds; z.toJSONSchema merges that metadata into the field's schema.

/**
 * For a transform that dispatches by hand (a distribution spec, a workload pattern): the zod schema of what
 * the file holds, which the JSON Schema generator (src/scenario/json_schema.ts) publishes in its place.
 */
export const inputSide = new WeakMap<object, unknown>();
export function withInputSide<T extends object>(schema: T, input: unknown): T {
  inputSide.set(schema, input);
  return schema;
}

/** A hex ("0x1f") or decimal integer written as a string. */
const INT_STRING = { type: 'string', pattern: '^\\s*(0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)\\s*$' } as const;

/** An integer in [min, max] as written: a number, or a hex/decimal string. */
export function intJsonSchema(min: number | bigint, max: number | bigint, description: string) {
  const big = BigInt(max) > BigInt(Number.MAX_SAFE_INTEGER);
  return {
    anyOf: [{ type: 'integer', minimum: Number(min), ...(big ? {} : { maximum: Number(max) }) }, INT_STRING],
    description,
  };
}

const INT_RE = /^(0x[0-9a-f_]+|[0-9][0-9_]*)$/i;

/** Parses "0x1f", "31", 31 or 31n into a bigint; null when it is not a non-negative integer. */
export function toBigUint(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v >= 0n ? v : null;
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : null;
  if (typeof v === 'string' && INT_RE.test(v.trim())) return BigInt(v.trim().replaceAll('_', ''));
  return null;
}

/** An unsigned integer of at most `bits` bits, as a bigint. */
export const uint = (bits: number) =>
  z
    .unknown()
    .transform((v, ctx) => {
      const b = toBigUint(v);
      if (b === null || b >> BigInt(bits) !== 0n) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an unsigned ${bits}-bit integer (decimal or 0x hex), got ${show(v)}`,
        });
        return z.NEVER;
      }
      return b;
    })
    .meta(intJsonSchema(0, (1n << BigInt(bits)) - 1n, `an unsigned ${bits}-bit integer (decimal or 0x hex)`));

/** A small integer in [min, max], as a number. */
export const intIn = (min: number, max: number) =>
  z
    .unknown()
    .transform((v, ctx) => {
      const b = toBigUint(v);
      if (b === null || b < BigInt(min) || b > BigInt(max)) {
        ctx.addIssue({ code: 'custom', message: `expected an integer ${min}..${max}, got ${show(v)}` });
        return z.NEVER;
      }
      return Number(b);
    })
    .meta(intJsonSchema(min, max, `an integer ${min}..${max}`));

/** A byte size that is a multiple of `align`, in (0, max]. */
export const size = (align: number, max: number) =>
  z
    .unknown()
    .transform((v, ctx) => {
      const r = parseSize(typeof v === 'bigint' ? Number(v) : v);
      const n = r.ok ? r.value : null;
      if (n === null || n === 0 || n % align !== 0 || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: r.ok
            ? `expected a size that is a non-zero multiple of ${align} bytes up to ${max}, got ${show(v)}`
            : r.error,
        });
        return z.NEVER;
      }
      return n;
    })
    .meta({
      ...SIZE_JSON_SCHEMA,
      description: `${SIZE_JSON_SCHEMA.description}; a non-zero multiple of ${align} bytes up to ${max}`,
    });

/** A name from `names` or a number: resolves to the number. */
export const nameOrUint = (what: string, names: Readonly<Record<string, number>>, bits: number) =>
  z
    .unknown()
    .transform((v, ctx) => {
      if (typeof v === 'string' && Object.hasOwn(names, v)) return names[v]!;
      const b = toBigUint(v);
      if (b === null || b >> BigInt(bits) !== 0n) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a ${what} name (${Object.keys(names).join(', ')}) or a ${bits}-bit number, got ${show(v)}`,
        });
        return z.NEVER;
      }
      return Number(b);
    })
    .meta({
      anyOf: [{ type: 'string', enum: Object.keys(names) }, ...intJsonSchema(0, 2 ** bits - 1, '').anyOf],
      description: `a ${what} name or an unsigned ${bits}-bit integer`,
    });

export function show(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (v === undefined) return 'nothing';
  // JSON would show NaN and the infinities as null.
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  // YAML integers arrive as bigints, also inside a list or mapping where a number was expected.
  const big = (_k: string, x: unknown): unknown =>
    typeof x === 'bigint' ? (x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString()) : x;
  try {
    return JSON.stringify(v, big) ?? String(v);
  } catch {
    return String(v);
  }
}

/** One of a few small integers (accepts numbers, bigints and numeric strings). */
export const intOneOf = <T extends number>(...allowed: T[]) =>
  z
    .unknown()
    .transform((v, ctx) => {
      const b = toBigUint(v);
      const n = b === null ? Number.NaN : Number(b);
      if (!(allowed as number[]).includes(n)) {
        ctx.addIssue({ code: 'custom', message: `expected one of ${allowed.join(', ')}, got ${show(v)}` });
        return z.NEVER;
      }
      return n as T;
    })
    .meta({
      anyOf: [
        { type: 'integer', enum: allowed },
        { type: 'string', enum: allowed.map(String) },
      ],
    });

/** A duration ("50ms", "10us", 250, …) as nanoseconds. */
export const durationNs = () =>
  z
    .unknown()
    .transform((v, ctx) => {
      const r = parseDuration(typeof v === 'bigint' ? Number(v) : v);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.error });
        return z.NEVER;
      }
      return r.value;
    })
    .meta(DURATION_JSON_SCHEMA);
