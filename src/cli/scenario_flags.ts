// The light half of load_script_flags.ts: the --era/--bug flag declarations that `kvmsim script` and
// `kvmsim diff` register eagerly (their help text lists the eras and bugs). No loader, no schema here, so
// --help does not load yaml or zod (src/cli/main.ts).
import { BUG_NAMES } from '../host/x86/bugs.ts';
import { ERA_NAMES } from '../host/x86/era.ts';

export interface ScenarioFlags {
  era?: string;
  bug: string[];
  /** --variant FILE[,FILE…] (repeatable): variant modules, applied in order after the scenario's own. */
  variant?: string[];
}

export const collect = (v: string, acc: string[]): string[] => [...acc, v];

export const ERA_HELP = `host kernel era (${ERA_NAMES.join(', ')}); overrides the scenario's`;
export const BUG_HELP = `turn a historical bug on (repeatable): ${BUG_NAMES.join(', ')}`;
export const VARIANT_HELP =
  "apply variant modules (docs/variants.md): FILE or FILE,FILE…, repeatable; after the scenario's own `variants`";

/** The files of --variant flags: each flag a comma-separated list. */
export const variantFiles = (flags: readonly string[] | undefined): string[] =>
  (flags ?? []).flatMap((f) => f.split(',')).filter((f) => f !== '');
