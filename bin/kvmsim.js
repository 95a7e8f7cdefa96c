#!/usr/bin/env node
// The kvmsim command. It runs the build in dist/ (scripts/build.mjs; `npm ci` and `npm test` build it).
// In a development checkout — src/ is here — where dist/ is missing or older than a file under src/ (or
// package.json), it runs the TypeScript sources through tsx instead, so an edit is never shadowed by a stale
// build; KVMSIM_FROM_SOURCE=1 forces that. An installed package has no src/ and always runs dist/.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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

let cli;
if (distIsCurrent()) cli = await import('../dist/cli.js');
else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/main.ts');
}
cli.guardStdout();
process.exitCode = await cli.main(process.argv);
