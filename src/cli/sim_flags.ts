// Flags shared by `kvmsim run` and `kvmsim compare`.

import { UsageError } from '../scenario/usage_error.ts';
import { APF_MODES, type ApfMode } from '../sim/schema.ts';

export function parseSeedFlag(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 0xffffffff)
    throw new UsageError(`--seed: expected an integer 0..4294967295, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function parseModesFlag(v: string): ApfMode[] {
  const modes = v.split(',').map((m) => m.trim());
  for (const m of modes)
    if (!(APF_MODES as readonly string[]).includes(m))
      throw new UsageError(
        `--apf: expected a comma-separated list of ${APF_MODES.join(', ')}, got ${JSON.stringify(m)}`,
      );
  if (new Set(modes).size !== modes.length)
    throw new UsageError(`--apf: a mode is listed twice in ${JSON.stringify(v)}`);
  return modes as ApfMode[];
}

export function parseCountFlag(name: string, v: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max)
    throw new UsageError(`${name}: expected an integer 1..${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}
