#!/usr/bin/env node
// The kvmsim command. It runs the build in dist/ (scripts/build.mjs; `npm ci` and `npm test` build it).
// In a development checkout — src/ is here — where dist/ is missing or older than a file under src/ (or
// package.json), it runs the TypeScript sources through tsx instead, so an edit is never shadowed by a stale
// build; KVMSIM_FROM_SOURCE=1 forces that. An installed package has no src/ and always runs dist/.
//
// Start-up (issue 13, BENCHMARKS.md "Start-up"). dist/ holds one CommonJS bundle per command,
// dist/cli-COMMAND.cjs (the command line parser, every command's declarations, and that one command's
// implementation), and dist/cli.cjs for `--help`, `--version` and anything that names no command (a few
// commands, which need `import()`, are ES modules instead: dist/cli-COMMAND.js, scripts/build.mjs). This file
// picks the bundle from the first argument that is not an option (kvmsim's own options take no value), so
// one file is read and compiled, with no module graph to resolve. Each bundle is compiled with V8's code
// cache, dist/cli-COMMAND.cjs.cache, which the build wrote by running the command once: its first 64 bytes
// are the SHA-256 of the bundle it belongs to; V8 itself rejects a cache from another V8 version or other
// flags, and then the bundle is compiled from its text as usual (the same program, only slower to start).
// KVMSIM_CODE_CACHE=0 compiles without it (the start-up bench's reference row).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Newest modification time of a file under `dir` (the sources), in ms. */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function distIsCurrent() {
  if (process.env.KVMSIM_FROM_SOURCE === '1') return false;
  const stamp = `${root}dist/build-stamp`;
  if (!existsSync(stamp)) return false;
  if (!existsSync(`${root}src`)) return true;
  const built = statSync(stamp).mtimeMs;
  return newest(`${root}src`) <= built && statSync(`${root}package.json`).mtimeMs <= built;
}

/** The bundle for this command line: the first non-option argument names the command. */
function bundleFor(args) {
  const name = args.find((a) => !a.startsWith('-'));
  if (name !== undefined && /^[a-z]+$/.test(name))
    for (const file of [`${root}dist/cli-${name}.cjs`, `${root}dist/cli-${name}.js`])
      if (existsSync(file)) return file;
  return `${root}dist/cli.cjs`;
}

/**
 * Runs a CommonJS bundle of dist/ with its code cache and returns its exports. With KVMSIM_WRITE_CODE_CACHE=1
 * (scripts/build.mjs only) it also returns a function that writes the cache after the run.
 */
function loadBundle(file) {
  const source = readFileSync(file, 'utf8');
  const hash = createHash('sha256').update(source).digest('hex');
  let cachedData;
  if (process.env.KVMSIM_CODE_CACHE !== '0')
    try {
      const cache = readFileSync(`${file}.cache`);
      if (cache.toString('latin1', 0, 64) === hash) cachedData = cache.subarray(64);
    } catch {}
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, `${root}dist`);
  const writeCache =
    process.env.KVMSIM_WRITE_CODE_CACHE === '1'
      ? () =>
          writeFileSync(
            `${file}.cache`,
            Buffer.concat([Buffer.from(hash, 'latin1'), script.createCachedData()]),
          )
      : () => {};
  return { cli: module.exports, writeCache };
}

let cli;
let writeCache = () => {};
if (distIsCurrent()) {
  const file = bundleFor(process.argv.slice(2));
  if (file.endsWith('.cjs')) ({ cli, writeCache } = loadBundle(file));
  else cli = await import(pathToFileURL(file).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/main.ts');
}
cli.guardStdout();
process.exitCode = await cli.main(process.argv);
writeCache();
