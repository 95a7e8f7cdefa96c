// Parsing the quantities scenarios are written in: durations ("10us", "2ms", "1.5s", "250ns") and sizes
// ("64KiB", "16GiB", "4K", "4096B"). A quantity needs its unit: a bare number other than 0 is an error that
// names the units (it used to mean ns or bytes silently, and `sleep_millisecs: 20` was 20 ns).
//
// These functions never throw: they return a ParseResult whose error is a short phrase naming what was
// expected and what was found, which callers (the zod schemas, the scenario loader) turn into one-line
// scenario errors such as `x.yaml: swap.latency: expected a duration like "10us" ...`.
//
// Numbers are converted exactly: the decimal mantissa and the unit's power of ten are combined into one
// decimal string, so "1.1ms" is the double nearest to 1,100,000 ns (a naive 1.1 * 1e6 can be off by an
// ulp, and an ulp in a scenario constant is a different simulation).

export type ParseResult = { ok: true; value: number } | { ok: false; error: string };

const ok = (value: number): ParseResult => ({ ok: true, value });
const fail = (error: string): ParseResult => ({ ok: false, error });

/** Nanoseconds per unit, as powers of ten. µ is accepted both as U+00B5 (micro sign) and U+03BC (mu). */
const DURATION_EXP: Readonly<Record<string, number>> = {
  ns: 0,
  us: 3,
  µs: 3,
  μs: 3,
  ms: 6,
  s: 9,
};

/**
 * Bytes per unit, as powers of 1024. Kernel-style single letters (memparse: K, M, G, T) and IEC units
 * (KiB …) are both binary. SI spellings (KB, MB, GB, TB) are rejected as ambiguous rather than guessed.
 * Matching is case-insensitive.
 */
const SIZE_POW: Readonly<Record<string, number>> = {
  b: 0,
  k: 1,
  kib: 1,
  m: 2,
  mib: 2,
  g: 3,
  gib: 3,
  t: 4,
  tib: 4,
};
const AMBIGUOUS_SIZE = new Set(['kb', 'mb', 'gb', 'tb']);

const DURATION_UNIT_NEEDED = 'a duration needs a unit: ns, us (or µs), ms or s';
const SIZE_UNIT_NEEDED = 'a size needs a unit: B, K or KiB, M or MiB, G or GiB, T or TiB';

/** The JSON Schema of a duration as written (schemas/*.json): a number with a unit, or 0. */
export const DURATION_JSON_SCHEMA = {
  anyOf: [
    {
      type: 'string',
      pattern: '^\\s*[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?\\s*(ns|us|µs|μs|ms|s)$',
    },
    { const: 0 },
  ],
  description: 'a duration with its unit: ns, us (or µs), ms or s, e.g. "10us", "1.5ms"; or 0',
} as const;

/** The JSON Schema of a size as written: a number with a binary unit, or 0. */
export const SIZE_JSON_SCHEMA = {
  anyOf: [
    {
      type: 'string',
      pattern: '^\\s*[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?\\s*([bB]|[kKmMgGtT]([iI][bB])?)$',
    },
    { const: 0 },
  ],
  description: 'a size with its unit: B, K or KiB, M or MiB, G or GiB, T or TiB (1024-based), e.g. "64KiB"',
} as const;

/** A decimal number (optional fraction and exponent) followed by an optional unit. */
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?\s*([A-Za-zµμ]*)$/;

function describe(input: unknown): string {
  if (input === undefined) return 'nothing (the value is missing)';
  if (typeof input === 'string') return JSON.stringify(input);
  if (typeof input === 'number' || typeof input === 'boolean' || input === null) return String(input);
  return Array.isArray(input) ? 'a list' : 'an object';
}

interface Quantity {
  negative: boolean;
  /** Digits with the decimal point, e.g. "1.5". */
  mantissa: string;
  /** The explicit exponent (e.g. 3 for "1e3"), 0 if none. */
  exponent: number;
  unit: string;
}

function splitQuantity(text: string): Quantity | null {
  const m = QUANTITY.exec(text.trim());
  if (!m) return null;
  return { negative: m[1] === '-', mantissa: m[2]!, exponent: m[3] ? Number(m[3]) : 0, unit: m[4]! };
}

/** mantissa × 10^exp, correctly rounded (one decimal-to-double conversion). */
function scaleDecimal(mantissa: string, exp: number): number {
  return Number(`${mantissa}e${exp}`);
}

