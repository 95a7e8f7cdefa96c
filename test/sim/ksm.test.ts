// KSM in the simulator (src/sim/ksm.ts): the scanner's rate against its kernel parameters, the notifier
// calls per merge (mmu.md §G: 63 one-page invalidations for 32 identical pages on Linux 6.18), the
// unstable-tree checksum rule, COW breaks through the fault path, frames for reclaim, and the scenario
// checks.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { MM_COW, MM_KSM_REPLACE, MM_KSM_WRPROTECT } from '../../src/host/x86/primary_mmu.ts';
import { PAGE_KSM, PAGE_SPTE_MAPPED } from '../../src/mem/page_state.ts';
import { HostMemory } from '../../src/sim/host_memory.ts';
import { Ksmd } from '../../src/sim/ksm.ts';
import { loadSimScenario, parseSimScenario } from '../../src/sim/load_sim.ts';
import { buildMetrics } from '../../src/sim/metrics.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { Simulator } from '../../src/sim/simulator.ts';
import { guestFault, mapGfn, mmuVm } from '../test_utils/mmu_fixture.ts';

const ex = (f: string) => join(import.meta.dirname, '../../examples/sim', f);

/** One VM of `npages` pages, all resident, every page a duplicate of one content (fraction 1, 1 kind). */
function ksmWorld(npages: number, pagesToScan = 1000, kinds = 1) {
  const { vm } = mmuVm('6.18', { npages });
  const host = new HostMemory(npages * 2, [vm.mem.pageState], [0]);
  host.setInitialResidency(0, npages);
  const ksm = new Ksmd(
    { pagesToScan, sleep: 20e6 },
    [vm],
    new Float64Array([0]),
    0,
    host,
    [{ fraction: 1, kinds }],
    1,
  );
  host.ksm = ksm;
  return { vm, host, ksm };
}

test('mmu §G / §E case 50: merging 32 identical pages raises 63 one-page invalidations (1 + 2·31)', () => {
  const { vm, ksm, host } = ksmWorld(32, 32);
  ksm.scan(); // first full scan: checksums only (the unstable-tree rule), nothing merges
  assert.equal(vm.mmu.stat.invalidations, 0);
  ksm.scan();
  assert.equal(ksm.full_scans, 1); // second: page 0 enters the unstable tree, page 1 merges with it, pages 2..31 into the node
  assert.equal(vm.mm.count[MM_KSM_WRPROTECT], 32, 'every page is write-protected');
  assert.equal(vm.mm.count[MM_KSM_REPLACE], 31, 'all but the page that became the KSM page are replaced');
  assert.equal(vm.mmu.stat.invalidations, 63);
  assert.equal(vm.mmu.stat.invalidations_hit, 63);
  assert.equal(ksm.pages_shared, 1);
  assert.equal(ksm.pages_sharing, 31);
  assert.equal(host.sharing, 31, 'the 31 replaced pages take no frame of their own');
  for (let g = 0; g < 32; g++) assert.ok(vm.mem.pageState[g]! & PAGE_KSM, `gfn ${g} maps the KSM page`);
  ksm.scan(); // a third scan finds everything merged: no more notifier calls
  assert.equal(vm.mmu.stat.invalidations, 63);
});

test('KSM: distinct contents merge per content; unique pages never merge', () => {
  const { vm, ksm } = ksmWorld(64, 64, 4);
  ksm.scan();
  ksm.scan();
  // 64 pages over at most 4 contents: one node per content present, each 1 + 2(n − 1) invalidations.
  const nodes = ksm.pages_shared;
  assert.ok(nodes >= 1 && nodes <= 4);
  assert.equal(ksm.pages_sharing, 64 - nodes);
  assert.equal(vm.mmu.stat.invalidations, nodes + 2 * (64 - nodes));
});

test('KSM: a page written since its last visit waits one more pass (the checksum rule)', () => {
  const { vm, ksm } = ksmWorld(4, 4);
  ksm.scan(); // checksums recorded
  // A write changes page 3's content: it is unique now and its checksum changed.
  ksm.written(0, 3);
  ksm.scan();
  assert.equal(ksm.pages_sharing, 2, 'pages 0..2 merged (one node, two sharing), page 3 not');
  assert.equal(vm.mem.pageState[3]! & PAGE_KSM, 0);
});

test('KSM: pages_to_scan bounds a wake-up; present pages only', () => {
  const { ksm } = ksmWorld(100, 30);
  ksm.scan();
  assert.equal(ksm.pages_scanned, 30);
  ksm.scan();
  ksm.scan();
  ksm.scan();
  assert.equal(ksm.pages_scanned, 120);
  assert.equal(ksm.full_scans, 1);
});

