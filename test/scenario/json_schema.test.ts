// issue 13, "Scenario authoring": the JSON Schemas in schemas/ are generated from the zod schemas and
// current; every example names its schema on its first line; and every example validates against its
// schema with a JSON Schema validator (ajv, not zod). Fields that are zod transforms (sizes, durations,
// 64-bit values, distributions) carry real types.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import {
  jsonSchemaOf,
  jsonSchemaTextOf,
  SCHEMA_KINDS,
  type SchemaKind,
  schemaKindOf,
} from '../../src/cli/scenario_schemas.ts';

const root = join(import.meta.dirname, '../..');

function examples(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.yaml')) out.push(p);
    }
  };
  walk(join(root, 'examples'));
  return out;
}

const committed = (kind: SchemaKind) =>
  JSON.parse(readFileSync(join(root, 'schemas', `${kind}.json`), 'utf8'));

function validator() {
  const ajv = new Ajv2020({ allErrors: false, strict: true, strictTypes: false, allowUnionTypes: true });
  return new Map(SCHEMA_KINDS.map((k) => [k, ajv.compile(committed(k))] as const));
}

test('schemas/*.json are current (node --import tsx scripts/gen-schemas.ts rewrites them)', async () => {
  for (const kind of SCHEMA_KINDS)
    assert.equal(
      readFileSync(join(root, 'schemas', `${kind}.json`), 'utf8'),
      await jsonSchemaTextOf(kind),
      `schemas/${kind}.json is stale`,
    );
});

test('every example starts with its yaml-language-server schema line', () => {
  const files = examples();
  assert.ok(files.length > 90);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const kind = schemaKindOf(parse(text));
    assert.ok(kind, `${f}: no known kind`);
    const want = `# yaml-language-server: $schema=${relative(dirname(f), join(root, 'schemas', `${kind}.json`))}`;
    assert.equal(text.split('\n')[0], want, relative(root, f));
  }
});

test('every example validates against its schema (ajv)', () => {
  const validate = validator();
  for (const f of examples()) {
    const raw = parse(readFileSync(f, 'utf8'));
    const v = validate.get(schemaKindOf(raw)!)!;
    assert.ok(v(raw), `${relative(root, f)}: ${JSON.stringify(v.errors?.slice(0, 3))}`);
  }
});

test('the schemas reject what the loaders reject: a bare duration or size, an unknown field, a bad enum', () => {
  const v = validator().get('script')!;
  const ok = {
    kind: 'script',
    vm: { memory: '4MiB' },
    ops: [{ op: 'touch', gpa: 0x200000, backing: { delay: '10ms' } }],
  };
  assert.ok(v(ok), JSON.stringify(v.errors));
  const bad = (patch: (s: typeof ok & Record<string, unknown>) => void) => {
    const s = structuredClone(ok) as typeof ok & Record<string, unknown>;
    patch(s);
    return !v(s);
  };
  assert.ok(
    bad((s) => ((s.vm as Record<string, unknown>).memory = 4096)),
    'a bare size',
  );
  assert.ok(
    bad((s) => ((s.ops[0]!.backing as Record<string, unknown>).delay = 10)),
    'a bare duration',
  );
  assert.ok(
    bad((s) => ((s.vm as Record<string, unknown>).irqchp = true)),
    'an unknown field',
  );
  assert.ok(
    bad((s) => (s.era = '9.99')),
    'an unknown era',
  );
  assert.ok(
    bad((s) => ((s.ops[0] as Record<string, unknown>).gpa = 'far away')),
    'a gpa that is no integer',
  );
  assert.ok(
    bad((s) => (s.expect = { counts: [{ event: 'irq' }] })),
    'a count without count',
  );
  assert.ok(!bad((s) => (s.expect = { counts: [{ event: 'irq', count: 1, vcpu: 0 }] })), 'a count');
  const sim = validator().get('sim')!;
  const simOk = parse(readFileSync(join(root, 'examples/sim/calibration.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  assert.ok(sim(simOk));
  assert.ok(!sim({ ...simOk, duration: 5 }), 'a sim duration without a unit');
});

test('transform fields are typed: no property of any schema is left without a type', async () => {
  for (const kind of SCHEMA_KINDS) {
    const untyped: string[] = [];
    const typed = (v: unknown) =>
      typeof v === 'object' &&
      v !== null &&
      ['type', 'anyOf', 'oneOf', 'const', 'enum', '$ref', 'allOf'].some((t) => t in v);
    // Walks schema nodes only (a field may itself be called `properties`).
    const walk = (x: unknown, path: string): void => {
      if (x === null || typeof x !== 'object') return;
      const o = x as Record<string, unknown>;
      for (const [k, v] of Object.entries((o.properties ?? {}) as Record<string, unknown>)) {
        if (!typed(v)) untyped.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
      for (const k of ['anyOf', 'oneOf', 'allOf', 'prefixItems'])
        if (Array.isArray(o[k])) for (const v of o[k] as unknown[]) walk(v, path);
      for (const k of ['items', 'additionalProperties']) walk(o[k], `${path}[]`);
      for (const [k, v] of Object.entries((o.$defs ?? {}) as Record<string, unknown>)) walk(v, `$defs.${k}`);
    };
    walk(await jsonSchemaOf(kind), '');
    assert.deepEqual(untyped, [], `${kind}: untyped fields`);
  }
});
