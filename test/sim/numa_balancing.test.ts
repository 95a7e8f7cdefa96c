// NUMA balancing in the simulator (src/sim/numa_balancing.ts): one protection-change invalidation per
// scan of scan_size, hinting faults through KVM's fault path, migration of misplaced pages there.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MM_MIGRATE, MM_NUMA_PROTNONE } from '../../src/host/x86/primary_mmu.ts';
import { PAGE_HOST_PROTNONE, PAGE_SPTE_MAPPED } from '../../src/mem/page_state.ts';
import { parseSimScenario } from '../../src/sim/load_sim.ts';
import { NumaBalancing } from '../../src/sim/numa_balancing.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { guestFault, mapGfn, mmuVm } from '../test_utils/mmu_fixture.ts';

function world(nodes: number, misplaced: number) {
  const { vm } = mmuVm('6.18', { npages: 64 });
  vm.hooks.numaHintingFault = (_v, gfn) => numa.hintingFault(0, gfn);
  const numa = new NumaBalancing(
    { scanPages: 16, period: 1e9, nodes, misplaced },
    [vm],
    new Float64Array([0]),
    64,
    1,
  );
  for (let g = 0; g < 64; g++) mapGfn(vm, g);
  return { vm, numa };
}

test('NUMA balancing: each scan protects the next scan_size of guest RAM, one invalidation, cyclically', () => {
  const { vm, numa } = world(1, 0);
  numa.scan();
  assert.equal(vm.mm.count[MM_NUMA_PROTNONE], 1);
  assert.equal(vm.mmu.stat.invalidations, 1);
  assert.equal(numa.pagesProtected[0], 16);
  for (let g = 0; g < 64; g++) {
    const s = vm.mem.pageState[g]!;
    assert.equal((s & PAGE_HOST_PROTNONE) !== 0, g < 16, `gfn ${g} PROT_NONE`);
    assert.equal((s & PAGE_SPTE_MAPPED) !== 0, g >= 16, `gfn ${g} SPTE zapped by the invalidation`);
  }
  for (let k = 0; k < 3; k++) numa.scan();
  assert.equal(numa.pagesProtected[0], 64);
  numa.scan(); // wrapped around: the first chunk again
  assert.equal(numa.scans[0], 5);
});

test('NUMA balancing, one node: the hinting fault restores the PTE and maps the page; nothing migrates', () => {
  const { vm, numa } = world(1, 0.5);
  numa.scan();
  mapGfn(vm, 3);
  assert.equal(numa.hintingFaults[0], 1);
  assert.equal(numa.migrations[0], 0);
  assert.equal(vm.mem.pageState[3]! & PAGE_HOST_PROTNONE, 0);
  assert.ok(vm.mem.pageState[3]! & PAGE_SPTE_MAPPED);
});

test('NUMA balancing, two nodes: a misplaced page migrates at its hinting fault and the fault retries once', () => {
  const { vm, numa } = world(2, 1); // every page misplaced
  numa.scan();
  const inv = vm.mmu.stat.invalidations;
  guestFault(vm, 5);
  assert.equal(numa.migrations[0], 1);
  assert.equal(vm.mm.count[MM_MIGRATE], 1);
  assert.equal(vm.mmu.stat.invalidations, inv + 1);
  assert.equal(vm.mem.pageState[5]! & PAGE_SPTE_MAPPED, 0, 'the migration moved the sequence: retry');
  mapGfn(vm, 5); // the re-executed access maps the migrated page; it is local now
  assert.equal(numa.migrations[0], 1);
  numa.scan();
  numa.scan();
  numa.scan();
  numa.scan(); // the chunk with gfn 5 again
  guestFault(vm, 5);
  assert.equal(numa.migrations[0], 1, 'a migrated page stays');
});

test('NUMA balancing in a run: scans per VM = duration / scan_period; needs mmu_notifiers', () => {
  const raw = {
    kind: 'sim',
    duration: '200ms',
    host: {
      ram: '1GiB',
      swap: { latency: '100us' },
      mmu_notifiers: true,
      numa_balancing: { scan_size: '8MiB', scan_period: '20ms', misplaced_pages: 0.2 },
    },
    vms: [{ count: 2, memory: '32MiB', workload: { pattern: { kind: 'uniform' } } }],
  };
  const m = runSimulation(parseSimScenario(raw, 'numa.yaml')).metrics;
  assert.equal(m.total.numa?.scans, 2 * 10);
  assert.equal(m.total.mmu?.invalidations_by_source.numa_protnone, 20);
  assert.ok(m.total.numa!.hinting_faults > 0);
  assert.ok(m.total.numa!.migrations > 0 && m.total.numa!.migrations <= m.total.numa!.hinting_faults);
  assert.equal(m.total.mmu?.invalidations_by_source.migrate, m.total.numa!.migrations);
  const { host } = raw;
  assert.throws(
    () => parseSimScenario({ ...raw, host: { ...host, mmu_notifiers: false } }, 'numa.yaml'),
    /numa\.yaml: host\.numa_balancing: .*mmu_notifiers: true/,
  );
});
