// vCPU symmetry (src/explore/x86/vcpu_symmetry.ts): renaming the vCPUs commutes with every step in the
// worlds it is used in, it reduces the symmetric shared-pages world, and verdicts stay.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { replay } from '../../../src/explore/x86/counterexample.ts';
import { stepKey } from '../../../src/explore/x86/layout.ts';
import { type X86Model, x86ExploreModel } from '../../../src/explore/x86/model.ts';
import { runExplore } from '../../../src/explore/x86/run.ts';
import { loadExplore, parseExplore } from '../../../src/explore/x86/scenario.ts';
import { VcpuSymmetry } from '../../../src/explore/x86/vcpu_symmetry.ts';

const example = (name: string) => join(import.meta.dirname, '../../../examples/explore', name);

/** A deterministic PRNG (the walks must be reproducible). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/**
 * Random walks: in every state s, for the swap σ of vCPUs 0 and 1, checks that σ(s) decodes and encodes
 * back to itself, that the steps enabled in σ(s) are the renamed steps enabled in s, that every step
 * commutes with σ (σ(a(s)) = σ(a)(σ(s))), and that the invariants agree. Returns the first mismatch.
 */
function commutes(m: X86Model, sym: VcpuSymmetry, walks: number, depth: number): string | null {
  const W = m.stateWords;
  const steps = m.layout.steps;
  const p = Int32Array.from([1, 0, ...Array.from({ length: sym.vcpus - 2 }, (_, i) => i + 2)]);
  const rename = (a: number): number => {
    const st = steps[a]!;
    const v = st.kind === 'evict' ? st.v : p[st.v]!;
    return m.layout.stepIndex.get(stepKey(st.kind, v, st.k))!;
  };
  const rand = rng(42);
  const s = m.initial();
  const t = m.initial();
  const ms = m.initial();
  const mt = m.initial();
  const e = new Int32Array(W);
  const pe = new Int32Array(W);
  const e2 = new Int32Array(W);
  const pe2 = new Int32Array(W);
  const en = new Int32Array(m.stepCount);
  const men = new Int32Array(m.stepCount);
  for (let walk = 0; walk < walks; walk++) {
    m.encodeRaw(m.initial(), e);
    m.decode(e, 0, s);
    for (let d = 0; d < depth; d++) {
      m.encodeRaw(s, e);
      if (!sym.permute(e, p, pe)) return `depth ${d}: the state holds a value the renaming rejects`;
      m.decode(pe, 0, ms);
      m.encodeRaw(ms, e2);
      if (e2.join() !== pe.join()) return `depth ${d}: σ(s) does not encode back to itself`;
      if (m.invariant(s) !== m.invariant(ms)) return `depth ${d}: invariants differ`;
      const n = m.enabled(s, en);
      const mn = m.enabled(ms, men);
      const want = Array.from(en.subarray(0, n), rename).sort((a, b) => a - b);
      const got = Array.from(men.subarray(0, mn)).sort((a, b) => a - b);
      if (want.join() !== got.join()) return `depth ${d}: enabled ${got} in σ(s), want ${want}`;
      if (n === 0) break;
      for (let k = 0; k < n; k++) {
        const a = en[k]!;
        m.copy(s, t);
        const r1 = m.apply(t, a);
        m.copy(ms, mt);
        const r2 = m.apply(mt, rename(a));
        if (r1 !== r2) return `depth ${d}, ${m.stepLabel(a, s)}: step results ${r1} / ${r2}`;
        m.encodeRaw(t, e2);
        if (!sym.permute(e2, p, pe2)) return `depth ${d}, ${m.stepLabel(a, s)}: σ rejects the successor`;
        m.encodeRaw(mt, e2);
        if (e2.join() !== pe2.join()) return `depth ${d}, ${m.stepLabel(a, s)}: σ(a(s)) ≠ σ(a)(σ(s))`;
      }
      m.copy(s, t);
      m.apply(t, en[Math.floor(rand() * n)]!);
      m.encodeRaw(t, e);
      m.decode(e, 0, s);
    }
  }
  return null;
}

