// Flags shared by `kvmsim run` and `kvmsim compare`.

import { BUG_NAMES, type BugName } from '../host/x86/bugs.ts';
import { ERA_NAMES, type EraName } from '../host/x86/era.ts';
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

export function parseErasFlag(v: string): EraName[] {
  const eras = v.split(',').map((e) => e.trim());
  for (const e of eras)
    if (!(ERA_NAMES as readonly string[]).includes(e))
      throw new UsageError(
        `--era: expected a comma-separated list of ${ERA_NAMES.join(', ')}, got ${JSON.stringify(e)}`,
      );
  if (new Set(eras).size !== eras.length)
    throw new UsageError(`--era: an era is listed twice in ${JSON.stringify(v)}`);
  return eras as EraName[];
}

/** `none,use-change-pte,a+b`: switch sets, `none` the empty one. */
export function parseWhatIfFlag(v: string): BugName[][] {
  const sets = v.split(',').map((x) => x.trim());
  if (new Set(sets).size !== sets.length)
    throw new UsageError(`--what-if: a switch set is listed twice in ${JSON.stringify(v)}`);
  return sets.map((set) => {
    if (set === 'none') return [];
    const names = set.split('+');
    for (const n of names)
      if (!(BUG_NAMES as readonly string[]).includes(n))
        throw new UsageError(
          `--what-if: expected 'none' or switch names joined by '+' (${BUG_NAMES.join(', ')}), got ${JSON.stringify(n)}`,
        );
    return names as BugName[];
  });
}
