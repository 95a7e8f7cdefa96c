// Bitstate search (src/explore/bitstate.ts, issue 19 "beyond RAM"): with room to spare it reaches every
// state a full search stores; its violations are real paths; a small bit array loses states and says so.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bfs } from '../../src/explore/bfs.ts';
import { bitstateDfs } from '../../src/explore/bitstate.ts';
import { apfSlotModel } from '../../src/explore/models/apf_slot.ts';
import { bfsDistances, dieHardModel, type Graph, graphModel } from '../../src/explore/toy_models.ts';
import { runExplore } from '../../src/explore/x86/run.ts';
import { loadExplore } from '../../src/explore/x86/scenario.ts';
import { assertPathToTarget, graphs } from '../test_utils/graph_arbitrary.ts';

test('bitstate with a large array: exactly the reachable states; a reported trace is a real path to the target', () => {
  fc.assert(
    fc.property(graphs, ({ edges, target }) => {
      const g: Graph = { edges, target };
      const dist = bfsDistances(g);
      const r = bitstateDfs(graphModel(g), { maxStates: 1000, bits: 20 });
      if (!dist.has(target)) {
        assert.equal(r.kind, 'ok');
        assert.equal(r.stats.states, dist.size);
      } else {
        assert.ok(r.kind === 'violation');
        assertPathToTarget(edges, target, r.trace);
      }
    }),
  );
});

test('bitstate on apf_slot 2×3: the 18,517 states of the full search, a few bits each, and the coverage figures', () => {
  const model = apfSlotModel({ ntask: 2, ntok: 3 });
  const r = bitstateDfs(model, { maxStates: 1e6, bits: 24 });
  assert.equal(r.kind, 'ok');
  assert.equal(r.stats.states, bfs(model, { maxStates: 1e6 }).stats.states);
  assert.equal(r.stats.states, 18_517);
  assert.equal(r.bitstate.bitsTotal, 2 ** 24);
  assert.ok(r.bitstate.hashFactor > 900);
  assert.ok(r.bitstate.omissionProbability < 1e-6);
  assert.ok(r.bitstate.bitsSet <= 3 * 18_517 && r.bitstate.bitsSet > 2 * 18_517);
});

test('bitstate with too few bits: states are lost, and the omission estimate says it', () => {
  const model = apfSlotModel({ ntask: 2, ntok: 3 });
  const r = bitstateDfs(model, { maxStates: 1e6, bits: 14, hashes: 2 });
  assert.equal(r.kind, 'ok');
  assert.ok(r.stats.states < 18_517, `${r.stats.states} states`);
  assert.ok(r.bitstate.omissionProbability > 0.3, `${r.bitstate.omissionProbability}`);
});

test('bitstate finds real violations: the Die Hard goal, an invalid end state, a bug of apf_slot', () => {
  const dh = bitstateDfs(dieHardModel(), { maxStates: 1000, bits: 16 });
  assert.ok(dh.kind === 'violation');
  assert.deepEqual(Array.from(dh.trace.states.at(-1) as Int32Array), [3, 4]);
  const dead = bitstateDfs(graphModel({ edges: [[1, 2], [0], []], deadlockIsError: true }), {
    maxStates: 10,
    bits: 12,
  });
  assert.ok(dead.kind === 'invalid-end');
  assert.equal(dead.trace.states.at(-1)?.[0], 2);
  const model = apfSlotModel({ ntask: 2, ntok: 3, bugAckBeforeClear: true });
  const bug = bitstateDfs(model, { maxStates: 1e6, bits: 22 });
  assert.ok(bug.kind === 'invalid-end');
  // The trace replays from the initial state to a state with no enabled step.
  const s = model.initial();
  for (const step of bug.trace.steps) assert.equal(model.apply(s, step), null);
  assert.equal(model.enabled(s, new Int32Array(model.stepCount)), 0);
});

test('bitstate budgets and arguments', () => {
  const chain: Graph = { edges: Array.from({ length: 3000 }, (_, v) => [v + 1]).concat([[]]) };
  const ok = bitstateDfs(graphModel(chain), { maxStates: 10_000, bits: 22 });
  assert.equal(ok.kind, 'ok');
  assert.equal(ok.stats.maxDepth, 3000);
  const b = bitstateDfs(graphModel(chain), { maxStates: 500, bits: 22 });
  assert.ok(b.kind === 'budget' && b.reason === 'maxStates');
  const m = bitstateDfs(graphModel(chain), { maxMemBytes: 4096, bits: 16 });
  assert.ok(m.kind === 'budget' && m.reason === 'maxMemBytes', 'the 8 KiB bit array alone is over 4 KiB');
  assert.throws(() => bitstateDfs(graphModel(chain), { maxStates: 1, bits: 9 }), /bitstate bits 9/);
});

test('x86 explore with strategy bitstate: the same states as BFS, the same safety verdicts; liveness not checked', () => {
  const run = (file: string, strategy: 'bfs' | 'bitstate') => {
    const { config, scenario } = loadExplore(`examples/explore/${file}`);
    return runExplore(config, {
      strategy,
      bitstateBits: 24,
      maxStates: scenario.search.max_states,
      symmetry: scenario.search.symmetry,
      por: scenario.search.por,
    });
  };
  const full = run('per-cpu-working-set.yaml', 'bfs');
  const bits = run('per-cpu-working-set.yaml', 'bitstate');
  assert.equal(bits.verdict, 'ok');
  assert.equal(bits.safety.states, full.safety.states);
  assert.ok(bits.bitstate && bits.bitstate.omissionProbability < 1e-9);
  assert.deepEqual(bits.livenessSkipped, ['wakeup-liveness', 'dummy-consumed', 'no-hlt-spin']);
  const cx = run('token-zero.yaml', 'bitstate');
  assert.equal(cx.verdict, 'counterexample');
  assert.equal(cx.counterexample?.property, 'no-token-zero');
});
