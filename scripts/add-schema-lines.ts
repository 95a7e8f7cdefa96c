// Gives every example its editor schema line, as its first line:
//
//   # yaml-language-server: $schema=../../schemas/script.json
//
// (the path relative to the file, the kind from its `arch:` and `kind:`). Idempotent: a file whose first
// line is already right is left alone, a stale line is replaced. A comment changes no output.
//
//   node --import tsx scripts/add-schema-lines.ts [DIR...]        # default: examples
//   node --import tsx scripts/add-schema-lines.ts --check [DIR...] # exit 1 naming the files without it
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parse } from 'yaml';
import { schemaKindOf } from '../src/scenario/json_schema.ts';

const root = join(import.meta.dirname, '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const dirs = args.filter((a) => a !== '--check');
const PREFIX = '# yaml-language-server: $schema=';

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
}

/** The schema line `file` should start with, or null when it is no scenario of a known kind. */
export function schemaLine(file: string, text: string): string | null {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch {
    return null;
  }
  const kind = schemaKindOf(raw);
  if (kind === null) return null;
  return `${PREFIX}${relative(dirname(file), join(root, 'schemas', `${kind}.json`))
    .split('\\')
    .join('/')}`;
}

const files: string[] = [];
for (const d of dirs.length > 0 ? dirs : [join(root, 'examples')]) walk(d, files);
const missing: string[] = [];
let changed = 0;
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const want = schemaLine(f, text);
  if (want === null) continue;
  const [first, ...rest] = text.split('\n');
  if (first === want) continue;
  missing.push(relative(root, f));
  if (check) continue;
  writeFileSync(f, `${want}\n${first!.startsWith(PREFIX) ? rest.join('\n') : text}`);
  changed++;
}
if (check && missing.length > 0) {
  process.stderr.write(`add-schema-lines: no or a stale schema line: ${missing.join(', ')}\n`);
  process.exit(1);
}
process.stdout.write(`${check ? 'checked' : 'updated'} ${check ? files.length : changed} file(s)\n`);
