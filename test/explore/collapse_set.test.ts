// The collapse-compressed visited set (src/explore/collapse_set.ts, SearchOptions.collapse): the same
// states in the same order as the plain set, so every search result is identical; fewer bytes per state
// when states share components.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { bfs } from '../../src/explore/bfs.ts';
import { CollapseSet } from '../../src/explore/collapse_set.ts';
import { dfs } from '../../src/explore/dfs.ts';
import { apfSlotModel } from '../../src/explore/models/apf_slot.ts';
import { graphModel } from '../../src/explore/toy_models.ts';
import { VisitedSet } from '../../src/explore/visited_set.ts';
import { runExplore } from '../../src/explore/x86/run.ts';
import { loadExplore } from '../../src/explore/x86/scenario.ts';
import { graphs } from '../test_utils/graph_arbitrary.ts';

test('a CollapseSet answers findOrAdd and read exactly as a VisitedSet', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 7, maxLength: 7 }), { maxLength: 300 }),
      fc.constantFrom(undefined, [0, 3], [0, 1, 2, 5], [2]),
      (states, components) => {
        const plain = new VisitedSet(7, 1);
        const coll = new CollapseSet(7, components, 1);
        for (const s of states) {
          const buf = Int32Array.from(s);
          let a = plain.findOrAdd(buf);
          if (a === -0x80000000) {
            plain.grow();
            a = plain.findOrAdd(buf);
          }
          let b = coll.findOrAdd(buf);
          if (b === -0x80000000) {
            coll.grow();
            b = coll.findOrAdd(buf);
          }
          assert.equal(b, a);
        }
        assert.equal(coll.size, plain.size);
        const x = new Int32Array(7);
        const y = new Int32Array(7);
        for (let i = 0; i < plain.size; i++) {
          plain.read(i, x);
          coll.read(i, y);
          assert.deepEqual(y, x);
        }
      },
    ),
  );
});

test('component starts must ascend inside the encoding', () => {
  assert.throws(() => new CollapseSet(4, [0, 2, 2]), RangeError);
  assert.throws(() => new CollapseSet(4, [0, 4]), RangeError);
});

test('BFS and DFS with collapse: identical results on random graphs', () => {
  fc.assert(
    fc.property(graphs, (g) => {
      for (const search of [bfs, dfs]) {
        const a = search(graphModel(g), { maxStates: 1000, initialCapacity: 1 });
        const b = search(graphModel(g), { maxStates: 1000, initialCapacity: 1, collapse: true });
        assert.equal(b.kind, a.kind);
        assert.deepEqual(
          { ...b.stats, bytes: 0, bytesPerState: 0 },
          { ...a.stats, bytes: 0, bytesPerState: 0 },
        );
        if (a.kind === 'violation' && b.kind === 'violation') assert.deepEqual(b.trace.steps, a.trace.steps);
      }
    }),
  );
});

test('apf_slot 2×3 with collapse: the README state count, the same 19-step counterexample with the bug', () => {
  const r = bfs(apfSlotModel({ ntask: 2, ntok: 3 }), { maxStates: 100_000, collapse: true });
  assert.equal(r.kind, 'ok');
  assert.equal(r.stats.states, 18_517);
  const bug = bfs(apfSlotModel({ ntask: 2, ntok: 3, bugAckBeforeClear: true }), {
    maxStates: 100_000,
    collapse: true,
  });
  assert.equal(bug.kind, 'invalid-end');
  assert.ok(bug.kind === 'invalid-end');
  assert.equal(bug.trace.steps.length, 19);
});

test('x86 shared-pages with collapse: the same verdict and states, under 200 bytes a state', () => {
  const { config } = loadExplore(join(import.meta.dirname, '../../examples/explore/shared-pages.yaml'));
  const a = runExplore(config, { strategy: 'bfs', maxStates: 200_000, symmetry: true, por: true });
  const b = runExplore(config, {
    strategy: 'bfs',
    maxStates: 200_000,
    symmetry: true,
    por: true,
    collapse: true,
  });
  assert.equal(b.verdict, a.verdict);
  assert.equal(b.safety.states, a.safety.states);
  assert.equal(b.safety.transitions, a.safety.transitions);
  assert.ok(b.safety.bytesPerState < 200, `${b.safety.bytesPerState} B/state`);
  assert.ok(a.safety.bytesPerState > 1000, `${a.safety.bytesPerState} B/state without`);
});