test('KSM: a guest write to a merged page is a COW in the fault path (one invalidation), the node loses a mapping', () => {
  const { vm, ksm, host } = ksmWorld(8, 8);
  ksm.scan();
  ksm.scan();
  assert.equal(ksm.pages_sharing, 7);
  mapGfn(vm, 5); // the guest reads it again: mapped read-only from the KSM page
  assert.ok(vm.mem.pageState[5]! & PAGE_SPTE_MAPPED);
  const inv = vm.mmu.stat.invalidations;
  ksm.written(0, 5);
  guestFault(vm, 5, true); // the write-protection fault: GUP with FOLL_WRITE breaks the KSM page
  assert.equal(vm.mm.count[MM_COW], 1);
  assert.equal(vm.mmu.stat.invalidations, inv + 1);
  assert.equal(vm.mem.pageState[5]! & PAGE_KSM, 0, 'a private copy now');
  assert.equal(ksm.pages_sharing, 6);
  assert.equal(host.sharing, 6);
});

test('KSM: reclaim counts frames, not resident pages (pages_sharing take none)', () => {
  const { ksm, host } = ksmWorld(16, 16);
  ksm.scan();
  ksm.scan();
  assert.equal(host.resident, 16);
  assert.equal(host.sharing, 15);
  // Evicting a page that maps the KSM page frees no frame while others still map it.
  host.evict(0, 3);
  assert.equal(host.resident, 15);
  assert.equal(host.sharing, 14);
  assert.equal(ksm.pages_sharing, 14);
});

test('KSM in a run: pages scanned per second = pages_to_scan / sleep_millisecs', () => {
  const sc = loadSimScenario(ex('ksm-dense.yaml'));
  sc.duration = 500e6;
  sc.warmup = 0;
  sc.autoWarmup = false;
  const sim = new Simulator(sc);
  sim.run();
  // 10,000 pages every 20 ms for 0.5 s: 25 wake-ups (at 20, 40, …, 500 ms), every page resident.
  assert.equal(sim.ksm!.pages_scanned, 25 * 10_000);
  const m = buildMetrics(sim);
  assert.equal(m.host.ksm!.pages_scanned, 250_000);
  assert.equal(m.total.ksm!.pages_scanned, 250_000);
});

test('KSM in a run: merges reach KVM as write_protect + replace, writes as COWs; same seed, same numbers', () => {
  // Two small identical VMs (2 × 7,168 scannable pages) and 100,000 pages/s: a full scan every ~0.14 s.
  const sc = parseSimScenario(
    {
      kind: 'sim',
      duration: '500ms',
      host: {
        ram: '1GiB',
        swap: { latency: '100us' },
        mmu_notifiers: true,
        ksm: { pages_to_scan: 2000, sleep_millisecs: '20ms' },
      },
      vms: [
        {
          count: 2,
          memory: '32MiB',
          duplicate_pages: 0.5,
          duplicate_kinds: 16,
          workload: { pattern: { kind: 'uniform' }, write_fraction: 0.2 },
        },
      ],
    },
    'ksm-small.yaml',
  );
  const a = runSimulation(sc).metrics;
  const b = runSimulation(sc).metrics;
  assert.deepEqual(a, b);
  const m = a.total;
  assert.ok(m.ksm && m.mmu);
  assert.ok(m.ksm.pages_merged > 0, 'the second full scan merged pages');
  const by = m.mmu.invalidations_by_source;
  // Each node: its first page write-protected only; every other page write-protected and replaced.
  const k = a.host.ksm!;
  assert.equal(by.ksm_wrprotect, m.ksm.pages_merged);
  assert.ok(by.ksm_replace <= by.ksm_wrprotect && by.ksm_replace >= by.ksm_wrprotect - 16 * 4);
  assert.ok(m.ksm.cow_breaks > 0, 'writes broke merges');
  assert.equal(by.cow, m.ksm.cow_breaks, 'every broken merge is one COW invalidation');
  // Mappings of KSM pages now (Σ k over nodes = sharing + shared) = merged − broken (no reclaim here).
  assert.equal(m.memory.evictions, 0);
  assert.equal(k.pages_sharing + k.pages_shared, m.ksm.pages_merged - m.ksm.cow_breaks);
});

test('host.ksm needs host.mmu_notifiers; duplicate_pages needs host.ksm (one line each)', () => {
  const base = {
    kind: 'sim',
    duration: '1s',
    host: { ram: '1GiB', swap: { latency: '100us' } },
    vms: [{ memory: '64MiB', workload: { pattern: { kind: 'uniform' } } }],
  };
  assert.throws(
    () => parseSimScenario({ ...base, host: { ...base.host, ksm: {} } }, 'k.yaml'),
    /k\.yaml: host\.ksm: .*mmu_notifiers: true/,
  );
  assert.throws(
    () => parseSimScenario({ ...base, vms: [{ ...base.vms[0], duplicate_pages: 0.5 }] }, 'k.yaml'),
    /k\.yaml: vms\[0\]\.duplicate_pages: .*host\.ksm/,
  );
  assert.throws(
    () =>
      parseSimScenario(
        { ...base, host: { ...base.host, mmu_notifiers: true, ksm: { sleep_millisecs: 0 } } },
        'k.yaml',
      ),
    /sleep_millisecs/,
  );
});
