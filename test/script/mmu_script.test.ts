// Scripts with vm.mmu_notifiers: the host memory operations, their records and the notifier tracepoints,
// run from the shipped examples in examples/mmu/ and small inline scripts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';
import { loadScript, parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { OpRecord, TranscriptRecord } from '../../src/script/transcript.ts';
import { toVmConfig } from '../../src/script/vm_config.ts';

const example = (name: string) => join(import.meta.dirname, '../../examples/mmu', name);

/** The example with another era (as --era does). */
function withEra(name: string, era: string) {
  const file = example(name);
  const raw = readScenarioFile(file, { bigint: true }) as Record<string, unknown>;
  return parseScript({ ...raw, era }, file);
}

const opRecords = (t: readonly TranscriptRecord[]): OpRecord[] => t.filter((r): r is OpRecord => 'op' in r);
const hostRecord = (t: readonly TranscriptRecord[], kind: string): OpRecord => {
  const r = opRecords(t).find((o) => o.kind === kind);
  assert.ok(r, `no ${kind} record`);
  return r;
};
const pfTaken = (t: readonly TranscriptRecord[]): number => {
  const s = t.find((r) => 'kvm_stat' in r);
  assert.ok(s && 'kvm_stat' in s, 'no kvm_stat record');
  return s.pf_taken;
};
const traces = (t: readonly TranscriptRecord[], name: string) =>
  t.filter((r) => 'trace' in r && r.trace === name).map((r) => ('trace' in r ? r.text : ''));

// mmu §G
test('mmu §G: the 6.18 recipe gives 63, 1, 1, 1 + 1, 1 kvm_unmap_hva_range events per host operation', () => {
  const { records } = runScript(loadScript(example('g-recipe.yaml')), { traceEvents: true });
  assert.deepEqual(
    opRecords(records).map((r) => [r.kind, r.invalidations]),
    [
      ['host_ksm_merge', 63],
      ['host_cow', 1],
      ['host_dontneed', 1],
      ['host_mprotect', 1],
      ['host_mprotect', 1],
      ['host_munmap', 1],
    ],
  );
  // One tracepoint per invalidation, the DONTNEED one an 8-page range, the munmap one outside RAM.
  const unmaps = traces(records, 'kvm_unmap_hva_range');
  assert.equal(unmaps.length, 68);
  assert.ok(unmaps.includes('mmu notifier unmap range: 0x007f0000020000 -- 0x007f0000028000'));
  assert.equal(unmaps.at(-1), 'mmu notifier unmap range: 0x007f0000040000 -- 0x007f0000044000');
  assert.equal(pfTaken(records), 0, 'no vCPU ran');
});

// mmu §E case 50
test('mmu §E case 50: merging 32 pages raises 1 + 2·31 one-page invalidations, each page twice but the KSM page', () => {
  const { records } = runScript(loadScript(example('g-recipe.yaml')), { traceEvents: true });
  const merge = records.slice(
    0,
    records.findIndex((r) => 'op' in r),
  );
  const ranges = traces(merge, 'kvm_unmap_hva_range');
  assert.equal(ranges.length, 63);
  const perPage = new Map<string, number>();
  for (const text of ranges) {
    const [, start, end] = /: (0x\w+) -- (0x\w+)$/.exec(text)!;
    assert.equal(Number(end) - Number(start), 4096);
    perPage.set(start!, (perPage.get(start!) ?? 0) + 1);
  }
  assert.equal(perPage.get('0x007f0000000000'), 1);
  assert.deepEqual(
    [...perPage.values()].filter((n) => n === 2),
    Array(31).fill(2),
  );
});

// mmu §E case 31
test('mmu §E case 31: 6.18 has no change_pte; the merge zaps the guest SPTE and the next access refaults', () => {
  const { records } = runScript(loadScript(example('ksm-merge-then-fault.yaml')), { traceEvents: true });
  const merge = hostRecord(records, 'host_ksm_merge');
  assert.deepEqual(
    { ...merge },
    {
      op: 1,
      kind: 'host_ksm_merge',
      result: 'ok',
      invalidations: 3,
      zapped: 1,
      change_pte: 0,
      change_pte_spte: 0,
      mapped: 0,
    },
  );
  assert.equal(pfTaken(records), 2, 'the first touch and the refault');
  assert.equal(traces(records, 'kvm_unmap_hva_range').length, 3);
  assert.equal(traces(records, 'kvm_set_spte_hva').length, 0);
  assert.ok(opRecords(records).every((r) => r.result === 'ok'));
});

// mmu B.4.3, B.4.1 item 3 (6bdb913f0a70)
test('mmu B.4.3 ≤3.6 (before 6bdb913f0a70): change_pte repoints the SPTE in place and the guest does not refault', () => {
  const { records } = runScript(loadScript(example('change-pte-3.6.yaml')), { traceEvents: true });
  const merge = hostRecord(records, 'host_ksm_merge');
  assert.equal(merge.invalidations, 0);
  assert.equal(merge.zapped, 0);
  assert.equal(merge.change_pte, 3);
  assert.equal(merge.change_pte_spte, 2);
  assert.equal(merge.mapped, 1);
  assert.equal(pfTaken(records), 1, 'the first touch only');
  assert.ok(!records.some((r) => 'trace' in r), '3.6 emits no notifier tracepoints from generic KVM code');
});

// mmu §D (per KSM merge: refaults with vs without the in-place update)
test('the refault/no-refault difference: the same script on 3.6 and 6.18 differs by exactly one fault', () => {
  const old = runScript(withEra('ksm-merge-then-fault.yaml', '3.6')).records;
  const now = runScript(withEra('ksm-merge-then-fault.yaml', '6.18')).records;
  assert.equal(pfTaken(now) - pfTaken(old), 1);
  // The touch records themselves are the same: a refault is invisible to the guest.
  const touches = (t: readonly TranscriptRecord[]) => opRecords(t).filter((r) => r.kind === 'touch');
  assert.deepEqual(touches(old), touches(now));
});

// mmu §E case 26
test('mmu §E case 26: 3.7–5.12 the bracket zaps first, change_pte finds no SPTE, the guest refaults once', () => {
  const { records } = runScript(withEra('ksm-merge-then-fault.yaml', '4.19'));
  const merge = hostRecord(records, 'host_ksm_merge');
  assert.equal(merge.zapped, 1);
  assert.equal(merge.change_pte, 3);
  assert.equal(merge.change_pte_spte, 0);
  assert.equal(pfTaken(records), 2);
});

// mmu §E case 27
test('mmu §E case 27: 6.8 change_pte still runs inside the window and finds nothing; kvm_set_spte_hva is traced', () => {
  const { records } = runScript(withEra('ksm-merge-then-fault.yaml', '6.8'), { traceEvents: true });
  const merge = hostRecord(records, 'host_ksm_merge');
  assert.equal(merge.change_pte, 3);
  assert.equal(merge.change_pte_spte, 0);
  assert.deepEqual(traces(records, 'kvm_set_spte_hva'), [
    'mmu notifier set pte hva: 0x007f0000002000',
    'mmu notifier set pte hva: 0x007f0000001000',
    'mmu notifier set pte hva: 0x007f0000001000',
  ]);
  assert.equal(pfTaken(records), 2);
});

const inline = (ops: unknown[], vm: Record<string, unknown> = { mmu_notifiers: true }, era = '6.18') =>
  parseScript({ kind: 'script', era, vm, ops }, 'inline.yaml');

// mmu §E cases 35, 36
test('mmu §E cases 35, 36: host_age reports the young answer; test_young clears nothing, clear_young does', () => {
  const ops = [
    { op: 'touch', gpa: 0x1000 },
    { op: 'host_age', gpa: 0x1000, kind: 'test_young' },
    { op: 'host_age', gpa: 0x1000, kind: 'clear_young' },
    { op: 'host_age', gpa: 0x1000, kind: 'test_young' },
    { op: 'host_age', gpa: 0x2000, kind: 'clear_flush_young' }, // no SPTE there
  ];
  const { records } = runScript(inline(ops), { traceEvents: true });
  assert.deepEqual(
    opRecords(records)
      .filter((r) => r.kind === 'host_age')
      .map((r) => r.young),
    [1, 1, 0, 0],
  );
  assert.deepEqual(traces(records, 'kvm_test_age_hva'), [
    'mmu notifier test age hva: 0x007f0000001000',
    'mmu notifier test age hva: 0x007f0000001000',
  ]);
  assert.deepEqual(traces(records, 'kvm_age_hva'), [
    'mmu notifier age hva: 0x007f0000001000 -- 0x007f0000002000',
    'mmu notifier age hva: 0x007f0000002000 -- 0x007f0000003000',
  ]);
});

test('host_reclaim, host_numa_protnone, host_migrate, host_thp_split, host_thp_collapse: one invalidation each, zapping the mapped pages', () => {
  const touch = (gpa: number) => ({ op: 'touch', gpa });
  const ops = [
    touch(0x1000),
    touch(0x2000),
    { op: 'host_reclaim', gpa: 0x1000, pages: 2 },
    touch(0x3000),
    { op: 'host_numa_protnone', gpa: 0x3000 },
    touch(0x3000),
    { op: 'host_migrate', gpa: 0x3000 },
    touch(0x3000),
    { op: 'host_thp_split', gpa: 0x3000 },
    touch(0x3000),
    { op: 'host_thp_collapse', gpa: 0x0, pages: 8 },
  ];
  const rec = opRecords(runScript(inline(ops)).records).filter((r) => r.kind.startsWith('host_'));
  assert.deepEqual(
    rec.map((r) => [r.kind, r.invalidations, r.zapped, r.mapped]),
    [
      ['host_reclaim', 2, 2, 0], // page by page
      ['host_numa_protnone', 1, 1, 0],
      ['host_migrate', 1, 1, 0],
      ['host_thp_split', 1, 1, 0],
      ['host_thp_collapse', 1, 1, 0],
    ],
  );
});

test('the ftrace lines of notifier tracepoints name the host task that ran the operation, on CPU 000', () => {
  const { ftrace } = runScript(loadScript(example('g-recipe.yaml')), { ftrace: true });
  assert.equal(ftrace.length, 68);
  assert.match(
    ftrace[0]!,
    /^ +ksmd-91 +\[000\] \.{5} +0\.000000: kvm_unmap_hva_range: mmu notifier unmap range: /,
  );
  assert.match(ftrace.at(-1)!, /^ +qemu-system-x86-999 +\[000\] /);
});

test('without vm.mmu_notifiers the loader refuses host memory operations, one line naming the op', () => {
  assert.throws(
    () => inline([{ op: 'host_dontneed', gpa: 0x1000 }], {}),
    (e: unknown) =>
      e instanceof ScenarioError &&
      e.message ===
        'inline.yaml: ops[0].op: host_dontneed needs vm.mmu_notifiers: true (host memory operations run with the MMU-notifier model only)',
  );
  assert.throws(
    () => inline([{ op: 'host_munmap', gpa: 0x1000, outside: true }]),
    /ops\[0\]\.gpa: with outside/,
  );
  assert.throws(
    () => inline([{ op: 'host_dontneed', gpa: 0xf000, pages: 2 }]),
    /ops\[0\]\.gpa: expected 2 page/,
  );
  assert.throws(() => inline([{ op: 'host_ksm_merge', gpas: [0x1000, 0x1000] }]), /gpas\[1\]: page 0x1000/);
  assert.throws(() => inline([{ op: 'host_age', gpa: 0, pages: 2, kind: 'test_young' }]), /ops\[0\]\.pages/);
});

test('vm.mmu_notifiers defaults to false and leaves the VM config of existing scripts as it was', () => {
  const s = inline([{ op: 'sti' }], {});
  assert.equal(s.vm.mmu_notifiers, undefined, 'absent stays absent: the parsed script is what it was');
  assert.ok(!('mmu_notifiers' in toVmConfig(s.vm)));
  assert.ok(!runScript(s).records.some((r) => 'kvm_stat' in r));
});

test('a Linux-guest script takes the host memory operations as host-side ops', () => {
  const s = parseScript(
    {
      kind: 'script',
      vm: { memory: '4MiB', mmu_notifiers: true },
      guest: { kind: 'linux-6.x', tasks: [{ program: [{ touch: 0x200000 }, { compute: '1ms' }] }] },
      ops: [{ op: 'run', for: '500us' }, { op: 'host_dontneed', gpa: 0x200000 }, { op: 'run' }],
    },
    'linux.yaml',
  );
  const { records } = runScript(s);
  const dn = hostRecord(records, 'host_dontneed');
  assert.equal(dn.invalidations, 1);
  assert.equal(dn.zapped, 1);
  assert.deepEqual(
    records.filter((r) => 'task' in r),
    [{ task: 0, result: 'finished' }],
  );
});
