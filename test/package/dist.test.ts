// The build in dist/ (scripts/build.mjs): not stale, lazy where it must be, and the same command as the
// sources. `npm test` builds dist/ first; these tests check that it matches the sources of this checkout.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const dist = join(root, 'dist');
const bin = join(root, 'bin', 'kvmsim.js');

const jsFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .sort();

test('dist/ is built from the current sources: a fresh build is byte-identical', async () => {
  assert.ok(existsSync(join(dist, 'cli.js')), 'dist/ is missing: run `npm run build` (npm test does)');
  const out = mkdtempSync(join(tmpdir(), 'kvmsim-build-'));
  try {
    const { buildJs } = await import('../../scripts/build.mjs');
    await buildJs(out);
    assert.deepEqual(jsFiles(dist), jsFiles(out), 'dist/ has other files than a fresh build: rebuild');
    for (const f of jsFiles(out))
      assert.ok(
        readFileSync(join(dist, f)).equals(readFileSync(join(out, f))),
        `dist/${f} differs from a fresh build of the sources: run \`npm run build\``,
      );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  // The declarations are written by the same build; the library's entry must be there.
  assert.ok(existsSync(join(dist, 'types', 'src', 'index.d.ts')));
});

/** The chunks a dist/ file imports statically (what loading it loads), transitively. */
function staticClosure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(dist, file), 'utf8');
  // Minified esbuild output: `import{a as b}from"./chunk-X.js"` or `import"./chunk-X.js"`; `import("./…")`
  // (dynamic) is not matched.
  for (const m of text.matchAll(/(?:from|import)\s*"\.\/([^"]+\.js)"/g)) staticClosure(m[1]!, seen);
  return seen;
}

test('kvmsim --help loads commander and the command declarations only: no zod, yaml or model code', () => {
  const loaded = [...staticClosure('cli.js')];
  const text = loaded.map((f) => readFileSync(join(dist, f), 'utf8')).join('\n');
  assert.ok(text.includes('Exit codes:'), 'the --help text is in the closure (the scan found cli.js)');
  // zod's schema classes, yaml's composer, the x86 script runner: each only behind an action's import().
  for (const [what, marker] of [
    ['zod', '_zod'],
    ['yaml', 'YAMLParseError'],
    ['the script runner', 'stepBudget'],
  ] as const)
    assert.ok(!text.includes(marker), `--help loads ${what} (found ${JSON.stringify(marker)}): make it lazy`);
  const bytes = loaded.reduce((n, f) => n + readFileSync(join(dist, f)).length, 0);
  assert.ok(bytes < 150_000, `--help loads ${bytes} bytes of JavaScript (budget 150 kB)`);
});

test('the built command prints what the sources print (script, --json, an error, --version)', () => {
  const run = (args: string[], fromSource: boolean) =>
    spawnSync(process.execPath, [bin, ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, KVMSIM_FROM_SOURCE: fromSource ? '1' : '0' },
    });
  for (const args of [
    ['script', 'examples/apf-basic.yaml', '--trace-events'],
    ['script', 'examples/s390/alert-kick-deliver.yaml', '--json'],
    ['script', 'test/cli/corpus/flag-script-era.yaml', '--era', 'nope'],
    ['--version'],
  ]) {
    const built = run(args, false);
    const source = run(args, true);
    assert.equal(built.stdout, source.stdout, `stdout of kvmsim ${args.join(' ')}`);
    assert.equal(built.stderr, source.stderr, `stderr of kvmsim ${args.join(' ')}`);
    assert.equal(built.status, source.status, `exit code of kvmsim ${args.join(' ')}`);
  }
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(run(['--version'], false).stdout, `${pkg.version}\n`);
});

test('--help lists the exit codes of docs/cli.md', () => {
  const r = spawnSync(process.execPath, [bin, '--help'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0);
  const doc = readFileSync(join(root, 'docs', 'cli.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Exit codes'), doc.indexOf('### Budgets'));
  const documented = [...section.matchAll(/^\| (\d+) \|/gm)].map((m) => m[1]);
  const listed = [...r.stdout.slice(r.stdout.indexOf('Exit codes:')).matchAll(/^ {2}(\d+) +\S/gm)].map(
    (m) => m[1],
  );
  assert.deepEqual(listed, documented);
  assert.deepEqual(documented, ['0', '1', '2', '3', '4', '70']);
});
