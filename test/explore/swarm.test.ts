// Swarm search (src/explore/swarm.ts, src/explore/x86/swarm_*.ts, src/cli/explore_swarm.ts; docs/explorer.md "Swarm search"): on every bug-library scenario
// whose property is a safety property, a swarm finds the property BFS finds, its counterexample replays,
// and without the switch it finds none; the output does not depend on --jobs; the diversified orders are
// permutations of the model's enabled steps; the union estimate counts distinct states.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { bitstateDfs } from '../../src/explore/bitstate.ts';
import { diversify, StateSketch, swarmMember } from '../../src/explore/swarm.ts';
import { replay } from '../../src/explore/x86/counterexample.ts';
import { x86ExploreModel } from '../../src/explore/x86/model.ts';
import { LIVENESS_PROPERTIES, type PropertyName } from '../../src/explore/x86/properties.ts';
import { runExplore } from '../../src/explore/x86/run.ts';
import { loadExplore } from '../../src/explore/x86/scenario.ts';
import { runSwarm } from '../../src/explore/x86/swarm_run.ts';
import { BUG_NAMES } from '../../src/host/x86/bugs.ts';

const dir = join(import.meta.dirname, '../../examples/explore');
const bin = join(import.meta.dirname, '../../bin/kvmsim.js');
const kvmsim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const bugFiles = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml') && (BUG_NAMES as readonly string[]).includes(f.replace(/\.yaml$/, '')))
  .sort();

const swarmOf = (path: string, raw: unknown, searches: number) =>
  runSwarm({
    file: path,
    raw,
    seed: 1,
    searches,
    jobs: 1,
    bits: 20,
    maxStates: 200_000,
    maxMemBytes: 2 ** 28,
    symmetry: true,
    por: true,
    deadline: null,
  });

for (const file of bugFiles) {
  const path = join(dir, file);
  const { scenario, config, raw } = loadExplore(path);
  const property = scenario.expect?.property as PropertyName | undefined;
  if (property === undefined || LIVENESS_PROPERTIES.includes(property)) continue;
  test(`swarm on ${file}: the property BFS finds, a replayable trace; none without the switch`, async () => {
    const bfs = runExplore(config, { strategy: 'bfs', maxStates: 200_000, symmetry: true, por: true });
    assert.equal(bfs.counterexample?.property, property);
    // A depth-first search may meet another violation first: df-fix-drops-unrelated also violates
    // no-double-fault, 19 steps deep, which plain --dfs and --bitstate report too. Either is real.
    const dfs = runExplore(config, { strategy: 'dfs', maxStates: 200_000, symmetry: true, por: true });
    const o = await swarmOf(path, raw, 4);
    assert.equal(o.verdict, 'counterexample');
    assert.ok(
      [property, dfs.counterexample?.property].includes(o.found?.counterexample.property),
      `${o.found?.counterexample.property}`,
    );
    // The deciding search is the lowest-numbered one with a violation: every one before it found none.
    assert.equal(o.searches.length, o.found!.index + 1);
    for (const r of o.searches.slice(0, -1)) assert.notEqual(r.verdict, 'counterexample');
    const rep = replay(config, o.found!.counterexample);
    assert.equal(rep.diverged, null);
    assert.ok(rep.reproduced, 'the counterexample replays');
    const fixed = await swarmOf(path, { ...(raw as object), bugs: [] }, 4);
    assert.equal(fixed.verdict, 'ok', `${fixed.found?.counterexample.property}`);
    assert.equal(fixed.searches.length, 4);
  });
}

