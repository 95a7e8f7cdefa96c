// Live: the mmu §G recipe on this machine's kernel. A VM with one 64-page memslot and no vCPU; KSM
// merges its 32 identical pages, then a host write breaks COW on one, MADV_DONTNEED drops 8, mprotect
// flips 4 read-only and back, and a mapping outside every memslot is unmapped; kvm:kvm_unmap_hva_range
// counts the MMU-notifier invalidations of each step. The counts are compared with the model's
// prediction and with what the kernel must show regardless of the model; and the host must be left as
// it was (KSM knobs, tracefs instances and mounts). Skipped with the reason where /dev/kvm, koffi, root,
// tracefs, the tracepoint or KSM is missing; a skip fails under KVM_ORACLE=require.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { loadLibc } from '../../src/oracle/ffi.ts';
import {
  countWindows,
  G_OPS,
  type GOp,
  measureNotifierCounts,
  type NotifierCountsOk,
  parseTrace,
  tracefsLeftovers,
  tracefsMounts,
} from '../../src/oracle/notifier_counts.ts';
import { predictGRecipeCounts } from '../../src/oracle/notifier_counts_model.ts';
import { oracleMode } from '../../src/oracle/probe.ts';

const KSM = '/sys/kernel/mm/ksm';

/** The KSM settings (the writable files), read here independently of the module under test. */
function ksmKnobs(): Record<string, string> | null {
  try {
    return Object.fromEntries(
      readdirSync(KSM)
        .filter((n) => (statSync(join(KSM, n)).mode & 0o200) !== 0)
        .sort()
        .map((n) => [n, readFileSync(join(KSM, n), 'utf8').trim()]),
    );
  } catch {
    return null;
  }
}
const ksmCounter = (n: string) => Number(readFileSync(join(KSM, n), 'utf8').trim());

const knobsBefore = ksmKnobs();
const mountsBefore = tracefsMounts();
const result = oracleMode() === 'off' ? null : await measureNotifierCounts();
const knobsAfter = ksmKnobs();
const mountsAfter = tracefsMounts();
const skip: string | null =
  result === null ? 'KVM_ORACLE=off' : result.status === 'skip' ? result.reason : null;
const r = result?.status === 'ok' ? result : null;

/** Skips with the reason printed, or fails under KVM_ORACLE=require. */
function live(t: TestContext): NotifierCountsOk | null {
  if (r) return r;
  if (oracleMode() === 'require')
    assert.fail(`KVM_ORACLE=require, but the §G measurement cannot run: ${skip}`);
  t.skip(skip ?? 'no result');
  return null;
}

test('live: mmu §G, the counts this kernel shows', (t) => {
  const m = live(t);
  if (!m) return;
  t.diagnostic(`kernel ${m.kernel}: ${JSON.stringify(m.counts)}`);
  t.diagnostic(`pages per event: ${JSON.stringify(m.pages)}`);
  t.diagnostic(
    `KSM after the merge: ${JSON.stringify(m.ksm)}; uncounted events: ${JSON.stringify(m.foreign)}`,
  );
});

test('live: the model predicts the kernel’s notifier counts for the §G recipe', (t) => {
  const m = live(t);
  if (!m) return;
  const predicted: Record<GOp, number> = { ...predictGRecipeCounts() };
  // mmu §G; mmu §E case 50 (63 one-page events for the 32-page merge)
  for (const op of G_OPS) assert.equal(predicted[op], m.counts[op], `${op}: model vs kernel ${m.kernel}`);
});

test('live: the structure the kernel must show, whatever the model says', (t) => {
  const m = live(t);
  if (!m) return;
  // mmu §E case 50, §B.4.2: KSM brackets write_protect_page and replace_page in start/end (6bdb913f0a70),
  // one page each; the first page of a stable node is only write-protected, every other page that
  // joins it is write-protected and then replaced. So merging N pages into one costs 2N − 1.
  const merged = m.ksm.pagesShared + m.ksm.pagesSharing;
  assert.equal(m.ksm.pagesShared, 1, 'the 32 identical pages share one KSM page');
  assert.equal(merged, 32, 'all 32 identical pages merged (pages_shared + pages_sharing)');
  assert.equal(m.counts.ksm_merge, 2 * merged - 1);
  assert.ok(
    m.pages.ksm_merge.every((p) => p === 1),
    `KSM events are one page each: ${m.pages.ksm_merge}`,
  );
  // mmu §G: the rest of the table.
  assert.deepEqual(m.pages.cow_break, [1], 'a COW break is one one-page invalidation');
  assert.deepEqual(m.pages.dontneed, [8], 'MADV_DONTNEED on 8 pages is one 8-page invalidation');
  assert.deepEqual(m.pages.mprotect, [4, 4], 'mprotect RO and back RW: one 4-page invalidation each');
  // The tracepoint fires before the memslot walk: an unmap outside every memslot is traced too (and
  // since 5.15, 071064f14d87, KVM then takes no lock; mmu §B.3.4, §E case 22).
  assert.deepEqual(m.pages.munmap_outside, [4], 'munmap outside the memslot still raises one event');
});

