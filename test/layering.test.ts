// The dependency direction of src/, checked from the import graph.
//
// Every non-test .ts file under src/ is parsed for its imports: `import … from '…'`, `export … from '…'`,
// side-effect `import '…'` and dynamic `import('…')`. Only relative specifiers matter (packages and node:
// builtins are not ours). Each file belongs to the folder unit in LAYERS that is the longest prefix of its
// directory (so `guest/x86` holds `guest/x86/bare` and `guest/x86/linux`); a folder missing from LAYERS is
// a failure, so a new folder has to be placed here.
//
// The rules:
//  (a) No runtime import cycle between files. `import type` / `export type` are erased and do not count;
//      an import with only inline `type` specifiers (`import { type A } from`) does count, since
//      verbatimModuleSyntax keeps it as an import. KNOWN_CYCLES lists the exceptions (none now).
//  (b) No import from a lower layer to a higher one. Type-only imports count here too: a type that a lower
//      layer needs belongs in that layer (or lower), not above it.
//  (c) Folder units in the same layer are peers and do not import each other, except for the pairs listed
//      in PEER_IMPORTS (none today). Files within one unit import each other freely.
//
// Layers, lowest first. `sim/engine`, `explore` (the generic search engine) and `trace` (the output
// writers) know nothing about KVM; they sit above `scenario` only because the engine's quantity schemas use
// the scenario unit parsers. Tests and test helpers live under test/, not src/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';

const LAYERS: readonly (readonly string[])[] = [
  ['abi'],
  ['mem'],
  ['host'],
  ['host/x86', 'host/arm64', 's390'],
  ['guest/x86'],
  ['scenario'],
  ['sim/engine', 'explore', 'trace', 'pool', 'variant'],
  ['script'],
  ['sim', 'sim/s390', 'explore/x86', 'explore/s390', 'explore/models', 'oracle', 'report'],
  ['sweep'],
  ['cli'],
  // src/index.ts, the library entry (docs/api.md): the functions the commands run, above them.
  ['.'],
];

/** Peer units allowed to import each other, as `from -> to`. */
const PEER_IMPORTS: ReadonlySet<string> = new Set<string>([]);

/**
 * Runtime cycles that are known and being removed. A cycle passes when all its files are in one entry.
 * (The last one, apf.ts calling up into x86.ts for exception queueing and kicks, was removed by the
 * step-vocabulary work: exception.ts and vm.ts's kvm_vcpu_kick.)
 */
const KNOWN_CYCLES: readonly (readonly string[])[] = [];

const SRC = join(import.meta.dirname, '../src');

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
  line: string;
}