/**
 * Parses a duration into nanoseconds (a float64; fractions of a ns are kept). Accepts a string: a decimal
 * number, optionally with an exponent, followed by ns, us (or µs), ms or s; a number without a unit is an
 * error unless it is 0. Whitespace between number and unit is allowed. Negative, infinite and NaN values are
 * errors.
 */
export function parseDuration(input: unknown): ParseResult {
  const expected = 'expected a duration like "10us", "2ms", "1.5s" or "250ns"';
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return fail(`${expected}, got ${input}`);
    if (input < 0) return fail(`a duration cannot be negative, got ${input}`);
    if (input !== 0) return fail(`${DURATION_UNIT_NEEDED} (e.g. "${input}ns"), got the bare number ${input}`);
    return ok(input);
  }
  if (typeof input !== 'string') return fail(`${expected}, got ${describe(input)}`);
  const q = splitQuantity(input);
  if (!q) return fail(`${expected}, got ${describe(input)}`);
  if (q.unit === '' && Number(q.mantissa) !== 0)
    return fail(`${DURATION_UNIT_NEEDED} (e.g. "${input.trim()}ns"), got ${describe(input)}`);
  const unit = q.unit === '' ? 'ns' : q.unit;
  const exp = DURATION_EXP[unit];
  if (exp === undefined) {
    return fail(`unknown duration unit ${JSON.stringify(q.unit)} in ${describe(input)}; use ns, us, ms or s`);
  }
  const value = scaleDecimal(q.mantissa, q.exponent + exp);
  if (!Number.isFinite(value)) return fail(`duration ${describe(input)} is too large`);
  if (q.negative && value !== 0) return fail(`a duration cannot be negative, got ${describe(input)}`);
  return ok(value);
}

/**
 * Parses a size into bytes. Accepts a string: a decimal number followed by B, K/KiB, M/MiB, G/GiB or
 * T/TiB (all 1024-based, case-insensitive); a number without a unit is an error unless it is 0. The result must be
 * a whole number of bytes ("1.5KiB" is 1536, "1.3KiB" is an error) and at most 2^53 - 1.
 */
export function parseSize(input: unknown): ParseResult {
  const expected = 'expected a size like "4096B", "64KiB", "4K" or "16GiB"';
  let value: number;
  let shown: string;
  if (typeof input === 'number') {
    value = input;
    shown = String(input);
    if (Number.isFinite(input) && input > 0)
      return fail(`${SIZE_UNIT_NEEDED} (e.g. "${input}B"), got the bare number ${input}`);
  } else if (typeof input === 'string') {
    shown = describe(input);
    const q = splitQuantity(input);
    if (!q) return fail(`${expected}, got ${shown}`);
    const unit = q.unit.toLowerCase();
    if (unit === '' && Number(q.mantissa) !== 0 && !q.negative)
      return fail(`${SIZE_UNIT_NEEDED} (e.g. "${input.trim()}B"), got ${shown}`);
    if (AMBIGUOUS_SIZE.has(unit)) {
      return fail(
        `size unit ${JSON.stringify(q.unit)} in ${shown} is ambiguous; write ${q.unit[0]!.toUpperCase()}iB`,
      );
    }
    const pow = SIZE_POW[unit === '' ? 'b' : unit];
    if (pow === undefined) {
      return fail(`unknown size unit ${JSON.stringify(q.unit)} in ${shown}; use B, KiB, MiB, GiB or TiB`);
    }
    // Multiplying by a power of two is exact, so the only rounding is the decimal conversion.
    value = scaleDecimal(q.mantissa, q.exponent) * 2 ** (10 * pow);
    if (q.negative && value !== 0) return fail(`a size cannot be negative, got ${shown}`);
  } else {
    return fail(`${expected}, got ${describe(input)}`);
  }
  if (!Number.isFinite(value)) return fail(`${expected}, got ${shown}`);
  if (value < 0) return fail(`a size cannot be negative, got ${shown}`);
  if (!Number.isInteger(value)) return fail(`size ${shown} is not a whole number of bytes`);
  if (value > Number.MAX_SAFE_INTEGER) return fail(`size ${shown} is too large (limit 2^53 - 1 bytes)`);
  return ok(value);
}

/** Formats ns for messages and reports: the largest unit that keeps the number >= 1 ("1.5ms", "250ns"). */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const abs = Math.abs(ns);
  if (abs >= 1e9) return `${trim(ns / 1e9)}s`;
  if (abs >= 1e6) return `${trim(ns / 1e6)}ms`;
  if (abs >= 1e3) return `${trim(ns / 1e3)}us`;
  return `${trim(ns)}ns`;
}

function trim(x: number): string {
  return String(Number(x.toPrecision(12)));
}