test('live: the host is left as it was (KSM knobs, tracefs instances and mounts)', async (t) => {
  const m = live(t);
  if (!m) return;
  assert.deepEqual(knobsAfter, knobsBefore, 'every KSM setting is restored exactly');
  assert.equal(ksmCounter('pages_shared') + ksmCounter('pages_sharing'), 0, 'nothing left merged');
  assert.deepEqual(mountsAfter, mountsBefore, 'tracefs mounts are as before');
  assert.deepEqual(m.cleanup.leftoverInstances, [], 'the worker left no kvmsim tracefs instance');
  assert.deepEqual(m.cleanup.restoredByParent, [], 'the worker restored everything itself');
  const libc = await loadLibc();
  assert.ok(!('error' in libc));
  if (!('error' in libc)) assert.deepEqual(tracefsLeftovers(libc), [], 'no kvmsim tracefs instance');
  assert.deepEqual(tracefsMounts(), mountsBefore, 'the look at the instances left no mount either');
});

// Offline: the trace is split at the markers and only this process's and ksmd's events on the
// measured ranges count (the node process's own munmaps and other VMs' events are `foreign`).
test('the trace windows count only ksmd and the measuring process on the measured ranges', () => {
  const trace = [
    '# tracer: nop',
    '            node-100     [000] .....   10.000000: tracing_mark_write: kvmsim-g: setup',
    '            node-100     [000] .....   10.000100: kvm_unmap_hva_range: mmu notifier unmap range: 0x007f0000000000 -- 0x007f0000001000',
    '            node-100     [000] .....   10.001000: tracing_mark_write: kvmsim-g: ksm_merge',
    '            ksmd-41      [001] .....   10.002000: kvm_unmap_hva_range: mmu notifier unmap range: 0x007f0000000000 -- 0x007f0000001000',
    '            ksmd-41      [001] .....   10.002001: ksm_merge_with_ksm_page: ksm_page=000 pfn=1 rmap_item=000 mm=000 err=0',
    '            node-100     [000] .....   10.002500: kvm_unmap_hva_range: mmu notifier unmap range: 0x007f1000000000 -- 0x007f1000100000',
    '     qemu-kvm 2-300     [001] .....   10.002600: kvm_unmap_hva_range: mmu notifier unmap range: 0x007f0000000000 -- 0x007f0000001000',
    '            node-100     [000] .....   10.003000: tracing_mark_write: kvmsim-g: dontneed',
    '            node-100     [000] .....   10.003100: kvm_unmap_hva_range: mmu notifier unmap range: 0x007f0000028000 -- 0x007f0000030000',
    '            node-100     [000] .....   10.004000: tracing_mark_write: kvmsim-g: end',
    '            node-100     [000] .....   10.004100: kvm_unmap_hva_range: mmu notifier unmap range: 0x007f0000000000 -- 0x007f0000040000',
  ].join('\n');
  const w = countWindows(parseTrace(trace), 100, [{ start: 0x7f0000000000n, end: 0x7f0000040000n }]);
  assert.deepEqual(w.counts, { ksm_merge: 1, cow_break: 0, dontneed: 1, mprotect: 0, munmap_outside: 0 });
  assert.deepEqual(w.pages.ksm_merge, [1]);
  assert.deepEqual(w.pages.dontneed, [8]);
  assert.equal(w.foreign.ksm_merge, 2);
  assert.deepEqual(w.other.ksm_merge, { ksm_merge_with_ksm_page: 1 });
});

// Live: the watchdog. The worker stops for good right after the merge (pages merged, the recipe's KSM
// knobs set, its tracefs instance and mount in place); the parent kills it and must restore all of it.
test('live: a worker killed by the watchdog leaves the host as it was', async (t) => {
  if (!live(t)) return;
  const knobs = ksmKnobs();
  const mounts = tracefsMounts();
  await assert.rejects(measureNotifierCounts({ timeoutMs: 6_000, hangAfterKsmMerge: true }), (e: Error) => {
    t.diagnostic(e.message);
    assert.match(e.message, /killed by the watchdog after 6000 ms/);
    assert.match(e.message, /tracefs instance/);
    assert.match(e.message, /KSM pages_to_scan/);
    assert.match(e.message, /KSM sleep_millisecs/);
    return true;
  });
  assert.deepEqual(ksmKnobs(), knobs, 'every KSM setting is restored exactly');
  assert.equal(ksmCounter('pages_shared') + ksmCounter('pages_sharing'), 0, 'nothing left merged');
  assert.deepEqual(tracefsMounts(), mounts, 'tracefs mounts are as before');
  const libc = await loadLibc();
  if (!('error' in libc)) assert.deepEqual(tracefsLeftovers(libc), [], 'no kvmsim tracefs instance');
});
