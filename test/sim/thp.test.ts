// Transparent huge pages in the simulator (src/sim/khugepaged.ts, src/host/x86/mmu_hugepage.ts): khugepaged's
// rate against pages_to_scan and scan_sleep_millisecs, one invalidation per collapse and per split, a fault in
// a huge range mapping all 512 gfns (kvm_mmu_hugepage_adjust), an invalidation of one page zapping the whole
// 2 MiB SPTE, reclaim splitting first, and the scenario errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enableThp, HPAGE_PMD_NR } from '../../src/host/x86/mmu_hugepage.ts';
import {
  host_mm_run,
  MM_DONTNEED,
  MM_NUMA_PROTNONE,
  MM_RECLAIM,
  MM_THP_COLLAPSE,
  MM_THP_SPLIT,
} from '../../src/host/x86/primary_mmu.ts';
import { applyX86Step } from '../../src/host/x86/steps.ts';
import type { KvmVm } from '../../src/host/x86/vm.ts';
import { PAGE_HOST_RESIDENT, PAGE_SPTE_MAPPED } from '../../src/mem/page_state.ts';
import { HostMemory } from '../../src/sim/host_memory.ts';
import { Khugepaged } from '../../src/sim/khugepaged.ts';
import { parseSimScenario } from '../../src/sim/load_sim.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { guestFault, mmuVm } from '../test_utils/mmu_fixture.ts';

const mapped = (vm: KvmVm, g: number): boolean => (vm.mem.pageState[g]! & PAGE_SPTE_MAPPED) !== 0;
const countMapped = (vm: KvmVm, lo: number, hi: number): number => {
  let n = 0;
  for (let g = lo; g < hi; g++) if (mapped(vm, g)) n++;
  return n;
};

/** A 4 MiB VM (two 2 MiB ranges), every page resident, with THP on or off. */
function world(thp: boolean) {
  const { vm } = mmuVm('6.18', { npages: 2 * HPAGE_PMD_NR });
  const t = thp ? enableThp(vm) : null;
  return { vm, t };
}

test('THP: a collapse is one invalidation of the 2 MiB range; the host then maps it huge', () => {
  const { vm, t } = world(true);
  host_mm_run(vm, MM_THP_COLLAPSE, 0, HPAGE_PMD_NR);
  assert.equal(vm.mmu.stat.invalidations, 1);
  assert.equal(vm.mm.count[MM_THP_COLLAPSE], 1);
  assert.equal(t!.host_pmd[0], 1);
  assert.equal(t!.host_pmd[1], 0);
  // A range with a page swapped out does not become huge (the model collapses only fully resident ranges).
  host_mm_run(vm, MM_RECLAIM, HPAGE_PMD_NR + 3, HPAGE_PMD_NR + 4);
  host_mm_run(vm, MM_THP_COLLAPSE, HPAGE_PMD_NR, 2 * HPAGE_PMD_NR);
  assert.equal(t!.host_pmd[1], 0);
});

test('THP: a fault in a huge range maps all 512 gfns with one 2 MiB SPTE (kvm_mmu_hugepage_adjust); 4 KiB without THP', () => {
  for (const thp of [true, false]) {
    const { vm, t } = world(thp);
    host_mm_run(vm, MM_THP_COLLAPSE, 0, HPAGE_PMD_NR);
    guestFault(vm, 5);
    assert.equal(countMapped(vm, 0, HPAGE_PMD_NR), thp ? HPAGE_PMD_NR : 1, `thp ${thp}`);
    assert.equal(countMapped(vm, HPAGE_PMD_NR, 2 * HPAGE_PMD_NR), 0, 'the next range is not touched');
    if (t) assert.equal(t.huge_installs, 1);
    // A range the host does not map huge is mapped 4 KiB even with THP.
    guestFault(vm, HPAGE_PMD_NR + 7);
    assert.equal(countMapped(vm, HPAGE_PMD_NR, 2 * HPAGE_PMD_NR), 1);
  }
});

test('THP: an invalidation of one page of a huge range zaps the whole 2 MiB SPTE (all 512 gfns)', () => {
  const { vm, t } = world(true);
  host_mm_run(vm, MM_THP_COLLAPSE, 0, HPAGE_PMD_NR);
  guestFault(vm, 0);
  guestFault(vm, HPAGE_PMD_NR + 1); // 4 KiB in the other range
  guestFault(vm, HPAGE_PMD_NR + 2);
  const zapped = vm.mmu.stat.sptes_zapped;
  host_mm_run(vm, MM_NUMA_PROTNONE, 100, 101);
  assert.equal(countMapped(vm, 0, HPAGE_PMD_NR), 0);
  assert.equal(vm.mmu.stat.sptes_zapped - zapped, HPAGE_PMD_NR);
  assert.equal(t!.huge_zaps, 1);
  assert.equal(t!.host_pmd[0], 0, 'a protection change of part of the PMD splits it');
  // In a 4 KiB range the same invalidation zaps one SPTE.
  host_mm_run(vm, MM_DONTNEED, HPAGE_PMD_NR + 1, HPAGE_PMD_NR + 2);
  assert.equal(countMapped(vm, HPAGE_PMD_NR, 2 * HPAGE_PMD_NR), 1);
  assert.equal(t!.huge_zaps, 1);
});

