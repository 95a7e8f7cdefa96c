#!/usr/bin/env node
// Builds dist/ (run by `npm ci`/`npm install` through the `prepare` script, and by `npm test` first):
//
//   dist/cli.cjs, dist/cli-COMMAND.cjs   the command (bin/kvmsim.js runs them): one CommonJS bundle per
//                                command (src/cli/COMMAND_command.ts) holding the command line parser,
//                                every command's declarations and that command's implementation, and
//                                cli.cjs, with the declarations only, for --help, --version and errors;
//                                dist/cli-COMMAND.js, the same as one ES module, for ESM_COMMANDS;
//   dist/*.cjs.cache             V8's code cache of each bundle, written by running the command once
//                                (`buildCodeCaches`, the TRAINING command lines below; bin/kvmsim.js);
//   dist/index.js                the library (`import 'kvmsim'`), one ES module;
//   dist/oracle-worker.js        the /dev/kvm worker, one file (src/oracle/worker_bundle.ts forks it);
//   dist/pool-worker.js, dist/task-*.js   the worker pool's thread and its task modules (src/pool/pool.ts);
//   dist/types/src/**.d.ts       the library's declarations, by the project's TypeScript (tsc 7:
//                                --emitDeclarationOnly, scripts/build.tsconfig.json);
//   dist/build-stamp             written last: bin/kvmsim.js runs dist/ only when no file under src/ is
//                                newer than it (else the sources through tsx: a development checkout).
//
//   node scripts/build.mjs [--out DIR] [--no-types]
//
// Why one bundle per command, in CommonJS, with a code cache (BENCHMARKS.md, "Start-up"): the earlier build
// split the commands into ~120 shared ES module chunks, and a small command spent most of its start-up in
// Node's ES module loader (resolving and linking 60-odd chunks) and in V8 compiling ~700 kB of JavaScript.
// One file per command has no module graph; CommonJS text can be compiled with `vm.Script` and a code cache
// on Node 20, which has no compile cache for ES modules (`module.enableCompileCache` is Node 22).
//
// The dependencies (commander, yaml, zod, cli-progress) are bundled in. koffi (optional, native) stays
// external, and so does esbuild (src/oracle/worker_bundle.ts imports it only when running from the sources).
// The JavaScript is deterministic: test/package/dist.test.ts builds into a temporary directory and compares
// it with dist/. The code caches are not (V8 writes them), and are only valid for the Node that wrote them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/** A `require` for the CommonJS dependencies (commander) inside ESM output. */
const REQUIRE_SHIM =
  "import { createRequire as __kvmsimCreateRequire } from 'node:module'; const require = __kvmsimCreateRequire(import.meta.url);";

/**
 * V8 compiles what a command loads in proportion to its size (without a code cache), so two dependencies are
 * bundled leaner (the same code paths, less text):
 * - zod's `z.locales` (the error messages in 40-odd languages, ~350 KB) keeps English only: kvmsim never
 *   selects a locale, and its zod instance is internal (English is zod's default);
 * - yaml resolves to its ES module build (the package's `default` export condition, the same sources as
 *   its CommonJS `node` build), which esbuild can tree-shake down to parseDocument and what it uses.
 */
const lean = {
  name: 'kvmsim-lean-deps',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core|mini)[\\/]/.test(args.importer)
        ? { path: 'zod-locales-en', namespace: 'kvmsim-lean' }
        : undefined,
    );
    build.onResolve({ filter: /^yaml$/ }, () => ({
      path: join(root, 'node_modules', 'yaml', 'browser', 'index.js'),
    }));
    build.onLoad({ filter: /^zod-locales-en$/, namespace: 'kvmsim-lean' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js';",
      resolveDir: root,
      loader: 'js',
    }));
  },
};

/** The commands: src/cli/COMMAND_command.ts, each with a bundle dist/cli-COMMAND.cjs. */
export function commandNames() {
  return readdirSync(join(root, 'src', 'cli'))
    .map((f) => /^([a-z]+)_command\.ts$/.exec(f)?.[1])
    .filter((n) => n !== undefined)
    .sort();
}

