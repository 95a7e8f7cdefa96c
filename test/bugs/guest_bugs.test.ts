// Every guest bug switch has a script in examples/bugs/ that shows its symptom with the Linux guest; the
// same script without the switch shows none (docs/bugs-guest.md).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';

const dir = join(import.meta.dirname, '../../examples/bugs');
const GUEST_BUGS = ['ack-before-clear', 'int-after-en', 'wake-all-leaks-dummies'];

interface Raw {
  bugs?: string[];
  guest?: Record<string, unknown>;
}

/** The example as shipped, and the same example without its guest bug switch. */
function both(name: string): {
  buggy: TranscriptRecord[];
  fixed: TranscriptRecord[];
  raw: Raw;
  file: string;
} {
  const file = join(dir, `${name}.yaml`);
  const raw = readScenarioFile(file, { bigint: true }) as Raw;
  assert.ok(raw.bugs?.includes(name), `${name}.yaml turns its switch on`);
  assert.ok(raw.guest !== undefined, `${name}.yaml runs the Linux guest`);
  const buggy = runScript(parseScript(raw, file)).records;
  const fixed = runScript(
    parseScript({ ...raw, bugs: (raw.bugs ?? []).filter((b) => !GUEST_BUGS.includes(b)) }, file),
  ).records;
  return { buggy, fixed, raw, file };
}

const irqTokens = (t: TranscriptRecord[], vcpu?: number) =>
  t.flatMap((r) =>
    'event' in r && r.event === 'irq' && r.vector === '0xf3' && (vcpu === undefined || r.vcpu === vcpu)
      ? [r.token]
      : [],
  );
const tasks = (t: TranscriptRecord[]) =>
  t.flatMap((r) => ('task' in r ? [`${r.result}${r.token === undefined ? '' : ` ${r.token}`}`] : []));
const runResults = (t: TranscriptRecord[]) =>
  t.flatMap((r) => ('op' in r && r.kind === 'run' ? [r.result] : []));
const dummies = (t: TranscriptRecord[]) => t.find((r) => 'dummies' in r);

test('guest bug ack-before-clear (x86-apf §6.1 item 1): the ACK finds the slot busy; the second page-ready never comes', () => {
  const { buggy, fixed } = both('ack-before-clear');
  assert.deepEqual(irqTokens(buggy), ['0xffffffff', '0x1000']);
  assert.deepEqual(tasks(buggy), ['finished', 'hung 0x2000']);
  assert.deepEqual(runResults(buggy), ['hang'], 'the idle vCPU spins on HLT: `done` cannot drain');
  assert.deepEqual(irqTokens(fixed), ['0xffffffff', '0x1000', '0x2000']);
  assert.deepEqual(tasks(fixed), ['finished', 'finished']);
  assert.deepEqual(runResults(fixed), ['ok']);
});

test('guest bug int-after-en (x86-apf §6.1 item 10): the wakeup-all goes to vector 0 and the slot stays busy', () => {
  const { buggy, fixed } = both('int-after-en');
  assert.deepEqual(irqTokens(buggy, 0), ['0xffffffff'], 'CPU 0 (LAPIC enabled after INT) is unaffected');
  assert.deepEqual(irqTokens(buggy, 1), [], 'CPU 1 never gets an interrupt');
  assert.ok(
    buggy.some((r) => 'event' in r && r.event === '#PF' && r.vcpu === 1 && r.cr2 === '0x1001'),
    "'not present' is still injected",
  );
  assert.deepEqual(tasks(buggy), ['hung 0x1001']);
  assert.deepEqual(runResults(buggy), ['hang']);
  assert.deepEqual(irqTokens(fixed, 1), ['0xffffffff', '0x1001']);
  assert.deepEqual(tasks(fixed), ['finished']);
  assert.deepEqual(runResults(fixed), ['ok']);
});

test('guest bug wake-all-leaks-dummies (x86-apf §9 item 6): CPU offline unlinks the dummy without freeing it', () => {
  const { buggy, fixed, raw, file } = both('wake-all-leaks-dummies');
  const sleepTable = { dummies: 'sleep_table', created: 1, consumed: 0, hashed: 0 };
  assert.deepEqual(dummies(buggy), { ...sleepTable, leaked: 1, freed: 0 });
  assert.deepEqual(dummies(fixed), { ...sleepTable, leaked: 0, freed: 1 });
  assert.deepEqual(tasks(buggy), ['finished']);
  // The faithful default (no fix asked for, no switch) is the kernel: the dummy leaks.
  const { wake_all_frees_dummies: _, ...guest } = raw.guest!;
  const kernel = runScript(parseScript({ ...raw, bugs: [], guest }, file)).records;
  assert.deepEqual(dummies(kernel), { ...sleepTable, leaked: 1, freed: 0 });
});
