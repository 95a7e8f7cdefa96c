// `kvmsim schema KIND`: print the JSON Schema of a scenario kind (the same text as schemas/KIND.json).
import type { Command } from 'commander';
import { UsageError } from '../scenario/usage_error.ts';

export function register(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of a scenario kind (for editors: schemas/KIND.json)')
    .argument('<kind>', 'script, sim, explore, s390-script, s390-sim or s390-explore')
    .action(async (kind: string) => {
      const { SCHEMA_KINDS, jsonSchemaTextOf } = await import('./scenario_schemas.ts');
      if (!(SCHEMA_KINDS as readonly string[]).includes(kind))
        throw new UsageError(
          `schema: expected one of ${SCHEMA_KINDS.join(', ')}, got ${JSON.stringify(kind)}`,
        );
      process.stdout.write(await jsonSchemaTextOf(kind as (typeof SCHEMA_KINDS)[number]));
    });
}
