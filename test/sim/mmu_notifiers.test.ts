// host.mmu_notifiers: reclaim through KVM's MMU notifiers (the x86 `host_reclaim` step), and the MMU
// metrics. Off by default, where nothing changes; on, the metrics must agree with each other and with the
// simulator's own residency bookkeeping, and a run must be deterministic.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { eraConfig } from '../../src/host/x86/era.ts';
import { kvm_mmu_prefault } from '../../src/host/x86/mmu_install.ts';
import { applyX86Step } from '../../src/host/x86/steps.ts';
import { createVm } from '../../src/host/x86/vm.ts';
import { PAGE_HOST_RESIDENT, PAGE_SPTE_MAPPED, PAGE_SPTE_STALE } from '../../src/mem/page_state.ts';
import {
  initialResidentPages,
  loadSimScenario,
  parseSimScenario,
  type SimScenario,
  withMode,
} from '../../src/sim/load_sim.ts';
import type { Metrics } from '../../src/sim/metrics.ts';
import { formatReport } from '../../src/sim/report.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { Simulator } from '../../src/sim/simulator.ts';

const ex = (f: string) => join(import.meta.dirname, '../../examples/sim', f);

/**
 * The web example with the notifiers on, RAM just above the initial residency so that reclaim starts
 * after ~200 page-ins, 60 ms simulated (10 ms warmup).
 */
function reclaimScenario(mode: 'interrupt' | 'sync' | 'off' | 'legacy' = 'interrupt'): SimScenario {
  const sc = withMode(loadSimScenario(ex('web-overcommit-mmu.yaml')), mode);
  sc.ramPages = sc.vms.reduce((a, v) => a + initialResidentPages(v), 0) + 200;
  sc.duration = 60e6;
  sc.warmup = 10e6;
  sc.autoWarmup = false;
  return sc;
}

/** The checks every MMU metrics block must pass in a reclaim-only run. */
function checkConsistent(m: Metrics, where: string, agingFlushes = false, clock = true): void {
  const mmu = m.mmu;
  assert.ok(mmu, `${where}: mmu metrics present`);
  // Reclaim is the only host memory operation, one page (one invalidation, inside the memslot) at a time.
  assert.equal(mmu.invalidations_hit, m.memory.evictions, `${where}: one invalidation per eviction`);
  assert.equal(mmu.invalidations, mmu.invalidations_hit, `${where}: every invalidation hits the memslot`);
  assert.equal(mmu.invalidations_by_source.reclaim, mmu.invalidations, `${where}: all from reclaim`);
  for (const [op, n] of Object.entries(mmu.invalidations_by_source))
    if (op !== 'reclaim') assert.equal(n, 0, `${where}: no ${op}`);
  assert.ok(mmu.sptes_zapped <= mmu.invalidations_hit, `${where}: at most one SPTE per page`);
  // One flush per invalidation that zapped, and up to 6.12 one per young clear_flush_young answer.
  assert.equal(
    mmu.tlb_flushes,
    mmu.sptes_zapped + (agingFlushes ? mmu.aging.young : 0),
    `${where}: flushes = invalidations that zapped${agingFlushes ? ' + young aging answers' : ''}`,
  );
  // Reclaim's CLOCK asks KVM about every resident page its hand passes: at least one per eviction (the
  // bernoulli pattern's evictions are not CLOCK's).
  if (clock) assert.ok(mmu.aging.calls >= m.memory.evictions, `${where}: aging calls ≥ evictions`);
  assert.ok(mmu.aging.young <= mmu.aging.calls);
  assert.ok(mmu.refaults >= 0 && mmu.refaults <= m.faults.page_ins, `${where}: refaults are page-ins`);
  const r = mmu.retries;
  for (const x of [r.range, r.seq, r.unsafe, r.stale_total]) assert.ok(Number.isInteger(x) && x >= 0);
  // Guest retries are a subset of all retries (a stale prefault is dropped, not counted in pf_retry_stale).
  assert.ok(r.stale_total <= r.range + r.seq + r.unsafe, `${where}: stale_total ≤ retries`);
  // A stale guest fault leaves the page resident but unmapped: its re-execution is a minor fault.
  assert.ok(m.faults.minor >= r.stale_total, `${where}: every retried access faulted again`);
  assert.equal(mmu.warns, 0, `${where}: no notifier WARN`);
  assert.equal(m.guest.panics, 0);
}

/** The simulator's residency counts agree with the host model's page state, and no SPTE is stale. */
function checkResidency(sim: Simulator): void {
  let total = 0;
  sim.vms.forEach((sv, i) => {
    const st = sv.vm.mem.pageState;
    let resident = 0;
    for (let g = 0; g < st.length; g++) {
      const s = st[g]!;
      if (s & PAGE_HOST_RESIDENT) resident++;
      else assert.equal(s & PAGE_SPTE_MAPPED, 0, `${sv.spec.name} gfn ${g}: SPTE on a non-resident page`);
      assert.equal(s & PAGE_SPTE_STALE, 0, `${sv.spec.name} gfn ${g}: stale SPTE`);
    }
    assert.equal(resident, sim.host.vmResident[i], `${sv.spec.name}: resident count`);
    total += resident;
  });
  assert.equal(total, sim.host.resident);
  assert.ok(sim.host.resident <= sim.host.limit);
}

