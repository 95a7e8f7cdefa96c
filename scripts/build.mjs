#!/usr/bin/env node
// Builds dist/ (run by `npm ci`/`npm install` through the `prepare` script, and by `npm test` first):
//
//   dist/cli.js, dist/index.js   the command (bin/kvmsim.js runs it) and the library (`import 'kvmsim'`),
//                                bundled by esbuild with code splitting: every `await import()` of a command's
//                                action becomes a chunk of its own, so `kvmsim --help` loads only
//                                dist/cli.js and commander (src/cli/main.ts);
//   dist/oracle-worker.js        the /dev/kvm worker, one file (src/oracle/worker_bundle.ts forks it);
//   dist/types/src/**.d.ts       the library's declarations, by the project's TypeScript (tsc 7:
//                                --emitDeclarationOnly, scripts/build.tsconfig.json);
//   dist/build-stamp             written last: bin/kvmsim.js runs dist/ only when no file under src/ is
//                                newer than it (else the sources through tsx: a development checkout).
//
//   node scripts/build.mjs [--out DIR] [--no-types]
//
// The dependencies (commander, yaml, zod, cli-progress) are bundled in: one module graph, no resolution at
// start. koffi (optional, native) stays external. The build is deterministic: test/package/dist.test.ts
// builds into a temporary directory and compares it with dist/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/** A `require` for the CommonJS dependencies (commander) inside ESM output. */
const REQUIRE_SHIM =
  "import { createRequire as __kvmsimCreateRequire } from 'node:module'; const require = __kvmsimCreateRequire(import.meta.url);";

/**
 * Start-up is mostly V8 compiling the loaded chunks, in proportion to their size, so two dependencies are
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

/** Builds the JavaScript of dist/ into `out` (its old .js files removed first; types/ is left alone). */
export async function buildJs(out) {
  const esbuild = await import('esbuild');
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) if (f.endsWith('.js') || f === 'build-stamp') rmSync(join(out, f));
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // playwright-core (report --format png) finds its own files through __dirname: it stays a package.
    external: ['koffi', 'playwright-core'],
    banner: { js: REQUIRE_SHIM },
    legalComments: 'none',
    minifyWhitespace: true,
    minifySyntax: true,
    plugins: [lean],
    logLevel: 'warning',
    outdir: out,
  };
  await esbuild.build({
    ...common,
    entryPoints: { cli: 'src/cli/main.ts', index: 'src/index.ts' },
    splitting: true,
    chunkNames: 'chunk-[hash]',
  });
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
  writeFileSync(join(out, 'build-stamp'), 'written last by scripts/build.mjs; see bin/kvmsim.js\n');
  console.error(`kvmsim: built ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