/**
 * The bundle of one command (or of none, `command` null): the `await import()`s in the other commands'
 * actions (src/cli/OTHER_command.ts) resolve to a module that throws, so their implementations stay out.
 * bin/kvmsim.js loads this bundle only for a command line whose command is `command`, so commander never
 * runs another command's action in it.
 */
function onlyCommand(command) {
  return {
    name: 'kvmsim-only-command',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const m = /[\\/]src[\\/]cli[\\/]([a-z]+)_command\.ts$/.exec(args.importer);
        return m && m[1] !== command ? { path: m[1], namespace: 'kvmsim-other-command' } : undefined;
      });
      build.onLoad({ filter: /.*/, namespace: 'kvmsim-other-command' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`kvmsim: the ${args.path} command is not in the bundle of ${command ?? 'no command'} (bin/kvmsim.js)`)});`,
        loader: 'js',
      }));
    },
  };
}

/**
 * The commands whose bundle is an ES module (dist/cli-COMMAND.js) instead of CommonJS: they run code
 * through a real `import()` — the worker pool's task modules in the calling thread (src/pool/pool.ts),
 * BullMQ's processors — or Vega's top-level await (vega-canvas), which a function compiled by `vm.Script`
 * (bin/kvmsim.js) cannot do on Node 20 without an experimental flag or warning. They are the commands
 * that run long, where start-up is a small part (explore: for its --swarm threads).
 */
export const ESM_COMMANDS = ['compare', 'explore', 'report', 'sweep', 'worker'];

/**
 * In the CommonJS bundles, `await import('koffi')` (the /dev/kvm backend, an optional native package) and
 * `await import('esbuild')` (src/oracle/worker_bundle.ts, from the sources only) become a `require` of the
 * package (both are CommonJS packages: `import()` of one gives its module.exports as the default export,
 * and so does this), so the bundle has no `import()` left.
 */
const requireExternals = {
  name: 'kvmsim-require-externals',
  setup(build) {
    build.onResolve({ filter: /^(koffi|esbuild)$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, namespace: 'kvmsim-require' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'kvmsim-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/** A dynamic import() left in a CommonJS bundle would fail when it runs (bin/kvmsim.js): refused here. */
function assertNoImport(file) {
  const text = readFileSync(file, 'utf8');
  const call = /(?<![\w$.`])import\(/.exec(text);
  if (call)
    throw new Error(
      `${file} calls import() (${JSON.stringify(text.slice(call.index, call.index + 60))}): make its command one of ESM_COMMANDS`,
    );
}

/** Builds the JavaScript of dist/ into `out` (its old .js, .cjs and .cache files removed first; types/ is left alone). */
export async function buildJs(out) {
  const esbuild = await import('esbuild');
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out))
    if (/\.(js|cjs|cache)$/.test(f) || f === 'build-stamp') rmSync(join(out, f));
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // playwright-core (report --format png) finds its own files through __dirname: it stays a package.
    external: ['koffi', 'esbuild', 'playwright-core'],
    banner: { js: REQUIRE_SHIM },
    legalComments: 'none',
    minifyWhitespace: true,
    minifySyntax: true,
    plugins: [lean],
    logLevel: 'warning',
    outdir: out,
  };
  // The command bundles. bin/kvmsim.js runs them as CommonJS function bodies; `import.meta` (ESM only) is
  // the bundle's own file URL.
  const cjs = {
    ...common,
    format: 'cjs',
    banner: {
      js: "const __kvmsimImportMetaUrl = require('node:url').pathToFileURL(__filename).href; const __kvmsimImportMetaResolve = (s) => require('node:url').pathToFileURL(require.resolve(s)).href;",
    },
    define: {
      'import.meta.url': '__kvmsimImportMetaUrl',
      'import.meta.resolve': '__kvmsimImportMetaResolve',
    },
    outExtension: { '.js': '.cjs' },
  };
  await esbuild.build({
    ...cjs,
    plugins: [lean, requireExternals, onlyCommand(null)],
    entryPoints: { cli: 'src/cli/main.ts' },
  });
  assertNoImport(join(out, 'cli.cjs'));
  for (const c of commandNames()) {
    const esm = ESM_COMMANDS.includes(c);
    await esbuild.build({
      ...(esm ? common : cjs),
      plugins: esm ? [lean, onlyCommand(c)] : [lean, requireExternals, onlyCommand(c)],
      entryPoints: { [`cli-${c}`]: 'src/cli/main.ts' },
    });
    if (!esm) assertNoImport(join(out, `cli-${c}.cjs`));
  }
  await esbuild.build({ ...common, entryPoints: { index: 'src/index.ts' } });
  await esbuild.build({ ...common, entryPoints: { 'oracle-worker': 'src/oracle/worker.ts' } });
  // The worker pool's thread and its task modules (src/pool/pool.ts): entry points of their own, so the
  // task functions keep their exported names.
  await esbuild.build({
    ...common,
    entryPoints: {
      'pool-worker': 'src/pool/pool_worker.ts',
      'task-point': 'src/sweep/point_task.ts',
      'task-compare': 'src/cli/compare_task.ts',
      'task-swarm': 'src/explore/x86/swarm_task.ts',
    },
  });
}