test('mmu_notifiers: off by default; false is the same run as absent, with no mmu metrics', () => {
  const sc = loadSimScenario(ex('web-overcommit.yaml'));
  assert.equal(sc.mmuNotifiers, false);
  sc.duration = 15e6;
  sc.warmup = 2e6;
  sc.autoWarmup = false;
  const a = runSimulation(sc, {});
  const sim = new Simulator(sc);
  for (const sv of sim.vms) assert.equal(sv.vm.config.mmu_notifiers, undefined);
  const raw = {
    kind: 'sim',
    duration: '15ms',
    warmup: '2ms',
    host: {
      ram: '12GiB',
      swap: { channels: 8, latency: { dist: 'lognormal', median: '120us', sigma: 0.6 } },
    },
    vms: [{ name: 'web', count: 4, memory: '4GiB', vcpus: 4, initial_residency: 0.74, workload: {} }],
  };
  const wl = {
    tasks_per_vcpu: 4,
    burst: { dist: 'exponential', mean: '40us' },
    touches_per_burst: 2,
    slice_actions: 20,
    pattern: { kind: 'hotcold', hot_pages: 0.2, hot_touches: 0.85 },
  };
  raw.vms[0]!.workload = wl;
  const absent = parseSimScenario(raw, 'a.yaml');
  const off = parseSimScenario({ ...raw, host: { ...raw.host, mmu_notifiers: false } }, 'a.yaml');
  const j1 = JSON.stringify(runSimulation(absent, {}).metrics);
  const j2 = JSON.stringify(runSimulation(off, {}).metrics);
  assert.equal(j1, j2);
  assert.ok(!j1.includes('"mmu"'));
  assert.equal(a.metrics.total.mmu, undefined);
  assert.ok(!formatReport(a.metrics).includes('MMU'));
});

test('mmu_notifiers: the example turns the notifiers on for every VM', () => {
  const sc = loadSimScenario(ex('web-overcommit-mmu.yaml'));
  assert.equal(sc.mmuNotifiers, true);
  const sim = new Simulator(sc);
  for (const sv of sim.vms) assert.equal(sv.vm.config.mmu_notifiers, true);
});

for (const mode of ['interrupt', 'sync', 'off', 'legacy'] as const) {
  test(`mmu_notifiers (${mode}): reclaim goes through the notifiers; metrics consistent, residency exact`, () => {
    const sim = new Simulator(reclaimScenario(mode));
    const { metrics } = runSimulation(sim.scenario, {});
    // runSimulation builds its own Simulator; run this one too for the page-state checks.
    sim.run();
    checkResidency(sim);
    assert.ok(metrics.total.memory.evictions > 500, `${mode}: reclaim happened`);
    // legacy runs a 4.19 host, whose clear_flush_young flushes; the others 6.18, which does not.
    const flushes = mode === 'legacy';
    checkConsistent(metrics.total, `${mode} total`, flushes);
    for (const v of metrics.vms) checkConsistent(v, `${mode} ${v.name}`, flushes);
    if (flushes) assert.ok(metrics.total.mmu!.aging.young > 0, 'legacy: young pages got a second chance');
    const sum = (f: (m: Metrics) => number) => metrics.vms.reduce((a, v) => a + f(v), 0);
    assert.equal(
      sum((m) => m.mmu!.invalidations_hit),
      metrics.total.mmu!.invalidations_hit,
    );
    assert.equal(
      sum((m) => m.mmu!.retries.unsafe),
      metrics.total.mmu!.retries.unsafe,
    );
    assert.ok(formatReport(metrics).includes('MMU invalidations (hit memslot)'));
    if (mode === 'sync') {
      // A synchronous fault-in spans other page-ins, whose reclaim bumps the VM's sequence: its end
      // (sync_done) is stale, returns RET_PF_RETRY, and the vCPU re-executes the access, which then maps.
      assert.ok(metrics.total.mmu!.retries.stale_total > 0, 'sync: stale fault-ins retried');
    }
  });
}

test('mmu_notifiers: the bernoulli pattern evicts through the notifiers too', () => {
  const sc = withMode(loadSimScenario(ex('calibration.yaml')), 'interrupt');
  sc.mmuNotifiers = true;
  sc.vms[0]!.initialResidency = 1;
  sc.ramPages = initialResidentPages(sc.vms[0]!);
  sc.duration = 30e6;
  sc.warmup = 0;
  sc.autoWarmup = false;
  const sim = new Simulator(sc);
  sim.run();
  checkResidency(sim);
  const { metrics } = runSimulation(sc, {});
  assert.ok(metrics.total.memory.evictions > 0);
  checkConsistent(metrics.total, 'calibration', false, false);
});

test('mmu_notifiers: same seed → identical JSON; another seed differs', () => {
  const run = (seed: number) => {
    const sc = reclaimScenario();
    sc.seed = seed;
    return JSON.stringify(runSimulation(sc, {}).metrics);
  };
  const a = run(3);
  assert.equal(a, run(3));
  assert.notEqual(a, run(4));
});

test('mmu_notifiers: a prefault that finds its page reclaimed again is recorded for the page-in (StepEffects)', () => {
  const vm = createVm(eraConfig('6.18'), {
    irqchip: true,
    enforce_pv_cpuid: false,
    kvm_features: 0,
    hlt_in_guest: false,
    guest_state_protected: false,
    tdp: true,
    memory: 16 << 20,
    vcpus: 1,
    mmu_notifiers: true,
  });
  const gfn = 100;
  assert.equal(applyX86Step(vm, { kind: 'host_reclaim', gfn }), 1);
  assert.equal(vm.mmu.stat.invalidations_hit, 1);
  vm.effects.reset(false);
  assert.equal(kvm_mmu_prefault(vm, vm.vcpus[0]!, gfn), true);
  assert.equal(vm.effects.refaults, 1);
  assert.equal(vm.effects.refaultGfn[0], gfn);
  assert.equal(
    vm.mem.pageState[gfn]! & (PAGE_HOST_RESIDENT | PAGE_SPTE_MAPPED),
    PAGE_HOST_RESIDENT | PAGE_SPTE_MAPPED,
  );
});
