// `--trace-window START:END`: the part of a run that the traces cover, in virtual time. Each side is a
// duration ("100ms", "1.5s", a bare number of ns); either may be empty (from the start / to the end).
import { parseDuration } from '../scenario/units.ts';
import { UsageError } from '../scenario/usage_error.ts';

export interface TraceWindow {
  start: number;
  end: number;
}

export function parseTraceWindow(flag: string, v: string): TraceWindow {
  const fail = (why: string): never => {
    throw new UsageError(`${flag}: ${JSON.stringify(v)}: ${why}`);
  };
  const parts = v.split(':');
  if (parts.length !== 2) fail('expected START:END, two durations like 100ms:200ms (either may be empty)');
  const side = (s: string, dflt: number): number => {
    if (s.trim() === '') return dflt;
    const r = parseDuration(s);
    return r.ok ? r.value : fail(r.error);
  };
  const start = side(parts[0]!, 0);
  const end = side(parts[1]!, Number.POSITIVE_INFINITY);
  if (!(end > start)) fail('END must be after START');
  return { start, end };
}
