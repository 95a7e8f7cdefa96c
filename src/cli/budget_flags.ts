// The budget flags of the long commands (run, compare, explore): --max-time and --max-events, and the
// clock behind --max-time. The clock lives here, in the CLI: the simulator and the explorer only call
// back every 2^16 events or states, and never read a clock themselves, so a budget that is not hit changes
// no output (docs/cli.md, "Budgets").
import { UsageError } from '../scenario/usage_error.ts';

/** Default wall-clock budget of run, compare and explore: one hour. */
export const DEFAULT_MAX_TIME = '1h';

const TIME_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a --max-time value ("90s", "500ms", "10m", "2h", or a bare number of seconds) into ms. */
export function parseMaxTime(v: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)?$/.exec(v.trim());
  const ms = m ? Number(m[1]) * TIME_UNITS[m[2] ?? 's']! : Number.NaN;
  if (!m || !(ms >= 1) || ms > 366 * 86_400_000)
    throw new UsageError(
      `--max-time: expected a duration like 90s, 500ms, 10m or 2h (at least 1ms, at most 366 days), got ${JSON.stringify(v)}`,
    );
  return ms;
}

/** Parses a --max-events value: a positive integer (underscores allowed) up to 2^53 - 1. */
export function parseMaxEvents(v: string): number {
  const t = v.trim().replaceAll('_', '');
  if (!/^[0-9]+$/.test(t) || Number(t) < 1 || !Number.isSafeInteger(Number(t)))
    throw new UsageError(
      `--max-events: expected an integer 1..${Number.MAX_SAFE_INTEGER}, got ${JSON.stringify(v)}`,
    );
  return Number(t);
}

/** A deadline `ms` from now: a function that says whether it has passed. */
export function deadline(ms: number): () => boolean {
  const end = performance.now() + ms;
  return () => performance.now() >= end;
}

/** "90 s", "1.5 s", "2 h" for messages. */
export function formatMillis(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms >= 1000) return `${Number((ms / 1000).toPrecision(6))} s`;
  return `${ms} ms`;
}