test('THP: a split is one invalidation; the range is 4 KiB afterwards and faults map one page', () => {
  const { vm, t } = world(true);
  const k = new Khugepaged({ pagesToScan: HPAGE_PMD_NR, sleep: 1e9, maxPtesSwap: 64 }, [vm]);
  guestFault(vm, 20); // the guest touched the range: khugepaged finds it referenced
  k.scan();
  assert.equal(k.collapses[0], 1);
  guestFault(vm, 9);
  const inv = vm.mmu.stat.invalidations;
  k.split(0, 300);
  assert.equal(vm.mmu.stat.invalidations, inv + 1);
  assert.equal(vm.mm.count[MM_THP_SPLIT], 1);
  assert.equal(k.splits[0], 1);
  assert.equal(t!.host_pmd[0], 0);
  assert.equal(countMapped(vm, 0, HPAGE_PMD_NR), 0);
  guestFault(vm, 9);
  assert.equal(countMapped(vm, 0, HPAGE_PMD_NR), 1);
  k.split(0, 300); // not huge: nothing
  assert.equal(vm.mmu.stat.invalidations, inv + 1);
});

test('THP: reclaim of a page in a huge range splits it first (thp_split, then reclaim)', () => {
  const { vm, t } = world(true);
  const host = new HostMemory(
    2 * HPAGE_PMD_NR,
    [vm.mem.pageState],
    [0],
    (_vm, gfn) => {
      applyX86Step(vm, { kind: 'host_reclaim', gfn });
    },
    null,
  );
  host.setInitialResidency(0, 2 * HPAGE_PMD_NR);
  const k = new Khugepaged({ pagesToScan: 2 * HPAGE_PMD_NR, sleep: 1e9, maxPtesSwap: 64 }, [vm]);
  // khugepaged collapses a range only if KVM's test_young finds a young SPTE in it: the guest touched it.
  guestFault(vm, 0);
  guestFault(vm, HPAGE_PMD_NR);
  let reclaimsAtSplit = -1;
  host.thp = {
    hugeRange: (v, g) => k.hugeRange(v, g),
    split: (v, g) => {
      reclaimsAtSplit = vm.mm.count[MM_RECLAIM]!;
      k.split(v, g);
    },
  };
  k.scan();
  assert.deepEqual([t!.host_pmd[0], t!.host_pmd[1]], [1, 1]);
  const before = vm.mm.count[MM_RECLAIM]!;
  host.evict(0, 3);
  assert.equal(vm.mm.count[MM_THP_SPLIT], 1);
  assert.equal(vm.mm.count[MM_RECLAIM], before + 1);
  assert.equal(reclaimsAtSplit, before, 'the split ran before the reclaim');
  assert.equal(t!.host_pmd[0], 0, 'the reclaimed page’s range is split');
  assert.equal(t!.host_pmd[1], 1, 'the other range stays huge');
  assert.equal(vm.mem.pageState[3]! & PAGE_HOST_RESIDENT, 0);
  // khugepaged does not collapse the range again while a page of it is swapped out.
  k.scan();
  assert.equal(t!.host_pmd[0], 0);
});

test('THP: CLOCK reclaims a PMD-mapped THP as one folio: aged once, PMD split, 512 pages out in one invalidation', () => {
  const { vm, t } = world(true);
  const k = new Khugepaged({ pagesToScan: 2 * HPAGE_PMD_NR, sleep: 1e9, maxPtesSwap: 64 }, [vm]);
  guestFault(vm, 0);
  guestFault(vm, HPAGE_PMD_NR);
  k.scan();
  assert.deepEqual([t!.host_pmd[0], t!.host_pmd[1]], [1, 1]);
  const host = new HostMemory(
    2 * HPAGE_PMD_NR - 2,
    [vm.mem.pageState],
    [0],
    (_v, gfn, n) => {
      applyX86Step(vm, { kind: 'host_mm', op: MM_RECLAIM, start: gfn, end: gfn + n });
    },
    (_v, gfn, n) => applyX86Step(vm, { kind: 'host_age', age: 0, start: gfn, end: gfn + n }) === 1,
  );
  host.setInitialResidency(0, 2 * HPAGE_PMD_NR - 1);
  host.thp = k;
  const inv = vm.mmu.stat.invalidations;
  const aging = vm.mmu.stat.aging_calls;
  host.pagedIn(0, 2 * HPAGE_PMD_NR - 1); // one page over the limit: reclaim runs
  assert.equal(host.evictions[0], HPAGE_PMD_NR, 'the whole folio went, not one page');
  assert.equal(vm.mm.count[MM_THP_SPLIT], 1);
  assert.equal(vm.mm.count[MM_RECLAIM], 1);
  assert.equal(vm.mmu.stat.invalidations, inv + 2, 'the PMD split and the unmap: two invalidations of 2 MiB');
  // Both folios were young (the guest touched them): the first sweep aged each once, the second took one.
  assert.equal(vm.mmu.stat.aging_calls, aging + 3);
  assert.equal(t!.host_pmd[0] + t!.host_pmd[1], 1, 'one range is 4 KiB and swapped out, the other huge');
  assert.equal(host.resident, HPAGE_PMD_NR);
});

