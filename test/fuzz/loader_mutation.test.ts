// issue 12, "Fuzzing in the repo" (b): the examples' YAML, mutated (lines deleted, duplicated, cut or
// swapped, values replaced by hostile ones, invalid bytes inserted), is either loaded (and a bare script
// run) or refused with the one-line UsageError (exit 2); never any other exception. Fixed seed, CI-sized.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkMutation, mutationArb, readExamples, withTempDir } from './properties.ts';

const root = join(import.meta.dirname, '../..');

test('mutated examples: loaded, or one line and exit 2', { timeout: 120_000 }, () => {
  const texts = readExamples(root);
  const seen = { loaded: 0, refused: 0 };
  withTempDir((dir) =>
    fc.assert(
      fc.property(mutationArb(texts.length), (ms) => {
        seen[checkMutation(texts, ms, dir)]++;
      }),
      { seed: 20261207, numRuns: 400 },
    ),
  );
  // Both outcomes occur: the mutations are neither all harmless nor all fatal.
  assert.ok(seen.loaded > 20 && seen.refused > 100, JSON.stringify(seen));
});
