// issue 17: migration as a two-VM script (migrate, host_restore_msrs, host_restore_lapic,
// host_add_memslot), on examples/peer/migration-*.yaml (docs/peer-suites.md). Each example's expect
// block holds; each assertion is shown to change when the restore is done the other way.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HostFingerprint } from '../../src/oracle/fingerprint.ts';
import { planKvmRun } from '../../src/oracle/plan.ts';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';
import { checkX86Expect } from '../../src/script/x86_expect.ts';

type Raw = Record<string, unknown> & { ops: Array<Record<string, unknown>> };
const raw = (name: string): Raw =>
  readScenarioFile(join(import.meta.dirname, `../../examples/peer/${name}.yaml`)) as Raw;
const run = (name: string, edit: (r: Raw) => Raw = (r) => r) => {
  const s = parseScript(edit(raw(name)), name);
  const records = runScript(s).records;
  return { records, mismatches: s.expect ? checkX86Expect(s.expect, records) : [] };
};
const opValue = (r: TranscriptRecord[], i: number) =>
  (r.find((x) => 'kind' in x && x.op === i) as { value?: string; result: string } | undefined) ?? null;
const count = (r: TranscriptRecord[], pred: (x: Record<string, unknown>) => boolean) =>
  r.filter((x) => pred(x as unknown as Record<string, unknown>)).length;
const setOp =
  (i: number, patch: Record<string, unknown>) =>
  (r: Raw): Raw => ({
    ...r,
    ops: r.ops.map((o, k) => (k === i ? { ...o, ...patch } : o)),
  });

test('memslot after the MSR restore: EN stops the batch, reads back (Q-EN-1), WARNs and stays dead', () => {
  const late = run('migration-memslot-late');
  assert.deepEqual(late.mismatches, []);
  // The memslot there from the start: the whole batch, and the destination takes async PFs.
  const now = run('migration-memslot-late', (r) => ({
    ...setOp(5, { memslots: 'now' })(r),
    ops: setOp(5, { memslots: 'now' })(r).ops.filter((o) => o.op !== 'host_add_memslot'),
    expect: undefined,
  }));
  assert.equal(opValue(now.records, 7)?.value, '0x3');
  assert.equal(
    count(now.records, (x) => x.event === 'host_warning'),
    0,
  );
  assert.equal(
    count(now.records, (x) => x.event === '#PF' && x.flags === '0x1'),
    2,
  );
  // The 2026 order: validated first, EN stays 0, no WARN.
  const y2026 = run('migration-memslot-late', (r) => ({ ...r, era: '2026', expect: undefined }));
  assert.equal(opValue(y2026.records, 7)?.value, '0x1');
  assert.equal(opValue(y2026.records, 8)?.value, '0x0');
  assert.equal(
    count(y2026.records, (x) => x.event === 'host_warning'),
    0,
  );
});

test('QEMU 2020: the INT value in EN stops the restore; the right entries restore all and deliver a wakeup-all', () => {
  const bug = run('migration-qemu-2020');
  assert.deepEqual(bug.mismatches, []);
  const fixed = run(
    'migration-qemu-2020',
    setOp(6, { entries: ['MSR_KVM_ASYNC_PF_INT', 'MSR_KVM_ASYNC_PF_EN', 'MSR_KVM_POLL_CONTROL'] }),
  );
  assert.equal(opValue(fixed.records, 6)?.value, '0x3');
  assert.equal(opValue(fixed.records, 8)?.value, '0x300b');
  assert.equal(
    count(fixed.records, (x) => x.event === 'irq' && x.token === '0xffffffff'),
    2,
  );
  assert.equal(
    count(fixed.records, (x) => x.event === '#PF' && x.flags === '0x1'),
    1,
  );
  assert.ok(fixed.mismatches.length > 0, 'the bug example expects the stopped batch');
});

test('restore order: LAPIC then MSRs (Firecracker) and MSRs then LAPIC (QEMU) give the same guest events', () => {
  const fc = run('migration-restore-order');
  assert.deepEqual(fc.mismatches, []);
  const qemu = run('migration-restore-order', (r) => ({
    ...r,
    ops: r.ops.map((o, k) => (k === 6 ? r.ops[7]! : k === 7 ? r.ops[6]! : o)),
    expect: undefined,
  }));
  const events = (rs: TranscriptRecord[]) => rs.filter((x) => 'event' in x);
  assert.deepEqual(events(qemu.records), events(fc.records));
});

test('Firecracker before PR #3064 (INT not in the snapshot): no wakeup-all, and later page-readies are stuck', () => {
  const old = run(
    'migration-restore-order',
    setOp(5, { save: ['MSR_KVM_ASYNC_PF_EN', 'MSR_KVM_POLL_CONTROL'] }),
  );
  const after = old.records.slice(old.records.findIndex((x) => 'kind' in x && x.kind === 'migrate'));
  assert.equal(
    count(after, (x) => x.event === 'irq'),
    0,
  );
  assert.equal(opValue(old.records, 9)?.result, 'hang');
  assert.ok(old.mismatches.length > 0);
});

test('migration ops: load-time checks, and the kvm backend skips them', () => {
  const bad = (ops: unknown[], field: RegExp) =>
    assert.throws(
      () => parseScript({ kind: 'script', vm: { memory: '1MiB' }, ops }, 'm.yaml'),
      (e: unknown) => e instanceof ScenarioError && field.test((e as Error).message),
    );
  bad([{ op: 'host_restore_lapic' }], /ops\[0\]\.op.*expected a migrate op/);
  bad([{ op: 'migrate' }, { op: 'host_add_memslot' }], /ops\[1\]\.op.*this VM has it/);
  bad([{ op: 'migrate', memslots: 'later' }, { op: 'sti' }], /ops\[1\]\.op.*no memory on the destination/);
  const ok = parseScript(
    {
      kind: 'script',
      ops: [{ op: 'migrate', memslots: 'later' }, { op: 'host_add_memslot' }, { op: 'sti' }],
    },
    'm.yaml',
  );
  const fp: HostFingerprint = {
    kernel: '6.18.44',
    vendor: 'kvm_intel',
    era: '6.18',
    mmu: 'tdp',
    supportedKvmFeatures: '0x1007efb',
    caps: {},
    device: '/dev/kvm',
  };
  const p = planKvmRun(ok, fp);
  assert.ok(!p.run && /second VM/.test(p.reason));
});
