// issue 17: guest-programmed handlers of the bare test guest (handlers.page_fault.not_present,
// handlers.page_ready.actions), held to kvm-unit-tests x86/asyncpf.c's assertions
// (examples/peer/kut-asyncpf-handlers.yaml, docs/peer-suites.md). Each assertion is also shown to fail
// when the handler leaves out the step the test relies on.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import { HandlersSchema } from '../../src/script/schema.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';
import { checkX86Expect } from '../../src/script/x86_expect.ts';

const file = join(import.meta.dirname, '../../examples/peer/kut-asyncpf-handlers.yaml');
type Raw = Record<string, unknown> & { handlers: { page_fault: object; page_ready: object } };
const raw = (): Raw => readScenarioFile(file) as Raw;
const run = (edit: (r: Raw) => Raw = (r) => r) => {
  const s = parseScript(edit(raw()), 'kut-asyncpf-handlers');
  const records = runScript(s).records;
  return { records, mismatches: checkX86Expect(s.expect!, records) };
};
const events = (r: TranscriptRecord[], name: string) =>
  r.filter((x) => 'event' in x && x.event === name) as unknown as Array<Record<string, string>>;
const withPf =
  (not_present: string[]) =>
  (r: Raw): Raw => ({
    ...r,
    handlers: { ...r.handlers, page_fault: { not_present } },
  });
const withIrq =
  (actions: string[]) =>
  (r: Raw): Raw => ({
    ...r,
    handlers: { ...r.handlers, page_ready: { ack: 1, actions } },
  });

test('kut asyncpf: one not-present #PF, one unmap and one remap per evicted page; no unexpected #PF or token', () => {
  const { records, mismatches } = run();
  assert.deepEqual(mismatches, []);
  assert.deepEqual(
    events(records, 'unmap').map((e) => e.address),
    ['0x400000', '0x401000', '0x403000'],
  );
  assert.deepEqual(
    events(records, 'remap').map((e) => `${e.token}@${e.address}`),
    ['0x1000@0x400000', '0x2000@0x401000', '0x3000@0x403000'],
  );
  // Every remap comes after its unmap and before the touch that faulted completes.
  const idx = (pred: (x: TranscriptRecord) => boolean) => records.findIndex(pred);
  const unmap0 = idx((x) => 'event' in x && x.event === 'unmap');
  const remap0 = idx((x) => 'event' in x && x.event === 'remap');
  const touch6 = idx((x) => 'op' in x && 'kind' in x && x.op === 6);
  assert.ok(unmap0 < remap0 && remap0 < touch6);
});

test('kut asyncpf: a handler that returns without waiting for the remap takes its own #PF (reason 0)', () => {
  const { records, mismatches } = run(withPf(['clear_flags', 'unmap', 'reload_cr3', 'save_token']));
  const own = events(records, '#PF').filter((e) => e.flags === '0x0');
  assert.equal(own.length, 3);
  assert.ok(
    mismatches.some((m) => m.at === 'expect.absent[1]'),
    JSON.stringify(mismatches),
  );
});

test('kut asyncpf: a page-ready handler that does not remap leaves the #PF handler halted for ever', () => {
  const { records, mismatches } = run(withIrq(['clear_token', 'ack', 'eoi']));
  assert.ok(records.some((x) => 'op' in x && 'result' in x && x.op === 6 && x.result === 'hang'));
  assert.ok(mismatches.length > 0);
});

test('kut asyncpf: a #PF handler that does not save the token sees every page-ready as unexpected', () => {
  const { records, mismatches } = run(withPf(['clear_flags', 'unmap', 'reload_cr3', 'wait_remapped']));
  assert.deepEqual(
    events(records, 'unexpected_token').map((e) => e.token),
    ['0x1000', '0x2000', '0x3000'],
  );
  assert.ok(mismatches.some((m) => m.at === 'expect.absent[0]'));
});

test('guest-programmed handlers: a retry: false touch is refused at load; the explorer takes none', () => {
  assert.throws(
    () =>
      parseScript(
        {
          ...raw(),
          ops: [{ op: 'touch', gpa: 0x400000, retry: false }],
          expect: undefined,
        },
        'x.yaml',
      ),
    (e: unknown) => e instanceof ScenarioError && /ops\[0\]\.retry/.test(String((e as Error).message)),
  );
  assert.equal(HandlersSchema.safeParse({ page_fault: { not_present: ['unmap'] } }).success, false);
});