test('swarm --jobs 1 and --jobs 2 print the same bytes; --save writes a counterexample that replays', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-swarm-'));
  try {
    // The grown end-order-reversed: search 0 (in the calling thread) decides while search 1's thread has
    // just answered; closing the pool then once left the process to exit 13 with nothing printed.
    for (const f of [
      'present-queued-barrier.yaml',
      'int-after-en.yaml',
      'seq-snapshot-late.yaml',
      '../../bench/swarm/end-order-reversed-2vcpu.yaml',
    ]) {
      const a = kvmsim('explore', join(dir, f), '--swarm', '5', '--jobs', '1');
      const b = kvmsim('explore', join(dir, f), '--swarm', '5', '--jobs', '2');
      assert.equal(a.stderr, '');
      assert.ok(a.stdout.length > 0 && (a.status === 0 || a.status === 1), `${f}: exit ${a.status}`);
      assert.equal(a.stdout, b.stdout, f);
      assert.equal(a.status, b.status, f);
      const j1 = kvmsim('explore', join(dir, f), '--swarm', '5', '--jobs', '1', '--json');
      const j2 = kvmsim('explore', join(dir, f), '--swarm', '5', '--jobs', '2', '--json');
      assert.equal(j1.stdout, j2.stdout, `${f} --json`);
    }
    const save = join(tmp, 'cx.json');
    const r = kvmsim('explore', join(dir, 'token-zero.yaml'), '--swarm', '3', '--save', save);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /^token-zero: counterexample for no-token-zero/m);
    assert.match(r.stdout, /search 0 \(model order, default hashes, no depth bound\): counterexample/);
    assert.equal(JSON.parse(readFileSync(save, 'utf8')).format, 'kvmsim-explore-counterexample');
    const rr = kvmsim('replay', save);
    assert.equal(rr.status, 1, rr.stdout + rr.stderr);
    // A safe scenario: exit 0, every search listed, the union estimate.
    const ok = kvmsim('explore', join(dir, 'shared-pages.yaml'), '--swarm', '3', '--jobs', '2');
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /no violation of .* in the states 3 swarm searches reached/);
    assert.match(ok.stdout, /search 2 \(/);
    assert.match(ok.stdout, /swarm union: about \d+ distinct states/);
    // Flags: one strategy at a time; --jobs only with a swarm.
    assert.equal(kvmsim('explore', join(dir, 'token-zero.yaml'), '--swarm', '2', '--dfs').status, 2);
    assert.equal(kvmsim('explore', join(dir, 'token-zero.yaml'), '--jobs', '2').status, 2);
    assert.equal(kvmsim('explore', join(dir, 'token-zero.yaml'), '--swarm', '0').status, 2);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('search.strategy swarm in the scenario runs the swarm; --bfs overrides it', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-swarm-'));
  try {
    const src = readFileSync(join(dir, 'token-zero.yaml'), 'utf8');
    const f = join(tmp, 'tz.yaml');
    const text = src.includes('search:')
      ? src.replace(/search:\s*\n/, 'search:\n  strategy: swarm\n  swarm_searches: 2\n')
      : `${src}\nsearch: { strategy: swarm, swarm_searches: 2 }\n`;
    writeFileSync(f, text);
    const r = kvmsim('explore', f);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /swarm search: 2 searches/);
    const b = kvmsim('explore', f, '--bfs');
    assert.equal(b.status, 1, b.stderr);
    assert.doesNotMatch(b.stdout, /swarm/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('every diversified order is a permutation of the enabled steps, the same on every call sequence', () => {
  const { config } = loadExplore(join(dir, 'shared-pages.yaml'));
  const model = x86ExploreModel(config, { symmetry: false, por: false });
  const s = model.initial();
  const plain = new Int32Array(model.stepCount);
  const out = new Int32Array(model.stepCount);
  // Walk the model's first steps to a state with several enabled steps.
  let n = model.enabled(s, plain);
  for (let k = 0; k < 200 && n > 0 && n < 4; k++) {
    model.apply(s, plain[k % n]!);
    n = model.enabled(s, plain);
  }
  assert.ok(n >= 4, `a state with several enabled steps (${n})`);
  const orders = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const m = diversify(model, swarmMember(7, i), null);
    const k = m.enabled(s, out);
    assert.equal(k, n);
    assert.deepEqual([...out.subarray(0, k)].sort(), [...plain.subarray(0, n)].sort());
    orders.add([...out.subarray(0, k)].join(','));
    // Search i of seed 7 is the same search every time.
    const again = diversify(model, swarmMember(7, i), null);
    const out2 = new Int32Array(model.stepCount);
    again.enabled(s, out2);
    assert.deepEqual(out2, out);
  }
  assert.ok(orders.size >= 3, `the members' orders differ (${orders.size} distinct)`);
  // A different seed gives different members.
  assert.notDeepEqual(swarmMember(7, 3), swarmMember(8, 3));
});

test('the sketch estimates distinct states within a few percent, and merging is a union', () => {
  const a = new StateSketch();
  const b = new StateSketch();
  const w = new Int32Array(3);
  for (let i = 0; i < 60_000; i++) {
    w[0] = i;
    w[1] = i * 7;
    w[2] = 1;
    a.add(w, 3);
    if (i >= 30_000) b.add(w, 3);
    a.add(w, 3); // a repeat changes nothing
  }
  for (let i = 60_000; i < 90_000; i++) {
    w[0] = i;
    w[1] = i * 7;
    w[2] = 1;
    b.add(w, 3);
  }
  const near = (x: number, want: number) =>
    assert.ok(Math.abs(x - want) / want < 0.04, `${Math.round(x)} vs ${want}`);
  near(a.estimate(), 60_000);
  near(b.estimate(), 60_000);
  a.merge(b.registers);
  near(a.estimate(), 90_000);
  const small = new StateSketch();
  for (let i = 0; i < 100; i++) {
    w[0] = i;
    small.add(w, 3);
  }
  assert.ok(Math.abs(small.estimate() - 100) < 3, `${small.estimate()}`);
});

test('bitstate hashSeed changes the hash functions, depthBound stops expansion at that depth', () => {
  const { config } = loadExplore(join(dir, 'int-after-en.yaml'));
  const model = x86ExploreModel(config, { symmetry: true, por: true });
  const full = bitstateDfs(model, { bits: 20, maxStates: 100_000 });
  const seeded = bitstateDfs(model, { bits: 20, maxStates: 100_000, hashSeed: 12345 });
  assert.equal(full.kind, 'ok');
  assert.equal(seeded.bitstate.states, full.bitstate.states, 'the same states, with a sparse array');
  const bounded = bitstateDfs(model, { bits: 20, maxStates: 100_000, depthBound: 5 });
  assert.equal(bounded.kind, 'ok');
  assert.equal(bounded.stats.maxDepth, 5);
  assert.ok(bounded.stats.states < full.stats.states);
  // Two tiny arrays with different seeds collide on different states, so they reach different counts.
  const t0 = bitstateDfs(model, { bits: 10, hashes: 1, maxStates: 100_000 });
  const counts = new Set<number>();
  for (let seed = 1; seed <= 6; seed++)
    counts.add(bitstateDfs(model, { bits: 10, hashes: 1, maxStates: 100_000, hashSeed: seed }).stats.states);
  counts.add(t0.stats.states);
  assert.ok(counts.size >= 2, `seeds change which states collide (${[...counts]})`);
});
