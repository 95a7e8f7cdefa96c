// Proactive compaction in the simulator (src/sim/compaction.ts): kcompactd's wake-ups migrate
// pages_per_wake resident guest pages each, one migrate invalidation per page, over a seeded cyclic walk
// that visits every page once per pass.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MM_MIGRATE } from '../../src/host/x86/primary_mmu.ts';
import { PAGE_HOST_RESIDENT, PAGE_SPTE_MAPPED } from '../../src/mem/page_state.ts';
import { Compaction } from '../../src/sim/compaction.ts';
import { parseSimScenario } from '../../src/sim/load_sim.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { mapGfn, mmuVm } from '../test_utils/mmu_fixture.ts';

function world(perWake: number) {
  const a = mmuVm('6.18', { npages: 64 }).vm;
  const b = mmuVm('6.18', { npages: 96 }).vm;
  for (let g = 0; g < 64; g++) mapGfn(a, g);
  for (let g = 0; g < 96; g++) mapGfn(b, g);
  const c = new Compaction({ interval: 5e8, pagesPerWake: perWake }, [a, b], new Float64Array([0, 64]), 7);
  return { a, b, c };
}

test('compaction: one wake migrates pages_per_wake pages, one migrate invalidation each', () => {
  const { a, b, c } = world(40);
  c.wake();
  assert.equal(c.migrations[0]! + c.migrations[1]!, 40);
  assert.equal(a.mm.count[MM_MIGRATE]! + b.mm.count[MM_MIGRATE]!, 40);
  assert.equal(a.mmu.stat.invalidations + b.mmu.stat.invalidations, 40);
  assert.equal(c.migrations[0], a.mm.count[MM_MIGRATE]);
});

test('compaction: a pass visits every page of every VM once (all 160 SPTEs zapped by 160 migrations)', () => {
  const { a, b, c } = world(160);
  c.wake();
  assert.equal(c.migrations[0], 64);
  assert.equal(c.migrations[1], 96);
  for (const vm of [a, b])
    for (let g = 0; g < vm.mem.npages; g++) {
      assert.ok(vm.mem.pageState[g]! & PAGE_HOST_RESIDENT, 'a migrated page stays resident');
      assert.equal(vm.mem.pageState[g]! & PAGE_SPTE_MAPPED, 0, `gfn ${g} migrated once: its SPTE zapped`);
    }
});

test('compaction in a run: pages migrated = wake-ups × pages_per_wake, each a migrate invalidation', () => {
  const raw = {
    kind: 'sim',
    duration: '1s',
    warmup: '250ms',
    host: {
      ram: '1GiB',
      swap: { latency: '100us' },
      mmu_notifiers: true,
      compaction: { interval: '100ms', pages_per_wake: 500 },
    },
    vms: [{ count: 2, memory: '64MiB', workload: { pattern: { kind: 'uniform' } } }],
  };
  const m = runSimulation(parseSimScenario(raw, 'c.yaml')).metrics.total;
  // Wake-ups at 300, 400, …, 1000 ms fall in the measured window (250 ms, 1 s]: 8 of them.
  assert.equal(m.compaction?.pages_migrated, 8 * 500);
  assert.equal(m.mmu?.invalidations_by_source.migrate, 8 * 500);
  assert.ok(m.mmu!.refaults_by_source.migrate > 0, 'the guests touched migrated pages again');
  assert.throws(
    () => parseSimScenario({ ...raw, host: { ...raw.host, mmu_notifiers: false } }, 'c.yaml'),
    /c\.yaml: host\.compaction: .*mmu_notifiers: true/,
  );
  assert.throws(
    () => parseSimScenario({ ...raw, host: { ...raw.host, compaction: { interval: '100ms' } } }, 'c.yaml'),
    /c\.yaml: host\.compaction\.pages_per_wake/,
  );
});
