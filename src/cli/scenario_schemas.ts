// The zod schema of each scenario kind, for the JSON Schemas (src/scenario/json_schema.ts): `kvmsim
// schema KIND`, scripts/gen-schemas.ts and their test. The schemas are imported only when asked for.
import type { z } from 'zod';
import { type SchemaKind, scenarioJsonSchema, scenarioJsonSchemaText } from '../scenario/json_schema.ts';

export { SCHEMA_KINDS, type SchemaKind, schemaKindOf } from '../scenario/json_schema.ts';

export async function zodSchemaOf(kind: SchemaKind): Promise<z.ZodType> {
  switch (kind) {
    case 'script':
      return (await import('../script/schema.ts')).ScriptSchema;
    case 'sim':
      return (await import('../sim/schema.ts')).SimScenarioSchema;
    case 'explore':
      return (await import('../explore/x86/scenario.ts')).ExploreScenarioSchema;
    case 's390-script':
      return (await import('../script/s390_schema.ts')).s390ScriptSchema;
    case 's390-sim':
      return (await import('../sim/s390/scenario.ts')).s390SimSchema;
    case 's390-explore':
      return (await import('../explore/s390/scenario.ts')).s390ExploreSchema;
    case 'sweep':
      return (await import('../sweep/schema.ts')).SweepScenarioSchema;
  }
}

/** The JSON Schema of a scenario kind. */
export async function jsonSchemaOf(kind: SchemaKind): Promise<Record<string, unknown>> {
  return scenarioJsonSchema(kind, await zodSchemaOf(kind));
}

/** The text of schemas/KIND.json. */
export async function jsonSchemaTextOf(kind: SchemaKind): Promise<string> {
  return scenarioJsonSchemaText(kind, await zodSchemaOf(kind));
}
