// issue 12, "Fuzzing in the repo" (a): random guest op sequences across eras, bugs and VM shapes (bare
// guests' op lists and Linux guests' task programs) never throw, terminate, and give the same transcript
// twice. CI-sized with a fixed seed; `npm run fuzz -- --count N --seed S` runs it long (scripts/fuzz.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkOpSequence, scriptArb } from './properties.ts';

export const SEED = 20261207;

test('op sequences: no exception, same input gives the same transcript', { timeout: 120_000 }, () => {
  let ran = 0;
  fc.assert(
    fc.property(scriptArb, (raw) => {
      if (checkOpSequence(raw) === 'ran') ran++;
    }),
    { seed: SEED, numRuns: 300 },
  );
  // Most generated scripts are valid: the property is about running them, not about the loader.
  assert.ok(ran > 250, `${ran} of 300 ran`);
});
