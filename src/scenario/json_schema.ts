// JSON Schemas of the scenario kinds, generated from the zod schemas the loaders validate with (zod 4's
// z.toJSONSchema, the input side: what a scenario file holds before defaults and transforms). Editors
// use them through the `# yaml-language-server: $schema=…` line at the top of each example; they are
// committed in schemas/ (scripts/gen-schemas.ts writes them, a test checks they are current) and printed
// by `kvmsim schema KIND`. Which zod schema each kind has is known above this layer
// (src/cli/scenario_schemas.ts).
//
// The schemas describe the shape of a file: fields, their types, enums and ranges. Cross-field rules (a
// vCPU index below vm.vcpus, an address inside guest RAM…) are checked by the loaders only.
import { z } from 'zod';
import { inputSide } from './values.ts';

/** The scenario kinds, as `kvmsim schema KIND` names them and schemas/KIND.json stores them. */
export const SCHEMA_KINDS = [
  'script',
  'sim',
  'explore',
  's390-script',
  's390-sim',
  's390-explore',
  'sweep',
] as const;
export type SchemaKind = (typeof SCHEMA_KINDS)[number];

const TITLES: Record<SchemaKind, string> = {
  script: 'kvmsim x86 script scenario (kind: script)',
  sim: 'kvmsim x86 simulation scenario (kind: sim)',
  explore: 'kvmsim x86 exploration scenario (kind: explore)',
  's390-script': 'kvmsim s390 script scenario (arch: s390, kind: script)',
  's390-sim': 'kvmsim s390 simulation scenario (arch: s390, kind: sim)',
  's390-explore': 'kvmsim s390 exploration scenario (arch: s390, kind: explore)',
  sweep: 'kvmsim sweep (kind: sweep): a sim scenario over a grid of field values × seeds',
};

type Json = Record<string, unknown>;

function replace(target: Json, by: Json): void {
  for (const k of Object.keys(target)) delete target[k];
  Object.assign(target, by);
}

function toJson(schema: z.ZodType, reused: 'ref' | 'inline'): Json {
  return z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    reused,
    override: (ctx) => {
      const js = ctx.jsonSchema as Json;
      // YAML integers are read as bigints where 64-bit values matter: in the file they are integers.
      if (ctx.zodSchema._zod.def.type === 'bigint') replace(js, { type: 'integer', minimum: 0 });
      // A transform that dispatches by hand: publish the schema of what the file holds.
      const side = inputSide.get(ctx.zodSchema) as z.ZodType | undefined;
      if (side) {
        const { $schema: _, ...inner } = toJson(side, 'inline');
        replace(js, inner);
      }
    },
  }) as Json;
}

/** The JSON Schema (draft 2020-12) of one scenario kind, from its zod schema (src/cli/scenario_schemas.ts). */
export function scenarioJsonSchema(kind: SchemaKind, zodSchema: z.ZodType): Record<string, unknown> {
  const schema = toJson(zodSchema, 'ref');
  dropEmptyDefs(schema);
  const { $schema, ...rest } = schema;
  return { $schema, title: TITLES[kind], ...rest };
}

/**
 * A transform's input side is `z.unknown()`, which the generator shares as an empty definition (`{}`) and
 * references beside the field's own type: such references say nothing, so they and the empty definitions
 * go.
 */
function dropEmptyDefs(schema: Json): void {
  const defs = (schema.$defs ?? {}) as Record<string, Json>;
  const empty = new Set(Object.keys(defs).filter((k) => Object.keys(defs[k]!).length === 0));
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) for (const v of x) walk(v);
    else if (x !== null && typeof x === 'object') {
      const o = x as Json;
      if (typeof o.$ref === 'string' && empty.has(o.$ref.replace('#/$defs/', ''))) delete o.$ref;
      for (const v of Object.values(o)) walk(v);
    }
  };
  walk(schema);
  for (const k of empty) delete defs[k];
  if (schema.$defs && Object.keys(defs).length === 0) delete schema.$defs;
}

/** The file text of schemas/KIND.json: two-space JSON and a final newline. */
export function scenarioJsonSchemaText(kind: SchemaKind, zodSchema: z.ZodType): string {
  return `${JSON.stringify(scenarioJsonSchema(kind, zodSchema), null, 2)}\n`;
}

/** Which schema a parsed scenario uses: by `arch` and `kind`; null when it names no known kind. */
export function schemaKindOf(raw: unknown): SchemaKind | null {
  if (raw === null || typeof raw !== 'object') return null;
  const { arch, kind } = raw as { arch?: unknown; kind?: unknown };
  if (kind === 'sweep') return arch === undefined ? 'sweep' : null;
  if (kind !== 'script' && kind !== 'sim' && kind !== 'explore') return null;
  if (arch === 's390') return `s390-${kind}`;
  return arch === undefined || arch === 'x86' ? kind : null;
}
