// The published package, as a user gets it: `npm pack`, installed from the tarball into an empty
// directory, `npx kvmsim` there, the library example of docs/api.md, and its types. Uses the dist/ that
// `npm test` has just built (`npm pack --ignore-scripts`: no second build under the other tests' feet).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const root = join(import.meta.dirname, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

let work = '';
let app = '';
let files: string[] = [];

function sh(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
  if (r.error) throw r.error;
  return r;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'kvmsim-pack-'));
  const packed = sh(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', work, root], root);
  assert.equal(packed.status, 0, packed.stderr);
  const info = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  files = info[0]!.files.map((f) => f.path);
  app = join(work, 'app');
  sh('mkdir', [app], work);
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
  // The dependencies are in npm's cache after `npm ci`; --prefer-offline keeps this off the network.
  const inst = sh(
    npm,
    ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, info[0]!.filename)],
    app,
  );
  assert.equal(inst.status, 0, inst.stderr);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball holds what users need and no tests, sources or fixtures', () => {
  for (const f of [
    'package.json',
    'README.md',
    'LICENSE',
    'bin/kvmsim.js',
    'dist/cli.cjs',
    'dist/cli.cjs.cache',
    'dist/cli-script.cjs',
    'dist/cli-script.cjs.cache',
    'dist/cli-report.js',
    'dist/index.js',
    'dist/oracle-worker.js',
    'dist/types/src/index.d.ts',
    'docs/api.md',
    'docs/cli.md',
    'examples/apf-basic.yaml',
  ])
    assert.ok(files.includes(f), `${f} is in the package`);
  // package.json's "license" is MIT; the tarball carries the text it names.
  const pkgJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license: string };
  assert.equal(pkgJson.license, 'MIT');
  const license = readFileSync(join(app, 'node_modules', 'kvmsim', 'LICENSE'), 'utf8');
  assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 the kvmsim authors\n/);
  assert.match(license, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
  const stray = files.filter((f) => /^(test|src|bench|scripts)\//.test(f) || /\.test\.ts$/.test(f));
  assert.deepEqual(stray, [], 'no tests, sources, benches or build scripts in the package');
});

test('npx kvmsim --help, --version and script on a shipped example work in the installed package', () => {
  const help = sh('npx', ['--no-install', 'kvmsim', '--help'], app);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: kvmsim/);
  assert.match(help.stdout, /Exit codes:/);
  const version = sh('npx', ['--no-install', 'kvmsim', '--version'], app);
  assert.equal(version.stdout, `${pkg.version}\n`);
  const installed = sh(
    'npx',
    ['--no-install', 'kvmsim', 'script', 'node_modules/kvmsim/examples/apf-basic.yaml'],
    app,
  );
  assert.equal(installed.status, 0, installed.stderr);
  const here = sh(
    process.execPath,
    [join(root, 'bin', 'kvmsim.js'), 'script', 'examples/apf-basic.yaml'],
    root,
  );
  assert.equal(installed.stdout, here.stdout, 'the installed command prints what this checkout prints');
  // tsx is a development tool: the installed package runs without it.
  assert.equal(sh(process.execPath, ['-e', "require.resolve('tsx')"], app).status, 1, 'tsx is not installed');
});

test("docs/api.md's example runs against the installed package", () => {
  const doc = readFileSync(join(root, 'docs', 'api.md'), 'utf8');
  const at = doc.indexOf('<!-- api-example -->');
  assert.ok(at >= 0, 'docs/api.md marks its example with <!-- api-example -->');
  const m = /```js\n([\s\S]*?)```/.exec(doc.slice(at));
  assert.ok(m, 'a ```js block follows the marker');
  writeFileSync(join(app, 'example.mjs'), m[1]!);
  const r = sh(process.execPath, ['example.mjs'], app);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ {2}0 apic_enable {2}ok$/m);
  assert.match(r.stdout, /^explore: counterexample$/m);
  assert.match(r.stdout, /^reproduced: no-token-zero fails$/m);
  assert.match(r.stdout, /^simulate: stopped=max-events after 100000 events$/m);
  assert.match(r.stdout, new RegExp(`^kvmsim ${pkg.version.replaceAll('.', '\\.')}$`, 'm'));
});

test("the package's types check a consumer, and reject a wrong use", () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const check = (code: string) => {
    writeFileSync(join(app, 'consumer.ts'), code);
    return sh(
      process.execPath,
      [
        tsc,
        '--module',
        'nodenext',
        '--target',
        'es2022',
        '--strict',
        '--noEmit',
        '--types',
        'node',
        '--typeRoots',
        join(root, 'node_modules', '@types'),
        'consumer.ts',
      ],
      app,
    );
  };
  const good = check(`import { loadScenario, runScript, explore, type Scenario } from 'kvmsim';
const s: Scenario = loadScenario('node_modules/kvmsim/examples/apf-basic.yaml');
const r = runScript(s);
const n: number = r.arch === 'x86' ? r.records.length : r.lines.length;
const v: 'ok' | 'counterexample' | 'budget' = (() => { const e = explore(s); return e.arch === 'x86' ? e.outcome.verdict : 'ok'; })();
console.log(n, v);
`);
  assert.equal(good.status, 0, good.stdout + good.stderr);
  // Without narrowing on arch, `records` is not there on an s390 result: the types are real, not any.
  const bad = check(`import { runScript } from 'kvmsim';
const n: number = runScript('x.yaml').records.length;
console.log(n);
`);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stdout, /Property 'records' does not exist/);
});
