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

/** The JavaScript of a build (not the code caches, which V8 writes, nor the declarations). */
const jsFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => /\.c?js$/.test(f))
    .sort();

test('dist/ is built from the current sources: a fresh build is byte-identical', async () => {
  assert.ok(existsSync(join(dist, 'cli.cjs')), 'dist/ is missing: run `npm run build` (npm test does)');
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

test('kvmsim --help loads commander and the command declarations only: no zod, yaml or model code', () => {
  // bin/kvmsim.js runs dist/cli.cjs, one file, for a command line that names no command.
  const text = readFileSync(join(dist, 'cli.cjs'), 'utf8');
  assert.ok(text.includes('Exit codes:'), 'the --help text is in dist/cli.cjs');
  // zod's schema classes, yaml's composer, the x86 script runner: each only in a command's own bundle.
  for (const [what, marker] of [
    ['zod', '_zod'],
    ['yaml', 'YAMLParseError'],
    ['the script runner', 'stepBudget'],
  ] as const)
    assert.ok(!text.includes(marker), `--help loads ${what} (found ${JSON.stringify(marker)}): make it lazy`);
  assert.ok(text.length < 150_000, `--help loads ${text.length} bytes of JavaScript (budget 150 kB)`);
  // A command's bundle holds its own implementation and not the others' (scripts/build.mjs, onlyCommand).
  const script = readFileSync(join(dist, 'cli-script.cjs'), 'utf8');
  assert.ok(
    script.includes('stepBudget') && script.includes('YAMLParseError'),
    'script runs the script runner',
  );
  assert.ok(
    !script.includes('function renderSvg') &&
      readFileSync(join(dist, 'cli-report.js'), 'utf8').includes('function renderSvg'),
    'the report command (Vega) is in its own bundle and not in the script bundle',
  );
  assert.match(script, /the report command is not in the bundle of script/);
});

test('every command has its bundle, and each CommonJS bundle a code cache that V8 accepts', () => {
  const commands = readdirSync(join(root, 'src', 'cli'))
    .map((f) => /^([a-z]+)_command\.ts$/.exec(f)?.[1])
    .filter((c) => c !== undefined);
  assert.ok(commands.includes('script') && commands.includes('worker'));
  for (const c of commands)
    assert.ok(
      existsSync(join(dist, `cli-${c}.cjs`)) !== existsSync(join(dist, `cli-${c}.js`)),
      `dist/cli-${c}.cjs or dist/cli-${c}.js (one of them)`,
    );
  // What bin/kvmsim.js does, in a plain node (the cache is valid for the V8 flags that wrote it).
  const check = `
    const { createHash } = require('node:crypto'); const { readFileSync, readdirSync } = require('node:fs');
    const vm = require('node:vm'); const out = [];
    for (const f of readdirSync(process.argv[1]).filter((f) => f.endsWith('.cjs'))) {
      const file = process.argv[1] + '/' + f; const source = readFileSync(file, 'utf8');
      const cache = readFileSync(file + '.cache');
      const hash = createHash('sha256').update(source).digest('hex');
      const s = new vm.Script('(function (exports, require, module, __filename, __dirname) {' + source + '\\n})',
        { filename: file, cachedData: cache.subarray(64) });
      out.push(f + ' ' + (cache.toString('latin1', 0, 64) === hash) + ' ' + !s.cachedDataRejected);
    }
    console.log(out.join('\\n'));`;
  const r = spawnSync(process.execPath, ['-e', check, dist], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.length >= 6, `${lines.length} CommonJS bundles`);
  for (const l of lines)
    assert.match(l, / true true$/, `${l}: the cache is for this bundle (hash), and accepted`);
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
    ['--debug', 'schema', 'script'],
    ['help', 'run'],
    ['nosuchcommand'],
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
