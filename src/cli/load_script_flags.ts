// The flags shared by `kvmsim script` and `kvmsim diff` that change the scenario: --era and --bug.
import { BUG_NAMES } from '../host/x86/bugs.ts';
import { ERA_NAMES } from '../host/x86/era.ts';
import { readScenarioFile } from '../scenario/load.ts';
import { UsageError } from '../scenario/usage_error.ts';
import { parseScript } from '../script/load_script.ts';
import type { Script } from '../script/schema.ts';
import type { ScenarioFlags } from './scenario_flags.ts';

// The flag declarations live in scenario_flags.ts (loaded eagerly for --help); re-exported here.
export { BUG_HELP, collect, ERA_HELP, type ScenarioFlags } from './scenario_flags.ts';

import { resolveVariants } from '../variant/load.ts';
import { variantFiles } from './scenario_flags.ts';

/** Reads FILE and applies --era / --bug before validation, so their errors name the flag. */
export function loadScriptWithFlags(file: string, flags: ScenarioFlags): Script {
  if (flags.era !== undefined && !(ERA_NAMES as readonly string[]).includes(flags.era))
    throw new UsageError(`--era: expected one of ${ERA_NAMES.join(', ')}, got ${JSON.stringify(flags.era)}`);
  for (const b of flags.bug)
    if (!(BUG_NAMES as readonly string[]).includes(b))
      throw new UsageError(`--bug: expected one of ${BUG_NAMES.join(', ')}, got ${JSON.stringify(b)}`);
  const raw = readScenarioFile(file, { bigint: true });
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const r = raw as { era?: string; bugs?: unknown };
    if (flags.era !== undefined) r.era = flags.era;
    if (flags.bug.length > 0) r.bugs = [...new Set([...(Array.isArray(r.bugs) ? r.bugs : []), ...flags.bug])];
  }
  return parseScript(raw, file);
}

/** loadScriptWithFlags, then the scenario's and the --variant flags' variant modules loaded (docs/variants.md). */
export async function loadScriptWithVariants(file: string, flags: ScenarioFlags): Promise<Script> {
  const script = loadScriptWithFlags(file, flags);
  const variants = await resolveVariants(script.variants ?? [], file, variantFiles(flags.variant));
  // No variants: the field stays absent, so the script (and its oracle fingerprint) is what it was.
  return variants.length > 0 ? { ...script, variants } : script;
}
