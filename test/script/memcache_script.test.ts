// Scripts with vm.mmu_caches (docs/scenarios.md; ../shared/spec/mmu.md A.5.3, A.5.4, A.5.6): what the VMM
// and the transcript see when a topup fails (-ENOMEM from KVM_RUN) and when a cache is empty under
// mmu_lock (BUG ≤5.8, WARN from 5.9), run from the shipped examples in both eras they contrast.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { KvmStatRecord, TranscriptRecord } from '../../src/script/transcript.ts';

const example = (name: string) => join(import.meta.dirname, '../../examples/mmu', name);

function run(name: string, era: string): TranscriptRecord[] {
  const file = example(name);
  const raw = readScenarioFile(file, { bigint: true }) as Record<string, unknown>;
  return runScript(parseScript({ ...raw, era }, file)).records;
}
const stat = (t: readonly TranscriptRecord[]): KvmStatRecord => {
  const s = t.find((r) => 'kvm_stat' in r);
  assert.ok(s && 'kvm_stat' in s);
  return s;
};

test('mmu A.5.3 / A.5.6: a topup short of pages fails KVM_RUN with -ENOMEM in 5.2 (minimum 8); 6.18 (minimum 5) runs on', () => {
  const old = run('topup-fail-5.2-vs-6.18.yaml', '5.2');
  assert.deepEqual(old.slice(0, 3), [
    { op: 0, kind: 'host_alloc_fail', result: 'ok' },
    { op: 1, kind: 'touch', result: 'kvm_run_error', errno: '-ENOMEM' },
    { op: 2, kind: 'touch', result: 'ok' },
  ]);
  assert.equal(stat(old).topup_failures, 1);
  const now = run('topup-fail-5.2-vs-6.18.yaml', '6.18');
  assert.deepEqual(
    now.filter((r) => 'op' in r).map((r) => ('op' in r ? r.result : '')),
    ['ok', 'ok', 'ok'],
  );
  assert.equal(stat(now).topup_failures, 0);
  assert.equal(stat(now).empty_cache_allocs, 0);
});

test('mmu §E cases 13 and 11 in a script (cache-min-too-small): 5.2 BUGs and stops, 5.9 WARNs and completes the fault', () => {
  const old = run('empty-cache-5.2-vs-5.9.yaml', '5.2');
  const bug = old.find((r) => 'event' in r && r.event === 'host_bug');
  assert.ok(bug && 'message' in bug && /BUG_ON\(!mc->nobjs\)/.test(bug.message));
  assert.equal(old.filter((r) => 'op' in r && r.op === 3).length, 0, 'no op runs after the BUG');
  assert.equal(stat(old).empty_cache_allocs, 1);

  const now = run('empty-cache-5.2-vs-5.9.yaml', '5.9');
  const warn = now.find((r) => 'event' in r && r.event === 'host_warning');
  assert.ok(warn && 'message' in warn && /WARN_ON\(!mc->nobjs\)/.test(warn.message));
  assert.deepEqual(
    now.filter((r) => 'op' in r).map((r) => ('op' in r ? r.result : '')),
    ['ok', 'ok', 'ok', 'ok'],
  );
  assert.equal(stat(now).empty_cache_allocs, 2);
  assert.equal(stat(now).emergency_allocs, 2);
});

test('host_alloc_fail needs vm.mmu_caches; mmu_caches needs mmu_notifiers and the bare guest', () => {
  const base = { kind: 'script', era: '6.18', vm: { mmu_notifiers: true }, ops: [{ op: 'host_alloc_fail' }] };
  assert.throws(() => parseScript(base, 'x.yaml'), /host_alloc_fail needs vm.mmu_caches/);
  assert.throws(
    () => parseScript({ ...base, vm: { mmu_caches: true }, ops: [{ op: 'sti' }] }, 'x.yaml'),
    (e: unknown) => e instanceof ScenarioError && /vm\.mmu_caches/.test(String(e)),
  );
});

test('without vm.mmu_caches the kvm_stat record keeps its three fields', () => {
  const t = runScript(
    parseScript(
      { kind: 'script', era: '6.18', vm: { mmu_notifiers: true }, ops: [{ op: 'touch', gpa: 0x1000n }] },
      'x.yaml',
    ),
  ).records;
  assert.deepEqual(Object.keys(stat(t)), ['kvm_stat', 'pf_taken', 'pf_retry_stale', 'warns']);
});
