// Writes the JSON Schema of every scenario kind to schemas/KIND.json (src/scenario/json_schema.ts).
//
//   node --import tsx scripts/gen-schemas.ts           # rewrite schemas/
//   node --import tsx scripts/gen-schemas.ts --check   # exit 1 (naming the files) when schemas/ is stale
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemaTextOf, SCHEMA_KINDS } from '../src/cli/scenario_schemas.ts';

const dir = join(import.meta.dirname, '..', 'schemas');
const check = process.argv.includes('--check');
const stale: string[] = [];
mkdirSync(dir, { recursive: true });
for (const kind of SCHEMA_KINDS) {
  const path = join(dir, `${kind}.json`);
  const text = await jsonSchemaTextOf(kind);
  let old = '';
  try {
    old = readFileSync(path, 'utf8');
  } catch {}
  if (old === text) continue;
  stale.push(`schemas/${kind}.json`);
  if (!check) writeFileSync(path, text);
}
if (check && stale.length > 0) {
  process.stderr.write(
    `gen-schemas: stale (run node --import tsx scripts/gen-schemas.ts): ${stale.join(', ')}\n`,
  );
  process.exit(1);
}
process.stdout.write(
  `${check ? 'checked' : 'wrote'} ${SCHEMA_KINDS.length} schemas${stale.length && !check ? ` (${stale.length} changed)` : ''}\n`,
);