test('khugepaged: a resident range with no young SPTE is not collapsed (SCAN_LACK_REFERENCED_PAGE); one the guest touched is', () => {
  const { vm, t } = world(true);
  const k = new Khugepaged({ pagesToScan: 2 * HPAGE_PMD_NR, sleep: 1e9, maxPtesSwap: 64 }, [vm]);
  guestFault(vm, HPAGE_PMD_NR + 7); // the second range only
  const calls = vm.mmu.stat.aging_calls;
  k.scan();
  assert.deepEqual([t!.host_pmd[0], t!.host_pmd[1]], [0, 1]);
  assert.equal(k.lackReferenced[0], 1);
  assert.equal(k.collapses[0], 1);
  assert.equal(vm.mmu.stat.aging_calls, calls + 2, 'one test_young per fully resident range');
  guestFault(vm, 3);
  k.scan();
  assert.equal(t!.host_pmd[0], 1, 'touched since: collapsed at the next visit');
});

const raw = (khugepaged: Record<string, unknown>, extra: Record<string, unknown> = {}, residency = 1) => ({
  kind: 'sim',
  duration: '200ms',
  host: {
    ram: '1GiB',
    swap: { latency: '100us' },
    mmu_notifiers: true,
    thp: { khugepaged },
    ...extra,
  },
  vms: [
    { count: 2, memory: '64MiB', initial_residency: residency, workload: { pattern: { kind: 'uniform' } } },
  ],
});

test('khugepaged in a run: ranges scanned = ceil(pages_to_scan / 512) per scan_sleep; one invalidation per collapse', () => {
  for (const pages of [1024, 1536, 1000]) {
    const m = runSimulation(
      parseSimScenario(raw({ pages_to_scan: pages, scan_sleep_millisecs: '20ms' }), 'thp.yaml'),
    ).metrics;
    const wakes = 200 / 20;
    assert.equal(
      m.total.thp?.ranges_scanned,
      wakes * Math.ceil(pages / HPAGE_PMD_NR),
      `pages_to_scan ${pages}`,
    );
    // Every range is fully resident (no overcommit) and collapsed at its first visit: 2 VMs × 32 ranges.
    assert.equal(m.total.thp?.collapses, Math.min(64, m.total.thp!.ranges_scanned));
    assert.equal(m.total.mmu?.invalidations_by_source.thp_collapse, m.total.thp?.collapses);
    assert.equal(m.total.thp?.splits, 0);
    assert.ok(m.total.thp!.huge_mappings > 0, 'the guests fault on collapsed ranges and map them huge');
  }
});

test('THP on an overcommitted host: splits are one invalidation each; huge ranges stay fully resident', () => {
  const r = raw({ pages_to_scan: 8192, scan_sleep_millisecs: '10ms' }, { ram: '100MiB' }, 0.75);
  const { sim, metrics: m } = runSimulation(parseSimScenario(r, 'thp.yaml'));
  assert.ok(m.total.memory.evictions > 0);
  assert.ok(m.total.thp!.collapses > 0);
  assert.ok(m.total.thp!.splits > 0, 'reclaim split huge ranges');
  assert.equal(m.total.mmu?.invalidations_by_source.thp_split, m.total.thp?.splits);
  assert.ok(m.host.thp !== undefined && m.host.thp.full_scans > 0);
  // The host never reclaims a page of a range it still maps huge.
  for (const sv of sim.vms) {
    const t = sv.vm.mmuHost.thp!;
    for (let r = 0; r < t.nranges; r++) {
      if (t.host_pmd[r] === 0) continue;
      for (let g = r * HPAGE_PMD_NR; g < (r + 1) * HPAGE_PMD_NR; g++)
        assert.ok(
          sv.vm.mem.pageState[g]! & PAGE_HOST_RESIDENT,
          `${sv.spec.name} gfn ${g} of huge range ${r}`,
        );
    }
  }
});

test('host.thp: off leaves no THP metrics; needs mmu_notifiers; a bad field is named', () => {
  const off = raw({});
  delete (off.host as { thp?: unknown }).thp;
  const m = runSimulation(parseSimScenario(off, 'thp.yaml')).metrics;
  assert.equal(m.total.thp, undefined);
  assert.equal(m.host.thp, undefined);
  assert.throws(
    () => parseSimScenario(raw({}, { mmu_notifiers: false }), 'thp.yaml'),
    /thp\.yaml: host\.thp: .*mmu_notifiers: true/,
  );
  assert.throws(
    () => parseSimScenario(raw({ pages_to_scan: 0 }), 'thp.yaml'),
    /thp\.yaml: host\.thp\.khugepaged\.pages_to_scan/,
  );
  assert.throws(
    () => parseSimScenario(raw({ max_ptes_swap: 512 }), 'thp.yaml'),
    /thp\.yaml: host\.thp\.khugepaged\.max_ptes_swap/,
  );
});
