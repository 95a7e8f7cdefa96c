// One owner for per-gfn host state (issue 11): src/mem/page_state.ts is the only module that writes a
// page's host byte. The type system already refuses `mem.pageState[g] = …` (PageStates is read-only);
// this test catches the ways around it: a cast back to a writable array, or a write through an alias.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const OWNER = join('src', 'mem', 'page_state.ts');

function sources(): string[] {
  const out: string[] = [];
  for (const root of ['src', 'test', 'bench']) {
    for (const f of readdirSync(root, { recursive: true })) {
      const p = join(root, String(f));
      if (p.endsWith('.ts') && p !== OWNER && !p.endsWith('page_state_owner.test.ts')) out.push(p);
    }
  }
  return out.sort();
}

/** Lines that write page state outside the owner. */
export function pageStateWriters(files: Array<[string, string]>): string[] {
  const bad: string[] = [];
  // A cast of the table (or of anything typed PageStates) back to a writable array.
  const cast = /(pageState|PageStates)[^;\n]*\bas\s+(unknown|Uint8Array|number\[\])/;
  // A direct element write, through the field or through a local alias of it.
  const direct = /pageState\s*\[[^\]]*\]!?\s*(=(?!=)|\|=|&=|\+=|-=|\+\+|--)/;
  for (const [file, text] of files) {
    const aliases = new Set<string>();
    for (const m of text.matchAll(/(?:const|let)\s+(\w+)\s*=\s*[\w.]*\.pageState\b/g)) aliases.add(m[1]!);
    for (const m of text.matchAll(/(\w+):\s*(?:readonly\s+)?PageStates\b/g)) aliases.add(m[1]!);
    const aliasWrite =
      aliases.size > 0
        ? new RegExp(
            `\\b(${[...aliases].join('|')})\\s*\\[[^\\]]*\\]!?\\s*(=(?!=)|\\|=|&=|\\+=|-=|\\+\\+|--)`,
          )
        : null;
    text.split('\n').forEach((line, i) => {
      if (cast.test(line) || direct.test(line) || aliasWrite?.test(line))
        bad.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return bad;
}

test('page state: no file but src/mem/page_state.ts writes a page host byte', () => {
  const files = sources().map((f): [string, string] => [f, readFileSync(f, 'utf8')]);
  assert.deepEqual(pageStateWriters(files), []);
});

test('page state: the owner check catches a direct write, an alias write and a cast', () => {
  const probe = (text: string) => pageStateWriters([['x.ts', text]]).length;
  assert.equal(probe('vm.mem.pageState[gfn] = 0;'), 1);
  assert.equal(probe('vm.mem.pageState[gfn]! |= 2;'), 1);
  assert.equal(probe('const st = vm.mem.pageState;\nst[g] = 1;'), 1);
  assert.equal(probe('function f(st: PageStates) { st[g]!++; }'), 1);
  assert.equal(probe('const b = vm.mem.pageState as Uint8Array;'), 1);
  assert.equal(probe('if (vm.mem.pageState[gfn] === 0) return;'), 0);
  assert.equal(probe('const st = vm.mem.pageState;\nif ((st[g]! & 1) !== 0) n++;'), 0);
});
