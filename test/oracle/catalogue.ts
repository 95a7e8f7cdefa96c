// Every scenario the real-kernel oracle compares, by a stable name: the names key the recorded
// fixtures (test/fixtures/oracle/), so the live suite, `npm run oracle:record` and the model-only
// fixture test all enumerate the same list from here.
//
// Groups:
//   matrix       kvm-oracle §3: 54 configurations × 39 MSR scenarios (oracle_matrix_cases.ts)
//   pvmsr        kvm-oracle §3 extended to the other PV MSRs, guest and host side (oracle_pv_msr_cases.ts)
//   pageready    kvm-oracle §4: S1–S12 (examples/oracle/s*.yaml)
//   apf          kvm-oracle §5.2/§5.3: real async page faults (examples/oracle/apf-*.yaml)
//   cases        x86-apf §8 conformance cases real KVM can show (test/oracle/cases/*.yaml)
//   peer         the peer suites' and VMMs' assertions (examples/peer/*.yaml, docs/peer-suites.md)
//   differences  scripts where the backends differ by design; `description:` says why
//                (test/oracle/differences/*.yaml)
//   examples     every other x86 script in examples/ (most ask for another era, a bug switch or the
//                Linux guest and are skipped, with the reason). Compared live, but not recorded:
//                these files belong to other topics and change with them.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { loadScript, parseScript } from '../../src/script/load_script.ts';
import type { Script } from '../../src/script/schema.ts';
import { type MatrixCase, matrixCases } from '../conformance/oracle_matrix_cases.ts';
import { pvMsrCases } from '../conformance/oracle_pv_msr_cases.ts';

export const GROUPS = [
  'matrix',
  'pvmsr',
  'pageready',
  'apf',
  'cases',
  'peer',
  'differences',
  'examples',
] as const;
export type Group = (typeof GROUPS)[number];

/** The groups kept in the recorded fixtures. */
export const isRecorded = (g: Group): boolean => g !== 'examples';

export interface OracleScenario {
  /** "matrix/<config>/<label>" or the file's path from the repository root. */
  name: string;
  group: Group;
  script: Script;
  /** The repository-relative file, for file scenarios. */
  file?: string;
  /** The matrix cell, for matrix scenarios. */
  matrix?: MatrixCase;
  /** Group `differences`: why the two backends differ (the script's description). */
  difference?: string;
}

export const root = join(import.meta.dirname, '..', '..');
const rel = (f: string) => relative(root, f);

/** The YAML files of a directory, sorted, optionally filtered by a file-name test. */
export function yamlFiles(dir: string, test: (name: string) => boolean = () => true): string[] {
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.yaml') && test(f))
    .sort()
    .map((f) => join(root, dir, f));
}

function fileScenario(file: string, group: Group): OracleScenario {
  const script = loadScript(file);
  const s: OracleScenario = { name: rel(file), group, script, file: rel(file) };
  if (group === 'differences') {
    if (!script.description) throw new Error(`${rel(file)}: a difference needs a description saying why`);
    s.difference = script.description.trim();
  }
  return s;
}

/**
 * x86 `kind: script` files under examples/ outside examples/oracle (s390 scripts and sims are not), nor
 * examples/variants: a variant changes the model, and the real kernel runs as built (docs/variants.md).
 */
function exampleFiles(): string[] {
  const dirs = readdirSync(join(root, 'examples'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'oracle' && d.name !== 'peer' && d.name !== 'variants')
    .map((d) => join('examples', d.name));
  return ['examples', ...dirs]
    .flatMap((d) => yamlFiles(d))
    .filter((f) => {
      const raw = readScenarioFile(f, { bigint: true }) as { kind?: unknown; arch?: unknown };
      return raw.kind === 'script' && (raw.arch ?? 'x86') === 'x86';
    });
}

let cache: OracleScenario[] | undefined;

/** All scenarios, in group order. Loading parses ~2200 scripts (~0.3 s); the result is cached. */
export function oracleScenarios(): OracleScenario[] {
  cache ??= [
    ...matrixCases().map(
      (k): OracleScenario => ({
        name: k.name,
        group: 'matrix',
        script: parseScript(k.data, k.name),
        matrix: k,
      }),
    ),
    ...pvMsrCases().map(
      (k): OracleScenario => ({ name: k.name, group: 'pvmsr', script: parseScript(k.data, k.name) }),
    ),
    ...yamlFiles('examples/oracle', (f) => /^s\d/.test(f)).map((f) => fileScenario(f, 'pageready')),
    ...yamlFiles('examples/oracle', (f) => f.startsWith('apf-')).map((f) => fileScenario(f, 'apf')),
    ...yamlFiles('test/oracle/cases').map((f) => fileScenario(f, 'cases')),
    ...yamlFiles('examples/peer').map((f) => fileScenario(f, 'peer')),
    ...yamlFiles('test/oracle/differences').map((f) => fileScenario(f, 'differences')),
    ...exampleFiles().map((f) => fileScenario(f, 'examples')),
  ];
  return cache;
}

/**
 * Scenarios with the same script (the matrix's `none`, `nokvm` and `0` CPUIDs all give
 * kvm_features 0; enforce -1 and 0 are the same VM) share one key, so a live run does each once.
 */
export function scriptKey(script: Script): string {
  const { name: _n, description: _d, ...rest } = script;
  return JSON.stringify(rest, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** A short hash of scriptKey(), stored with each recorded entry. */
export function scriptHash(script: Script): string {
  return createHash('sha256').update(scriptKey(script)).digest('hex').slice(0, 12);
}
