// The reductions are sound where it matters (the same verdicts with and without them: the bug library
// test checks every example both ways) and they pay: partial-order reduction stores ≥ 3× fewer states on
// a per-CPU working set. Symmetry only merges states whose tasks could have swapped roles.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { explore } from '../../../src/explore/explore.ts';
import { x86ExploreModel } from '../../../src/explore/x86/model.ts';
import { runExplore } from '../../../src/explore/x86/run.ts';
import { loadExplore } from '../../../src/explore/x86/scenario.ts';

const example = (name: string) => join(import.meta.dirname, '../../../examples/explore', name);

test('per-cpu-working-set: partial-order reduction stores ≥ 3× fewer states, same verdict', () => {
  const { config } = loadExplore(example('per-cpu-working-set.yaml'));
  const full = runExplore(config, { strategy: 'bfs', maxStates: 100_000, symmetry: false, por: false });
  const reduced = runExplore(config, { strategy: 'bfs', maxStates: 100_000, symmetry: true, por: true });
  assert.equal(full.verdict, 'ok');
  assert.equal(reduced.verdict, 'ok');
  const factor = full.safety.states / reduced.safety.states;
  assert.ok(
    factor >= 3,
    `reduction factor ${factor.toFixed(2)} (${full.safety.states} → ${reduced.safety.states})`,
  );
});

test('present-queued-barrier without the switch: the reduced search stores fewer states and transitions, same verdict', () => {
  const { config } = loadExplore(example('present-queued-barrier.yaml'));
  const fixed = { ...config, bugs: [] };
  const full = x86ExploreModel(fixed, { por: false, symmetry: false });
  const reduced = x86ExploreModel(fixed, { por: true, symmetry: false });
  const a = explore(full, { maxStates: 100_000 });
  const b = explore(reduced, { maxStates: 100_000 });
  assert.equal(a.kind, 'ok');
  assert.equal(b.kind, 'ok');
  assert.ok(b.stats.states <= a.stats.states);
  assert.ok(b.stats.transitions < a.stats.transitions, 'fewer transitions');
});

test('BFS and DFS store the same number of states and agree on the verdict', () => {
  const { config } = loadExplore(example('cr0pg-clears-queue.yaml'));
  const fixed = { ...config, bugs: [] };
  const m = x86ExploreModel(fixed, { por: false, symmetry: false });
  const a = explore(m, { maxStates: 100_000, strategy: 'bfs' });
  const b = explore(m, { maxStates: 100_000, strategy: 'dfs' });
  assert.equal(a.kind, 'ok');
  assert.equal(b.kind, 'ok');
  assert.equal(a.stats.states, b.stats.states);
});
