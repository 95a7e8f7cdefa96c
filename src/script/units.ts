// Durations in scenarios: "50ms", "10us", "250ns", "1.5s", or a bare number of nanoseconds.

const NS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };

/** A duration written with a unit. */
export const DURATION_RE = /^\s*[0-9]+(\.[0-9]+)?\s*(ns|us|ms|s)\s*$/;

export function parseDurationNs(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ns|us|ms|s)\s*$/.exec(v);
  if (!m) throw new RangeError(`bad duration ${JSON.stringify(v)}`);
  return Math.round(Number(m[1]) * NS[m[2]!]!);
}
