// Live: the guest-visible check of the MMU-notifier model (issue "KVM MMU notifiers"). A CPL3 long-mode
// guest touches a page, the host drops it with MADV_DONTNEED, the guest touches it again: the model
// predicts one refault (kvm_stat pf_taken 2, the DONTNEED zaps 1 SPTE), and this machine's KVM must show
// the same: `pages_4k` falls by one over the madvise, the vCPU's pf_taken is 2, and the host's
// userfaultfd receives a second MISSING fault for the page (the refault). A control without the DONTNEED
// must show one fault and one MISSING. With async PF on, the refault is an async "page not present" #PF
// with the next token, in both backends. The scripts run in the backend's worker child process, under
// its watchdog (supervisor.ts). Skipped with the reason where /dev/kvm is absent; a failure under
// KVM_ORACLE=require.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { type KvmRunResult, runScriptsOnKvm } from '../../src/oracle/backend.ts';
import { loadScript, parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { Script } from '../../src/script/schema.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';
import { comparable, diffTranscripts } from '../../src/script/transcript_diff.ts';
import { root } from './catalogue.ts';
import { liveSkipReason } from './live_gate.ts';

const skip: string | false = (await liveSkipReason()) ?? false;
if (skip) console.log(`# skipped: ${skip}`);

const sync = loadScript(join(root, 'examples/oracle/dontneed-refault.yaml'));
const apf = loadScript(join(root, 'examples/oracle/dontneed-refault-apf.yaml'));
/** The control: the same touches without the DONTNEED. */
const control = parseScript(
  {
    kind: 'script',
    name: 'dontneed-control',
    era: '6.18',
    vm: { guest_mode: 'long', mmu_notifiers: true },
    ops: [
      { op: 'touch', gpa: 0x1000, cpl: 3, backing: { delay: '5ms' } },
      { op: 'touch', gpa: 0x1000, cpl: 3 },
    ],
  },
  'dontneed-control',
);
const scripts: Record<string, Script> = { sync, apf, control };
const results = new Map<string, KvmRunResult>();

before(async () => {
  if (skip) return;
  const names = Object.keys(scripts);
  const rs = await runScriptsOnKvm(names.map((n) => ({ script: scripts[n]! })));
  names.forEach((n, i) => {
    results.set(n, rs[i]!);
  });
});

function kernel(name: string): TranscriptRecord[] {
  const r = results.get(name)!;
  assert.equal(r.status, 'ok', 'reason' in r ? r.reason : '');
  return r.status === 'ok' ? r.records : [];
}

const missing = (records: readonly TranscriptRecord[], gpa: string) =>
  records.flatMap((r, i) => ('uffd' in r && r.gpa === gpa ? [i] : []));
const opIndex = (records: readonly TranscriptRecord[], op: number) =>
  records.findIndex((r) => 'op' in r && r.op === op);
const stat = (records: readonly TranscriptRecord[]) =>
  records.find((r): r is Extract<TranscriptRecord, { kvm_stat: 'mmu' }> => 'kvm_stat' in r);

function agree(t: { diagnostic(s: string): void }, name: string): void {
  const k = kernel(name);
  const d = diffTranscripts(comparable(runScript(scripts[name]!).records), comparable(k));
  assert.equal(
    d.index,
    -1,
    `differ at ${d.index}: model ${JSON.stringify(d.left)} kernel ${JSON.stringify(d.right)}`,
  );
  for (const r of k) t.diagnostic(JSON.stringify(r));
}

test('model: one refault (pf_taken 2), the DONTNEED zaps the SPTE', () => {
  const m = runScript(sync).records;
  assert.deepEqual(stat(m), { kvm_stat: 'mmu', pf_taken: 2, pf_retry_stale: 0, warns: 0 });
  assert.deepEqual(
    m.find((r) => 'op' in r && r.op === 1),
    {
      op: 1,
      kind: 'host_dontneed',
      result: 'ok',
      invalidations: 1,
      zapped: 1,
      change_pte: 0,
      change_pte_spte: 0,
      mapped: 0,
    },
  );
  assert.equal(stat(runScript(control).records)?.pf_taken, 1);
});

test('live: touch, host_dontneed, touch: the kernel refaults as the model predicts', { skip }, (t) => {
  agree(t, 'sync');
  const k = kernel('sync');
  assert.deepEqual(
    k.find((r) => 'op' in r && r.op === 1),
    { op: 1, kind: 'host_dontneed', result: 'ok', zapped: 1 },
  );
  assert.equal(stat(k)?.pf_taken, 2);
  // MISSING 1 during the first touch, MISSING 2 (the refault) during the second, after the DONTNEED.
  const m = missing(k, '0x1000');
  assert.equal(m.length, 2, 'two MISSING faults for the page');
  assert.ok(m[0]! < opIndex(k, 0), 'the first MISSING comes with the first touch');
  assert.ok(
    m[1]! > opIndex(k, 1) && m[1]! < opIndex(k, 2),
    'the second MISSING comes with the touch after the DONTNEED',
  );
});

test('live: control without the DONTNEED: one fault, one MISSING', { skip }, (t) => {
  agree(t, 'control');
  const k = kernel('control');
  assert.equal(stat(k)?.pf_taken, 1);
  assert.equal(missing(k, '0x1000').length, 1);
});

test('live: with async PF on, the refault is a guest-visible #PF with the next token', { skip }, (t) => {
  agree(t, 'apf');
  const k = kernel('apf');
  const dontneed = opIndex(k, 6);
  const pf = k.findIndex((r, i) => i > dontneed && 'event' in r && r.event === '#PF');
  assert.ok(pf > dontneed, 'a #PF after the DONTNEED');
  assert.deepEqual(k[pf], { event: '#PF', cr2: '0x2000', error_code: '0x0', flags: '0x1' });
  assert.equal(missing(k, '0x200000').length, 2);
  assert.equal(stat(k)?.pf_taken, 2);
});
