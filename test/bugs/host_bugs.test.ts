// Every host bug switch has a script in examples/bugs/ that shows its symptom; the same script without
// the switch shows none (docs/bugs.md).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';

const dir = join(import.meta.dirname, '../../examples/bugs');

/** The example with its bugs, and the same example with `bugs: []`. */
function both(name: string): { buggy: TranscriptRecord[]; fixed: TranscriptRecord[] } {
  const file = join(dir, `${name}.yaml`);
  const raw = readScenarioFile(file, { bigint: true }) as { bugs?: string[] };
  assert.ok(raw.bugs?.length, `${name} turns a bug on`);
  const buggy = runScript(parseScript(raw, file)).records;
  const fixed = runScript(parseScript({ ...raw, bugs: [] }, file)).records;
  return { buggy, fixed };
}

const irqTokens = (t: TranscriptRecord[]) =>
  t.flatMap((r) => ('event' in r && r.event === 'irq' && r.token !== '0xffffffff' ? [r.token] : []));
const pfs = (t: TranscriptRecord[], flags: string) =>
  t.flatMap((r) => ('event' in r && r.event === '#PF' && r.flags === flags ? [r.cr2] : []));
const results = (t: TranscriptRecord[], kind: string) =>
  t.flatMap((r) => ('op' in r && r.kind === kind ? [r.result] : []));
const hasEvent = (t: TranscriptRecord[], event: string) => t.some((r) => 'event' in r && r.event === event);

test('bug token-zero (pre-6f3c1fc53d86): token 0 is issued and its page-ready is overwritten (lost)', () => {
  const { buggy, fixed } = both('token-zero');
  assert.deepEqual(pfs(buggy, '0x1'), ['0x0', '0x1000']);
  assert.deepEqual(irqTokens(buggy), ['0x1000'], 'token 0 is never delivered');
  assert.deepEqual(pfs(fixed, '0x1'), ['0x1000', '0x2000']);
  assert.deepEqual(irqTokens(fixed), ['0x1000', '0x2000']);
});

test('bug pageready-without-notpresent (pre-2a18b7e7cd88): a page-ready for a token never injected', () => {
  const { buggy, fixed } = both('pageready-without-notpresent');
  assert.deepEqual(pfs(buggy, '0x1'), []);
  assert.deepEqual(irqTokens(buggy), ['0x1000']);
  assert.deepEqual(irqTokens(fixed), []);
});

test('bug apf-vs-disabled-lapic (pre-2f15d027c05f): the wakeup-all is lost and the touch spins forever', () => {
  const { buggy, fixed } = both('apf-vs-disabled-lapic');
  assert.deepEqual(results(buggy, 'touch'), ['hang']);
  assert.equal(buggy.filter((r) => 'event' in r && r.event === 'irq').length, 0);
  assert.deepEqual(results(fixed, 'touch'), ['ok']);
  assert.deepEqual(irqTokens(fixed), ['0x1000']);
});

test('bug cr0pg-clears-queue (≤6.17; ab4e41eb9fab): after SMI the page-ready never comes', () => {
  const { buggy, fixed } = both('cr0pg-clears-queue');
  assert.deepEqual(irqTokens(buggy), []);
  assert.deepEqual(irqTokens(fixed), ['0x1000']);
});

test('bug en-commit-before-validate (Q-EN-1): the rejected EN value is committed and a cached access WARNs', () => {
  const { buggy, fixed } = both('en-commit-before-validate');
  const rd = (t: TranscriptRecord[]) => t.find((r) => 'op' in r && r.kind === 'rdmsr');
  assert.equal(
    rd(buggy) && 'value' in rd(buggy)! ? (rd(buggy) as { value: string }).value : '',
    '0x10000009',
  );
  assert.ok(hasEvent(buggy, 'host_warning'));
  assert.equal((rd(fixed) as { value: string }).value, '0x0');
  assert.ok(!hasEvent(fixed, 'host_warning'));
});

test('bug present-queued-barrier (pre-68c35f89d016): the worker skips the kick; the second page-ready never arrives', () => {
  const { buggy, fixed } = both('present-queued-barrier');
  assert.deepEqual(irqTokens(buggy), ['0x1000']);
  assert.deepEqual(irqTokens(fixed), ['0x1000', '0x2000']);
});

test('bug df-on-back-to-back-pf (≤5.7 without 2a266f23550b and 9a6e7c39810e): #PF on #PF is a double fault', () => {
  const { buggy, fixed } = both('df-on-back-to-back-pf');
  assert.ok(buggy.some((r) => 'event' in r && r.event === 'exception' && r.vector === '0x8'));
  assert.ok(!hasEvent(fixed, 'exception'));
  assert.deepEqual(pfs(fixed, '0x2').slice(1), ['0x1000']);
});

test('bug df-fix-drops-unrelated (9a6e7c39810e, reverted by 84b09f33a5de): both events are dropped', () => {
  const { buggy, fixed } = both('df-fix-drops-unrelated');
  assert.deepEqual(pfs(buggy, '0x1'), ['0x1000'], "B's 'not present' was cancelled");
  assert.ok(!pfs(buggy, '0x2').includes('0x1000'), "A's 'page ready' was dropped");
  assert.deepEqual(pfs(fixed, '0x1'), ['0x1000', '0x2000']);
  assert.ok(pfs(fixed, '0x2').includes('0x1000'));
});