test('shared-pages: renaming the vCPUs commutes with every step on random walks', () => {
  const { config } = loadExplore(example('shared-pages.yaml'));
  const m = x86ExploreModel(config, { symmetry: true, por: false, vcpuSymmetry: true });
  assert.ok(m.vcpuSymmetry !== null, 'the vCPUs of shared-pages are interchangeable');
  assert.equal(commutes(m, m.vcpuSymmetry, 30, 80), null);
});

test('with a bug switch that keeps the vCPUs symmetric, the renaming still commutes', () => {
  const { raw } = loadExplore(example('shared-pages.yaml'));
  const cfg = parseExplore(
    { ...(raw as object), bugs: ['ack-before-clear'] },
    example('shared-pages.yaml'),
  ).config;
  const m = x86ExploreModel(cfg, { symmetry: true, por: false, vcpuSymmetry: true });
  assert.ok(m.vcpuSymmetry !== null);
  assert.equal(commutes(m, m.vcpuSymmetry, 20, 80), null);
});

test('the check has teeth: without renaming tokens, or where a token can be 0, the renaming does not commute', () => {
  const { config, raw } = loadExplore(example('shared-pages.yaml'));
  const m = x86ExploreModel(config, { symmetry: true, por: false });
  const world = () => x86ExploreModel(config, { symmetry: false }).initial().world;
  assert.notEqual(commutes(m, VcpuSymmetry.unchecked(world(), false), 5, 80), null);
  // token-zero: vCPU 0's first token is (0 << 12) | 0 = 0, which no renaming can tell from "no token".
  const cfg = parseExplore({ ...(raw as object), bugs: ['token-zero'] }, example('shared-pages.yaml')).config;
  const z = x86ExploreModel(cfg, { symmetry: true, por: false, vcpuSymmetry: true });
  assert.equal(z.vcpuSymmetry, null, 'refused');
  const zw = x86ExploreModel(cfg, { symmetry: false }).initial().world;
  assert.notEqual(commutes(z, VcpuSymmetry.unchecked(zw), 5, 80), null);
});

test('shared-pages: the vCPU symmetry stores fewer states, same verdict', () => {
  const { config } = loadExplore(example('shared-pages.yaml'));
  const full = runExplore(config, { strategy: 'bfs', maxStates: 200_000, symmetry: false, por: false });
  const taskOnly = x86ExploreModel(config, { symmetry: true, por: false });
  const reduced = runExplore(config, {
    strategy: 'bfs',
    maxStates: 200_000,
    symmetry: true,
    por: true,
    vcpuSymmetry: true,
  });
  const without = runExplore(config, { strategy: 'bfs', maxStates: 200_000, symmetry: true, por: true });
  assert.equal(full.verdict, 'ok');
  assert.equal(reduced.verdict, 'ok');
  assert.equal(without.verdict, 'ok');
  assert.ok(taskOnly.vcpuSymmetry === null, 'opt-in');
  assert.ok(reduced.safety.states < without.safety.states, 'the vCPU symmetry merges states');
  const factor = full.safety.states / reduced.safety.states;
  assert.ok(
    factor >= 3,
    `POR + symmetry: ${full.safety.states} → ${reduced.safety.states} (${factor.toFixed(2)}×)`,
  );
});

test('a safety counterexample found with the vCPU symmetry on is a real path (it replays)', () => {
  // present-queued-barrier on shared-pages: kick-not-lost fails (a 44-step counterexample).
  const { raw } = loadExplore(example('shared-pages.yaml'));
  const path = example('shared-pages.yaml');
  const cfg = parseExplore({ ...(raw as object), bugs: ['present-queued-barrier'] }, path).config;
  assert.ok(x86ExploreModel(cfg, { symmetry: true, vcpuSymmetry: true }).vcpuSymmetry !== null);
  const a = runExplore(cfg, {
    strategy: 'bfs',
    maxStates: 400_000,
    symmetry: true,
    por: true,
    vcpuSymmetry: true,
  });
  const b = runExplore(cfg, { strategy: 'bfs', maxStates: 400_000, symmetry: false, por: false });
  assert.equal(a.verdict, 'counterexample');
  assert.equal(b.verdict, 'counterexample');
  assert.equal(a.counterexample?.property, 'kick-not-lost');
  assert.equal(b.counterexample?.property, 'kick-not-lost');
  const rep = replay(cfg, a.counterexample!);
  assert.equal(rep.diverged, null);
  assert.ok(rep.reproduced, 'the counterexample replays');
});
