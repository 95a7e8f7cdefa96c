// `backing.delay` of a touch op in milliseconds, for the host's UFFDIO_COPY timer. The schema accepts a
// string with a unit ("50ms", "10us") or a bare integer, which is taken as nanoseconds (the model's
// time unit). Sub-millisecond delays are real but only as precise as a libuv timer.

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000 };

export function delayMs(delay: string | number): number {
  if (typeof delay === 'number') return delay / 1e6;
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ns|us|ms|s)\s*$/.exec(delay);
  if (!m) throw new RangeError(`not a delay: ${JSON.stringify(delay)}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}