// The import clause of a static import/export: identifiers, braces, commas, `*`, `as`, `type`, spaces.
const STATIC_RE = /^[ \t]*(import|export)(\s+type)?(?![\w$])([\w$\s{},*]*?)\bfrom\s*['"]([^'"]+)['"]/gm;
const BARE_RE = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_RE = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(text: string): { spec: string; typeOnly: boolean; line: string }[] {
  const out: { spec: string; typeOnly: boolean; line: string }[] = [];
  for (const m of text.matchAll(STATIC_RE)) {
    out.push({ spec: m[4]!, typeOnly: m[2] !== undefined, line: m[0].trim().replace(/\s+/g, ' ') });
  }
  for (const m of text.matchAll(BARE_RE)) out.push({ spec: m[1]!, typeOnly: false, line: m[0].trim() });
  for (const m of text.matchAll(DYNAMIC_RE)) out.push({ spec: m[1]!, typeOnly: false, line: m[0] });
  return out;
}

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true })
    .map((f) => String(f).split('\\').join('/'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort();
}

function buildGraph(files: readonly string[], read: (f: string) => string): Edge[] {
  const edges: Edge[] = [];
  for (const from of files) {
    for (const { spec, typeOnly, line } of importsOf(read(from))) {
      // Only source files: package.json (the version, src/scenario/version.ts) is data, not a module of ours.
      if (!spec.startsWith('.') || spec.endsWith('.json')) continue;
      const to = normalize(join(dirname(from), spec))
        .split('\\')
        .join('/');
      edges.push({ from, to, typeOnly, line });
    }
  }
  return edges;
}

const UNITS = LAYERS.flat();
const LAYER_OF = new Map(LAYERS.flatMap((units, i) => units.map((u) => [u, i] as const)));

/** The folder unit of a file under src/: the longest unit that is a prefix of its directory. */
function unitOf(file: string): string | undefined {
  const dir = dirname(file);
  let best: string | undefined;
  for (const u of UNITS) {
    if ((dir === u || dir.startsWith(`${u}/`)) && (best === undefined || u.length > best.length)) best = u;
  }
  return best;
}

/** Violations of rules (b) and (c), one line each. */
function layeringViolations(edges: readonly Edge[]): string[] {
  const bad: string[] = [];
  for (const e of edges) {
    const fu = unitOf(e.from);
    const tu = unitOf(e.to);
    if (fu === undefined || tu === undefined || fu === tu) continue;
    const fl = LAYER_OF.get(fu)!;
    const tl = LAYER_OF.get(tu)!;
    if (tl > fl) bad.push(`src/${e.from} (${fu}) imports upward from ${tu}: ${e.line}`);
    else if (tl === fl && !PEER_IMPORTS.has(`${fu} -> ${tu}`)) {
      bad.push(`src/${e.from} (${fu}) imports its peer ${tu}: ${e.line}`);
    }
  }
  return bad;
}

/** Strongly connected components with more than one file (or a self-import), by Tarjan's algorithm. */
function cycles(files: readonly string[], edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) if (!e.typeOnly && next.has(e.to)) next.get(e.from)!.push(e.to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let n = 0;
  const visit = (v: string): void => {
    index.set(v, n);
    low.set(v, n);
    n++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || next.get(v)!.includes(v)) out.push(scc.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return out;
}

const files = sourceFiles();
const edges = buildGraph(files, (f) => readFileSync(join(SRC, f), 'utf8'));

test('the import graph is found (a parser that finds nothing would pass everything)', () => {
  assert.ok(files.length > 100, `${files.length} files`);
  assert.ok(edges.length > 400, `${edges.length} relative imports`);
  const missing = edges.filter((e) => !files.includes(e.to)).map((e) => `src/${e.from}: ${e.line}`);
  assert.deepEqual(missing, [], 'every relative import names a source file');
});

test('every folder of src/ is placed in a layer', () => {
  const unplaced = [...new Set(files.filter((f) => unitOf(f) === undefined).map((f) => dirname(f)))];
  assert.deepEqual(unplaced, []);
});

test('no import from a lower layer to a higher one, and none between peers', () => {
  assert.deepEqual(layeringViolations(edges), []);
});

test('no runtime import cycle', () => {
  const known = (scc: readonly string[]) => KNOWN_CYCLES.some((k) => scc.every((f) => k.includes(f)));
  assert.deepEqual(
    cycles(files, edges).filter((scc) => !known(scc)),
    [],
  );
});

test('the checks catch what they are for', () => {
  const g = buildGraph(['abi/a.ts', 'mem/m.ts', 'cli/c.ts'], (f) =>
    f === 'abi/a.ts'
      ? "import type { X } from '../cli/c.ts';\n"
      : f === 'mem/m.ts'
        ? "import {\n  a,\n  type b,\n} from '../abi/a.ts';\nexport { m } from './n.ts';\n"
        : "import '../mem/m.ts';\nconst c = () => import('./c.ts');\n",
  );
  assert.deepEqual(
    g.map((e) => `${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`),
    [
      'abi/a.ts -> cli/c.ts (type)',
      'mem/m.ts -> abi/a.ts',
      'mem/m.ts -> mem/n.ts',
      'cli/c.ts -> mem/m.ts',
      'cli/c.ts -> cli/c.ts',
    ],
  );
  assert.equal(layeringViolations(g).length, 1, 'a type-only upward import is a violation');
  assert.deepEqual(
    cycles(['abi/a.ts', 'mem/m.ts', 'cli/c.ts'], g),
    [['cli/c.ts']],
    'type imports make no cycle',
  );
});
