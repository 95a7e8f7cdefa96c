// The explorer scenarios (examples/s390/explore/*.yaml): no lost AI and a well-formed alert list on today's
// kernel, the F2/F3 bugs found with those fixes switched off, destroy returning by itself with F5 and busy-waiting
// without it, and the destroy-during-walk finding. Each scenario states what the search must find.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseS390Explore, runS390Explore } from '../../src/explore/s390/scenario.ts';
import { readScenarioFile } from '../../src/scenario/load.ts';

const DIR = join(import.meta.dirname, '../../examples/s390/explore');
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

test('the explorer scenarios cover each property with and without its fix', () => {
  assert.deepEqual(files, [
    'destroy-during-walk.yaml',
    'destroy-pre-f5.yaml',
    'destroy-terminates.yaml',
    'lost-ai-pre-f2.yaml',
    'lost-ai-pre-f3.yaml',
    'no-lost-ai.yaml',
  ]);
});

for (const name of files) {
  test(`${name}: the search finds what the scenario expects`, () => {
    const file = join(DIR, name);
    const t0 = performance.now();
    const o = runS390Explore(parseS390Explore(readScenarioFile(file), file));
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `${name}: ${o.kind}${o.property ? ` (${o.property})` : ''}, ${o.states} states, ` +
        `${o.steps !== undefined ? `${o.steps}-step counterexample, ` : ''}${seconds.toFixed(2)} s`,
    );
    assert.ok(o.asExpected, `expected ${o.expected}, got ${o.kind} ${o.property ?? ''}\n${o.trace ?? ''}`);
    if (o.kind === 'ok') assert.ok(o.states > 1000, 'a passing search explores a real state space');
  });
}
