// `npm run bench [name...]`: runs each bench/<name>.bench.ts and rewrites its section of BENCHMARKS.md.
// A bench module's default export returns a markdown section (the measured ratios and the command).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const root = join(dir, '..');
const wanted = process.argv.slice(2);
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .filter((n) => wanted.length === 0 || wanted.includes(n))
  .sort();

const mdPath = join(root, 'BENCHMARKS.md');
for (const name of names) {
  console.error(`bench: ${name}`);
  const mod = (await import(join(dir, `${name}.bench.ts`))) as { default: () => Promise<string> };
  const body = (await mod.default()).trim();
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = `${begin}\n${body}\n${end}`;
  // Re-read just before writing: another bench may have rewritten its own section meanwhile.
  let md = existsSync(mdPath)
    ? readFileSync(mdPath, 'utf8')
    : '# Benchmarks\n\nRecorded by `npm run bench`.\n';
  const i = md.indexOf(begin);
  const j = md.indexOf(end);
  md =
    i >= 0 && j > i ? md.slice(0, i) + section + md.slice(j + end.length) : `${md.trimEnd()}\n\n${section}\n`;
  writeFileSync(mdPath, md);
  console.log(body);
}
