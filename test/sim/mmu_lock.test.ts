// mmu_lock timing, timed invalidation windows and refaults by source in the simulator (src/sim/mmu_lock.ts,
// MmuHost.zapSource): what the host's memory management costs a guest in lock waits, retries and refaults.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type EraName, eraConfig } from '../../src/host/x86/era.ts';
import type { KvmVm } from '../../src/host/x86/vm.ts';
import { DEFAULT_COSTS } from '../../src/sim/costs.ts';
import { parseSimScenario } from '../../src/sim/load_sim.ts';
import { MmuLockTiming } from '../../src/sim/mmu_lock.ts';
import { runSimulation } from '../../src/sim/run.ts';

const fakeVm = (era: EraName): KvmVm => ({ era: eraConfig(era) }) as unknown as KvmVm;
const costs = { ...DEFAULT_COSTS, mmu_lock_fault: 300, mmu_lock_notifier: 200, mmu_lock_spte: 40 };

test('mmu_lock: a zap holds it for notifier + per-SPTE time; a fault waits out the whole zap before 6.12', () => {
  const lock = new MmuLockTiming([fakeVm('6.10')], costs);
  lock.notifier(0, 1000, 100); // holds [1000, 1000 + 200 + 4000)
  assert.equal(lock.freeAt(0), 5200);
  assert.equal(lock.fault(0, 2000, 1), 3200, 'waits until the zap is done');
  assert.equal(lock.freeAt(0), 5500, 'then holds it for its own part');
  assert.equal(lock.contended[0], 1);
  assert.equal(lock.fault(0, 10_000, 1), 0, 'a free lock: no wait');
  assert.equal(lock.holdNs[0], 4200 + 600);
  // Host holds at one instant do not queue behind each other (the kernel spreads them over its own time,
  // the lock free in between): a fault waits for the longest, not their sum.
  const l3 = new MmuLockTiming([fakeVm('6.10')], costs);
  for (let k = 0; k < 1000; k++) l3.notifier(0, 0, 1);
  assert.equal(l3.fault(0, 0, 1), 240);
  // A host operation that finds the lock held starts later (host wait, not vCPU time).
  lock.notifier(0, 10_100, 0);
  assert.equal(lock.hostWaitNs[0], 200);
});

test('mmu_lock from 6.12 (548f87f667a3): the rmap zap yields to a waiting fault after one rmap step', () => {
  assert.equal(eraConfig('6.10').mmu.rmapZapYields, false);
  assert.equal(eraConfig('6.13').mmu.rmapZapYields, true);
  const lock = new MmuLockTiming([fakeVm('6.13')], costs);
  lock.notifier(0, 1000, 100);
  assert.equal(lock.fault(0, 2000, 1), 40, 'one rmap step at most');
  assert.equal(lock.freeAt(0), 5500, 'the zap resumes after the fault and ends later');
  assert.equal(lock.fault(0, 2400, 1), 40, 'and yields again to the next waiter');
  // A plain notifier hold (no SPTEs: invalidate_range_end) is not a zap and does not yield.
  const l2 = new MmuLockTiming([fakeVm('6.13')], costs);
  l2.notifier(0, 0, 0);
  assert.equal(l2.fault(0, 50, 1), 150);
});

const numaHost = (era: string, bugs: string[] = []) =>
  parseSimScenario(
    {
      kind: 'sim',
      seed: 3,
      duration: '300ms',
      warmup: '50ms',
      host: {
        ram: '2GiB',
        swap: { latency: '100us' },
        mmu_notifiers: true,
        numa_balancing: { scan_size: '64MiB', scan_period: '25ms', misplaced_pages: 0 },
      },
      vms: [
        {
          memory: '512MiB',
          vcpus: 4,
          era,
          bugs,
          workload: { touches_per_burst: 4, pattern: { kind: 'zipf', s: 0.9 } },
        },
      ],
    },
    'numa-lock.yaml',
  );

test('timed NUMA windows: one per scan, faults inside retry, and refaults are charged to numa_protnone', () => {
  const m = runSimulation(numaHost('6.18')).metrics.total;
  const mmu = m.mmu!;
  assert.equal(mmu.mmu_lock.timed_windows, m.numa!.scans, 'every scan kept its window open');
  assert.ok(mmu.retries.unsafe > 0, 'faults during the window retried (6.8+: the lockless pre-check)');
  // Every hinting fault is the first fault on a page the scan zapped; nothing else zaps here.
  assert.equal(mmu.refaults_by_source.numa_protnone, m.numa!.hinting_faults);
  assert.equal(mmu.refaults_by_source.reclaim, 0);
  assert.ok(mmu.refault_exit_ms_by_source.numa_protnone > 0);
  assert.ok(mmu.mmu_lock.hold_ms > 0 && mmu.mmu_lock.fault_acquisitions > 0);
});

test('compare --era on NUMA windows: ≤5.11 retries under mmu_lock; 6.8 retries before it; 6.12+ stops waiting out the zap', () => {
  const at = (era: string) => runSimulation(numaHost(era)).metrics.total.mmu!;
  const e510 = at('5.10');
  const e68 = at('6.8');
  const e613 = at('6.13');
  // The count-form predicate (≤5.11) retries under the lock: range retries, no lockless ones.
  assert.ok(e510.retries.range > 0);
  assert.equal(e510.retries.unsafe, 0);
  // 6.8's pre-check catches them first.
  assert.ok(e68.retries.unsafe > 0);
  // A vCPU fault that arrives during a scan's zap waits it out before 6.12, one rmap step after.
  assert.ok(
    e510.mmu_lock.wait_ms > 5 * e613.mmu_lock.wait_ms,
    `${e510.mmu_lock.wait_ms} vs ${e613.mmu_lock.wait_ms}`,
  );
});

test("refaults by source: a KSM merge costs a refault per merged page, which Glisse's change_pte RFC saves", () => {
  const ksm = (bugs: string[]) =>
    runSimulation(
      parseSimScenario(
        {
          kind: 'sim',
          seed: 2,
          // The first full scan (~80 ms) only checksums; the merges run in the measured window.
          duration: '400ms',
          warmup: '50ms',
          host: {
            ram: '1GiB',
            swap: { latency: '100us' },
            mmu_notifiers: true,
            ksm: { pages_to_scan: 4000, sleep_millisecs: '10ms' },
          },
          vms: [
            {
              count: 2,
              memory: '64MiB',
              era: '5.12',
              bugs,
              duplicate_pages: 0.5,
              duplicate_kinds: 8,
              workload: { write_fraction: 0, pattern: { kind: 'uniform' } },
            },
          ],
        },
        'ksm-refaults.yaml',
      ),
    ).metrics.total.mmu!;
  const base = ksm([]);
  const rfc = ksm(['use-change-pte']);
  const merges = base.refaults_by_source.ksm_wrprotect + base.refaults_by_source.ksm_replace;
  assert.ok(merges > 0, 'reads of merged pages refault after the merge zapped their SPTEs');
  assert.equal(
    rfc.refaults_by_source.ksm_wrprotect + rfc.refaults_by_source.ksm_replace,
    0,
    'with the RFC, change_pte repoints the SPTE instead: no refault',
  );
  // 5.12 still has the callback: KVM gets change_pte calls, but the bracketing start() zapped the SPTE
  // first (6bdb913f0a70), so none has anything to update; with the RFC every merge updates in place.
  assert.ok(base.change_pte.calls > 0);
  assert.equal(base.change_pte.sptes_updated, 0);
  assert.ok(rfc.change_pte.sptes_updated > 0);
});
