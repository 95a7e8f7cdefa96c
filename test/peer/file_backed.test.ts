// issue 17: host memory pressure and the RAM backing kinds (vm.ram_backing, host_evict) on
// examples/peer/file-backed-pressure.yaml: only a fault that must read the page back goes async.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';
import { checkX86Expect } from '../../src/script/x86_expect.ts';

type Raw = Record<string, unknown> & { vm: Record<string, unknown>; ops: Array<Record<string, unknown>> };
const raw = (): Raw =>
  readScenarioFile(join(import.meta.dirname, '../../examples/peer/file-backed-pressure.yaml')) as Raw;
const run = (edit: (r: Raw) => Raw = (r) => r) => {
  const s = parseScript(edit(raw()), 'file-backed-pressure');
  const records = runScript(s).records;
  return { records, mismatches: checkX86Expect(s.expect!, records) };
};
const notPresent = (r: TranscriptRecord[]) =>
  r.filter((x) => 'event' in x && x.event === '#PF' && x.flags === '0x1').length;
const evicted = (r: TranscriptRecord[]) =>
  r.filter((x) => 'kind' in x && x.kind === 'host_evict').map((x) => (x as { value?: string }).value);
const kind =
  (k: string) =>
  (r: Raw): Raw => ({ ...r, vm: { ...r.vm, ram_backing: { kind: k, read: '2ms' } } });

test('file-backed RAM: a page left in the page cache faults in synchronously; a dropped one goes async', () => {
  const { records, mismatches } = run();
  assert.deepEqual(mismatches, []);
  assert.equal(notPresent(records), 2);
});

test('anon RAM behaves the same (swap cache, swap); DAX is never evicted and never goes async', () => {
  const anon = run(kind('anon'));
  assert.deepEqual(anon.mismatches, []);
  const dax = run(kind('dax'));
  assert.equal(notPresent(dax.records), 0);
  assert.deepEqual(evicted(dax.records), ['0x0', '0x0']);
  assert.ok(dax.mismatches.length > 0);
});

test('evicting every page from memory makes every touch async; only unmapping makes none', () => {
  const setFrom =
    (from: string) =>
    (r: Raw): Raw => ({
      ...r,
      ops: r.ops.map((o) => (o.op === 'host_evict' ? { ...o, from } : o)),
    });
  assert.equal(notPresent(run(setFrom('memory')).records), 4);
  assert.equal(notPresent(run(setFrom('mapping')).records), 0);
});

test('host_evict: pages inside RAM, and not with the notifier model', () => {
  assert.throws(
    () =>
      parseScript({ ...raw(), ops: [{ op: 'host_evict', gpa: 0x7ff000, pages: 2 }], expect: undefined }, 'x'),
    (e: unknown) => e instanceof ScenarioError && /ops\[0\]\.gpa/.test((e as Error).message),
  );
  assert.throws(
    () =>
      parseScript(
        {
          ...raw(),
          vm: { ...raw().vm, mmu_notifiers: true },
          ops: [{ op: 'host_evict', gpa: 0 }],
          expect: undefined,
        },
        'x',
      ),
    (e: unknown) => e instanceof ScenarioError && /host_reclaim/.test((e as Error).message),
  );
});
