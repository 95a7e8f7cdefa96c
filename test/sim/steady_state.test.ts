// The steady-state verdict of a sim run (src/sim/steady_state.ts) and warmup: auto (control.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSimScenario } from '../../src/sim/load_sim.ts';
import { formatReport } from '../../src/sim/report.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { assessSteadyState, halfDrift, STEADY_BATCHES } from '../../src/sim/steady_state.ts';

const ex = (f: string) => join(import.meta.dirname, '../../examples/sim', f);

test('halfDrift: flat and noisy-flat rates are steady, a ramp is moving', () => {
  assert.equal(halfDrift([5, 5, 5, 5, 5, 5]).moving, false);
  assert.equal(halfDrift([4, 6, 5, 4, 6, 5]).moving, false);
  const ramp = halfDrift([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(ramp.moving, true);
  assert.ok(ramp.drift > 0.5);
  // A large but noisy difference within two standard errors is not called moving.
  assert.equal(halfDrift([1, 20, 2, 19, 15, 1]).moving, false);
});

test('assessSteadyState: an overcommitted host that never reclaimed is not steady', () => {
  const times = Array.from({ length: 11 }, (_, i) => i * 1e8);
  const work = times.map((t) => t * 10);
  const none = times.map(() => 0);
  const s = assessSteadyState(times, work, none, true);
  assert.equal(s.reached, false);
  assert.match(s.note, /never reclaimed/);
  // The same on a host whose RAM holds every VM is steady: there is nothing to reclaim.
  const t = assessSteadyState(times, work, none, false);
  assert.equal(t.reached, true);
  assert.match(t.note, /RAM holds every VM/);
  // Reclaim that speeds up through the window is not steady.
  const rising = times.map((_, i) => i * i * 1000);
  const r = assessSteadyState(times, work, rising, true);
  assert.equal(r.reached, false);
  assert.match(r.note, /evictions\/s changed \+/);
});

test('a deliberately short run warns: the host was still filling its RAM', () => {
  const sc = loadSimScenario(ex('web-overcommit.yaml'));
  for (const v of sc.vms) v.initialResidency = 0.74;
  sc.autoWarmup = false;
  sc.warmup = 0;
  sc.duration = 50e6;
  const m = runSimulation(sc).metrics;
  assert.equal(m.steady_state?.reached, false);
  assert.equal(m.steady_state?.batches, STEADY_BATCHES);
  assert.equal(m.total.memory.evictions, 0);
  assert.match(formatReport(m), /^warning: not at steady state: the host never reclaimed/m);
});

test('warmup: auto ends the warm-up at steady state and then measures `duration`', () => {
  const sc = loadSimScenario(ex('web-overcommit-mmu.yaml'));
  assert.equal(sc.autoWarmup, true);
  const { sim, metrics: m } = runSimulation(sc);
  assert.ok(sim.warmupAt > 0 && sim.warmupAt < sim.endTime);
  assert.equal(sim.endTime - sim.warmupAt, sc.duration);
  assert.equal(m.measured_s, sc.duration / 1e9);
  assert.equal(m.steady_state?.reached, true, m.steady_state?.note);
  assert.ok(m.total.memory.evictions > 0, 'an overcommitted host reclaims');
  assert.match(formatReport(m), /^steady state: yes/m);
});