/**
 * The command line each bundle's code cache is written from (run once by `buildCodeCaches`, output
 * discarded): the commands that start small run a shipped example, so their cache holds the functions
 * that run compiled; the others are cached from their --help (the parser and the declarations).
 */
const TRAINING = {
  cli: ['--help'],
  script: ['script', 'examples/apf-basic.yaml'],
  schema: ['schema', 'script'],
};

/**
 * Writes dist/*.cjs.cache: runs bin/kvmsim.js on each bundle with KVMSIM_WRITE_CODE_CACHE=1, in the build's
 * own Node (a cache is valid only for the V8 version and flags that wrote it; bin/kvmsim.js compiles
 * without it otherwise). Needs the build stamp written first: bin/kvmsim.js runs dist/ only when current.
 */
export function buildCodeCaches(out) {
  if (resolve(out) !== join(root, 'dist')) return; // bin/kvmsim.js runs dist/ only
  for (const name of ['cli', ...commandNames().filter((c) => !ESM_COMMANDS.includes(c))]) {
    const argv = TRAINING[name] ?? [name, '--help'];
    const r = spawnSync(process.execPath, [join(root, 'bin', 'kvmsim.js'), ...argv], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      env: { ...process.env, KVMSIM_WRITE_CODE_CACHE: '1', KVMSIM_FROM_SOURCE: '0' },
    });
    const cache = join(out, `${name === 'cli' ? 'cli' : `cli-${name}`}.cjs.cache`);
    // Without its cache a bundle still runs, only slower to start (test/package/dist.test.ts checks that
    // every cache is there and accepted), so a failure here is a warning, not a failed `npm ci`.
    if (r.status !== 0 || !existsSync(cache))
      console.error(
        `kvmsim build: warning: no code cache for ${name} (kvmsim ${argv.join(' ')} exited ${r.status}${r.stderr ? `: ${r.stderr.trim()}` : ''})`,
      );
  }
}

/** Writes the declarations under `out`/types (emptied first) with tsc. */
export function buildTypes(out) {
  rmSync(join(out, 'types'), { recursive: true, force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [tsc, '-p', join(root, 'scripts', 'build.tsconfig.json'), '--declarationDir', join(out, 'types')],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error(`tsc --emitDeclarationOnly failed (exit ${r.status})`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  const out = at >= 0 ? resolve(args[at + 1]) : join(root, 'dist');
  const t0 = performance.now();
  await buildJs(out);
  if (!args.includes('--no-types')) buildTypes(out);
  // The stamp first: bin/kvmsim.js runs dist/ (here, to write the code caches) only when it is current.
  writeFileSync(join(out, 'build-stamp'), 'written last by scripts/build.mjs; see bin/kvmsim.js\n');
  buildCodeCaches(out);
  console.error(`kvmsim: built ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
