// Crashes the fuzzers found (issue 12), each with its minimized input. The CLI-level input also sits in the
// malformed-input corpus (test/cli/corpus/sim-recursive-alias.yaml).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { distSpecSchema } from '../../src/sim/engine/dist_schema.ts';

// npm run fuzz -- --kind loader --count 50000 --seed 20261207: `latency: { dist: &a [*a] }` in
// examples/sim/host-1tib.yaml made the distribution schema's message throw "Converting circular
// structure to JSON" (a stack trace, exit 1).
test('a recursive YAML alias is refused by the loader with one line', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'kvmsim-regress-')), 'r.yaml');
  writeFileSync(file, 'kind: sim\nhost: { swap: { latency: { dist: &a [*a] } } }\n');
  assert.throws(() => readScenarioFile(file), /r\.yaml: \(top level\): not valid here: a recursive alias/);
  // A repeated (not recursive) alias is fine.
  writeFileSync(file, 'a: &x [1, 2]\nb: *x\nc: [*x, *x]\n');
  assert.deepEqual(readScenarioFile(file), {
    a: [1, 2],
    b: [1, 2],
    c: [
      [1, 2],
      [1, 2],
    ],
  });
});

test('the distribution schema describes any `dist` value, even a circular or bigint one', () => {
  const circular: unknown[] = [];
  circular.push(circular);
  for (const dist of [circular, 5n, { a: 1 }]) {
    const r = distSpecSchema().safeParse({ dist });
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /^expected one of "constant", .*, got /);
  }
});
